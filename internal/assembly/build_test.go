package assembly

import (
	"bytes"
	"math/rand"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/view"
)

// webApp is a small configuration: a repo, an image built from it, a
// service running the image (known only after apply) and a check.
func webApp() *cfgBuilder {
	b := newCfg()
	b.add("git_repo", "src", map[string]cty.Value{"url": str("https://example.com/app.git"), "ref": str("v1"), "path": str("src")})
	b.add("image", "app", map[string]cty.Value{"context": str("src"), "tags": strs("app:dev")}, "git_repo.src")
	b.add("service", "web", map[string]cty.Value{
		"name":         str("web"),
		"image":        deferred("image.app", "ref", "IMAGE_REF"),
		"ports":        cty.TupleVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"external": num(8080), "internal": num(80)})}),
		"health_check": cty.ObjectVal(map[string]cty.Value{"path": str("/health")}),
	}, "image.app")
	b.add("check", "home", map[string]cty.Value{"type": str("http"), "url": str("http://127.0.0.1:8080/")}, "service.web")
	return b
}

func ids(steps []contract.Step) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.ID
	}
	return out
}

func changes(steps []contract.Step) map[string]string {
	out := map[string]string{}
	for _, s := range steps {
		out[s.ID] = s.Change
	}
	return out
}

func mustBuild(t *testing.T, b *cfgBuilder, st *contract.State, opts Options) *Plan {
	t.Helper()
	p, diags := Build(b.build(), st, opts)
	if diags.HasErrors() {
		t.Fatalf("Build: %s", diags.Error())
	}
	mustValidate(t, p.ActionList)
	return p
}

func TestBuildOrderAndDeferred(t *testing.T) {
	p := mustBuild(t, webApp(), nil, Options{})
	want := []string{
		"git_repo.src/fetch_repo", "image.app/build_image", "service.web/ensure_service",
		"service.web/verify_http", "check.home/verify_http",
	}
	if diff := cmp.Diff(want, ids(p.ActionList.Steps)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	svc := p.ActionList.Step("service.web/ensure_service")
	if got := svc.Args["imageVar"]; got != "IMAGE_APP_IMAGE_REF" {
		t.Errorf("imageVar = %v", got)
	}
	if _, ok := svc.Args["image"]; ok {
		t.Errorf("image arg present alongside imageVar")
	}
	if svc.Args["kind"] != "container" || svc.Args["config_hash"] != svc.ConfigHash {
		t.Errorf("kind %v, config_hash arg %v vs %v", svc.Args["kind"], svc.Args["config_hash"], svc.ConfigHash)
	}
	if diff := cmp.Diff([]string{"image.app/build_image"}, svc.DependsOn); diff != "" {
		t.Errorf("service depends_on (-want +got):\n%s", diff)
	}
	if got := p.ActionList.Step("check.home/verify_http").DependsOn; !cmp.Equal(got, []string{"service.web/verify_http"}) {
		t.Errorf("check depends on %v, want the service's last step", got)
	}
	if p.ActionList.StateSerial != 0 || p.ActionList.StateLineage != "" {
		t.Errorf("serial/lineage without state: %d %q", p.ActionList.StateSerial, p.ActionList.StateLineage)
	}
}

func TestDeferredNestedElement(t *testing.T) {
	b := newCfg()
	b.add("git_repo", "src", map[string]cty.Value{"url": str("u"), "path": str("src")})
	b.add("service", "api", map[string]cty.Value{
		"command":     strs("./api"),
		"environment": cty.MapVal(map[string]cty.Value{"COMMIT": deferred("git_repo.src", "commit", "REPO_COMMIT"), "X": str("1")}),
	}, "git_repo.src")
	p := mustBuild(t, b, nil, Options{})
	got := p.ActionList.Step("service.api/ensure_service").Args["environment"]
	want := map[string]any{"COMMIT": map[string]any{"fromEnv": "GIT_REPO_SRC_REPO_COMMIT"}, "X": "1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("environment (-want +got):\n%s", diff)
	}
}

func TestDiffAgainstState(t *testing.T) {
	first := mustBuild(t, webApp(), nil, Options{})
	for _, s := range first.ActionList.Steps {
		if s.Change != contract.ChangeCreate {
			t.Fatalf("first plan: %s is %s", s.ID, s.Change)
		}
	}
	st := appliedState(first)

	t.Run("unchanged is noop with the state serial", func(t *testing.T) {
		p := mustBuild(t, webApp(), st, Options{})
		for _, s := range p.ActionList.Steps {
			if s.Change != contract.ChangeNoop {
				t.Errorf("%s is %s, want noop", s.ID, s.Change)
			}
		}
		if p.ActionList.StateSerial != 3 || p.ActionList.StateLineage != "lineage-1" {
			t.Errorf("serial/lineage = %d %q", p.ActionList.StateSerial, p.ActionList.StateLineage)
		}
	})
	t.Run("changed attribute updates it and what consumes its outputs", func(t *testing.T) {
		b := webApp()
		b.cfg.Resources[1].Attrs = cty.ObjectVal(map[string]cty.Value{"context": str("src"), "tags": strs("app:v2")})
		p := mustBuild(t, b, st, Options{})
		want := map[string]string{
			"git_repo.src/fetch_repo":    "noop",
			"image.app/build_image":      "update",
			"service.web/ensure_service": "update", // its image is known only after apply
			"service.web/verify_http":    "update",
			"check.home/verify_http":     "noop",
		}
		if diff := cmp.Diff(want, changes(p.ActionList.Steps)); diff != "" {
			t.Errorf("changes (-want +got):\n%s", diff)
		}
	})
	t.Run("a changed dependency rebuilds an image but does not touch others", func(t *testing.T) {
		b := webApp()
		b.cfg.Resources[0].Attrs = cty.ObjectVal(map[string]cty.Value{"url": str("https://example.com/app.git"), "ref": str("v2"), "path": str("src")})
		p := mustBuild(t, b, st, Options{})
		want := map[string]string{
			"git_repo.src/fetch_repo":    "update",
			"image.app/build_image":      "update", // built from the repo
			"service.web/ensure_service": "update", // runs the rebuilt image (known after apply)
			"service.web/verify_http":    "update",
			"check.home/verify_http":     "noop", // depends on the service, consumes nothing of it
		}
		if diff := cmp.Diff(want, changes(p.ActionList.Steps)); diff != "" {
			t.Errorf("changes (-want +got):\n%s", diff)
		}
	})
	t.Run("failed resource is replanned", func(t *testing.T) {
		st2 := appliedState(first)
		rs := st2.Resource("git_repo.src")
		rs.Status = contract.StatusFailed
		rs2 := st2.Resource("check.home")
		rs2.Status = contract.StatusPartial
		rs2.Steps = map[string]contract.StepState{"check.home/verify_http": {Status: "ok"}}
		p := mustBuild(t, webApp(), st2, Options{})
		got := changes(p.ActionList.Steps)
		if got["git_repo.src/fetch_repo"] != "create" || got["check.home/verify_http"] != "update" {
			t.Errorf("changes = %v", got)
		}
	})
	t.Run("ignore_changes", func(t *testing.T) {
		mk := func(tags string, ignore ...string) *cfgBuilder {
			b := newCfg()
			r := b.add("image", "app", map[string]cty.Value{"context": str("src"), "tags": strs(tags)})
			r.Lifecycle.IgnoreChanges = ignore
			return b
		}
		base := appliedState(mustBuild(t, mk("a", "tags"), nil, Options{}))
		if c := mustBuild(t, mk("b", "tags"), base, Options{}).Resources["image.app"].Change; c != "noop" {
			t.Errorf("change of an ignored attribute planned %s, want noop", c)
		}
		p := mustBuild(t, mk("b", "tags"), base, Options{})
		if got := p.ActionList.Steps[0].Args["tags"]; !cmp.Equal(got, []any{"b"}) {
			t.Errorf("args still carry the configured value: got %v", got)
		}
		all := appliedState(mustBuild(t, mk("a", "all"), nil, Options{}))
		if c := mustBuild(t, mk("b", "all"), all, Options{}).Resources["image.app"].Change; c != "noop" {
			t.Errorf("ignore_changes = all planned %s", c)
		}
		if c := mustBuild(t, mk("b"), base, Options{}).Resources["image.app"].Change; c != "update" {
			t.Errorf("without ignore_changes planned %s, want update", c)
		}
	})
}

func TestDeletes(t *testing.T) {
	// chain: file.a <- directory.d <- check.c (no delete step) <- file.b
	full := func() *cfgBuilder {
		b := newCfg()
		b.add("file", "a", map[string]cty.Value{"path": str("a")})
		b.add("directory", "d", map[string]cty.Value{"path": str("d")}, "file.a")
		b.add("check", "c", map[string]cty.Value{"type": str("file_exists"), "path": str("d")}, "directory.d")
		b.add("file", "b", map[string]cty.Value{"path": str("d/b")}, "check.c")
		b.add("file", "keep", map[string]cty.Value{"path": str("keep")})
		return b
	}
	st := appliedState(mustBuild(t, full(), nil, Options{}))
	onlyKeep := newCfg()
	onlyKeep.add("file", "keep", map[string]cty.Value{"path": str("keep")})

	t.Run("removed resources delete in reverse order", func(t *testing.T) {
		p := mustBuild(t, onlyKeep, st, Options{})
		want := []stepView{
			{ID: "file.b/remove_file", Change: "delete", Args: map[string]any{"path": "d/b"}},
			{ID: "directory.d/remove_directory", Change: "delete", DependsOn: []string{"file.b/remove_file"}, Args: map[string]any{"path": "d"}},
			{ID: "file.a/remove_file", Change: "delete", DependsOn: []string{"directory.d/remove_directory"}, Args: map[string]any{"path": "a"}},
			{ID: "file.keep/ensure_file", Change: "noop", Args: map[string]any{"path": "keep", "mode": "0644"}},
		}
		if diff := cmp.Diff(want, viewSteps(p.ActionList.Steps)); diff != "" {
			t.Errorf("steps (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"check.c"}, p.Forget); diff != "" {
			t.Errorf("forget (-want +got):\n%s", diff)
		}
		if p.Resources["file.a"].Change != "delete" || p.Resources["check.c"].Change != "delete" {
			t.Errorf("resources = %v", p.Resources)
		}
	})
	t.Run("destroy deletes everything in reverse order", func(t *testing.T) {
		p := mustBuild(t, full(), st, Options{Destroy: true})
		want := []string{"file.b/remove_file", "directory.d/remove_directory", "file.a/remove_file", "file.keep/remove_file"}
		if diff := cmp.Diff(want, ids(p.ActionList.Steps)); diff != "" {
			t.Errorf("order (-want +got):\n%s", diff)
		}
	})
	t.Run("destroy a target takes its dependents", func(t *testing.T) {
		p := mustBuild(t, full(), st, Options{Destroy: true, Targets: []string{"directory.d"}})
		want := []string{"file.b/remove_file", "directory.d/remove_directory"}
		if diff := cmp.Diff(want, ids(p.ActionList.Steps)); diff != "" {
			t.Errorf("order (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"check.c"}, p.Forget); diff != "" {
			t.Errorf("forget (-want +got):\n%s", diff)
		}
	})
	t.Run("prevent_destroy recorded in state refuses removal", func(t *testing.T) {
		st2 := appliedState(mustBuild(t, full(), nil, Options{}))
		st2.Resource("file.a").PreventDestroy = true
		p, diags := Build(onlyKeep.build(), st2, Options{})
		if p != nil || len(diags) != 1 || !strings.Contains(diags[0].Detail, "file.a") || diags[0].Summary != "Resource cannot be destroyed" {
			t.Errorf("plan %v, diags %v", p != nil, diags)
		}
	})
	t.Run("prevent_destroy in config refuses destroy", func(t *testing.T) {
		b := full()
		b.cfg.Resources[0].Lifecycle.PreventDestroy = true
		p, diags := Build(b.build(), st, Options{Destroy: true})
		if p != nil || len(diags) != 1 || diags[0].Subject == nil || diags[0].Subject.Start.Line != 1 {
			t.Errorf("plan %v, diags %v", p != nil, diags)
		}
	})
}

func TestTargets(t *testing.T) {
	b := webApp()
	b.add("file", "other", map[string]cty.Value{"path": str("o")})
	for i := 0; i < 2; i++ {
		b.addRes(instance{Type: "file", Name: "many", Key: i}.res(), map[string]cty.Value{"path": str("m")})
	}
	tests := []struct {
		targets []string
		want    []string
	}{
		{[]string{"service.web"}, []string{"git_repo.src/fetch_repo", "image.app/build_image", "service.web/ensure_service", "service.web/verify_http"}},
		{[]string{"file.other"}, []string{"file.other/ensure_file"}},
		{[]string{"file.many"}, []string{"file.many[0]/ensure_file", "file.many[1]/ensure_file"}},
		{[]string{"file.many[1]", "git_repo.src"}, []string{"file.many[1]/ensure_file", "git_repo.src/fetch_repo"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.targets, ","), func(t *testing.T) {
			p := mustBuild(t, b, nil, Options{Targets: tt.targets})
			if diff := cmp.Diff(tt.want, ids(p.ActionList.Steps)); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("unmatched target warns", func(t *testing.T) {
		p, diags := Build(b.build(), nil, Options{Targets: []string{"file.nope"}})
		if p == nil || len(diags) != 1 || diags.HasErrors() || len(p.ActionList.Steps) != 0 {
			t.Errorf("plan %v, diags %v", p, diags)
		}
	})
}

func TestCycle(t *testing.T) {
	b := newCfg()
	b.add("file", "a", map[string]cty.Value{"path": str("a")}, "file.c")
	b.add("file", "b", map[string]cty.Value{"path": str("b")}, "file.a")
	b.add("file", "c", map[string]cty.Value{"path": str("c")}, "file.b")
	b.add("file", "ok", map[string]cty.Value{"path": str("ok")}, "file.a")
	b.add("file", "self", map[string]cty.Value{"path": str("s")}, "file.self")
	p, diags := Build(b.build(), nil, Options{})
	if p != nil {
		t.Fatal("plan despite a cycle")
	}
	if len(diags) != 2 {
		t.Fatalf("want one diagnostic per cycle, got %d: %s", len(diags), diags.Error())
	}
	d := diags[0]
	if d.Summary != "Dependency cycle" || d.Subject == nil || d.Subject.Start.Line != 1 {
		t.Errorf("first diagnostic %q at %v", d.Summary, d.Subject)
	}
	for _, want := range []string{"file.a -> file.c -> file.b -> file.a", "file.b at main.cw:5:1", "file.c at main.cw:9:1"} {
		if !strings.Contains(d.Detail, want) {
			t.Errorf("detail lacks %q:\n%s", want, d.Detail)
		}
	}
	if strings.Contains(d.Detail, "file.ok") {
		t.Errorf("detail names a resource outside the cycle:\n%s", d.Detail)
	}
	if !strings.Contains(diags[1].Detail, "file.self -> file.self") {
		t.Errorf("self cycle detail:\n%s", diags[1].Detail)
	}
}

func TestUndeclaredDependency(t *testing.T) {
	b := newCfg()
	b.add("file", "a", map[string]cty.Value{"path": str("a")}, "file.missing")
	_, diags := Build(b.build(), nil, Options{})
	if len(diags) != 1 || diags[0].Summary != "Reference to undeclared resource" {
		t.Errorf("diags = %v", diags)
	}
}

func TestDeterminism(t *testing.T) {
	b := webApp()
	for i := 0; i < 30; i++ {
		b.add("file", "f"+string(rune('a'+i%26))+strings.Repeat("x", i/26), map[string]cty.Value{"path": str("p"), "content": str("c")}, "service.web")
	}
	st := appliedState(mustBuild(t, b, nil, Options{}))
	st.Resources = append(st.Resources, contract.ResourceState{Address: "file.gone", Type: "file", ConfigHash: "x", Status: "applied",
		DeleteSteps: []contract.Step{{Name: "remove_file", Args: map[string]any{"path": "g"}}}})
	render := func(cfg *cfgBuilder) []byte {
		p, diags := Build(cfg.build(), st, Options{})
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		out := mustValidate(t, p.ActionList)
		var v bytes.Buffer
		view.PlanHuman(&v, p.ActionList, false)
		return append(out, v.Bytes()...)
	}
	want := render(b)
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 10; i++ {
		rng.Shuffle(len(b.cfg.Resources), func(i, j int) {
			b.cfg.Resources[i], b.cfg.Resources[j] = b.cfg.Resources[j], b.cfg.Resources[i]
		})
		if got := render(b); !bytes.Equal(got, want) {
			t.Fatalf("shuffle %d changed the output:\n%s", i, cmp.Diff(string(want), string(got)))
		}
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	const pw = "hunter2-Sup3rSecret"
	b := newCfg()
	b.add("file", "cfg", map[string]cty.Value{"path": str("app.env"), "content": secret(str("PASSWORD=" + pw))})
	b.add("service", "db", map[string]cty.Value{
		"image":   str("postgres:16"),
		"command": cty.ListVal([]cty.Value{str("postgres"), str("-c"), secret(str(pw))}),
		"environment": cty.MapVal(map[string]cty.Value{
			"POSTGRES_PASSWORD": secret(str(pw)),
			"POSTGRES_USER":     str("app"),
		}),
	})
	b.add("command", "seed", map[string]cty.Value{
		"command":     str("psql -f seed.sql"),
		"environment": secret(cty.ObjectVal(map[string]cty.Value{"PGPASSWORD": str(pw), "PGPORT": num(5432)})),
		"on_destroy":  secret(str("dropdb --password " + pw)),
	}, "service.db")
	p := mustBuild(t, b, nil, Options{})

	wantSecrets := map[string]string{
		"CW_SECRET_FILE_CFG_CONTENT":                         "PASSWORD=" + pw,
		"CW_SECRET_SERVICE_DB_COMMAND_2":                     pw,
		"CW_SECRET_SERVICE_DB_ENVIRONMENT_POSTGRES_PASSWORD": pw,
		"CW_SECRET_COMMAND_SEED_ENVIRONMENT_PGPASSWORD":      pw,
		"CW_SECRET_COMMAND_SEED_ENVIRONMENT_PGPORT":          "5432",
		"CW_SECRET_COMMAND_SEED_ON_DESTROY":                  "dropdb --password " + pw,
	}
	if diff := cmp.Diff(wantSecrets, p.Secrets); diff != "" {
		t.Errorf("secrets (-want +got):\n%s", diff)
	}
	file := p.ActionList.Step("file.cfg/ensure_file")
	if file.Args["contentVar"] != "CW_SECRET_FILE_CFG_CONTENT" || file.Args["sha256"] != nil {
		t.Errorf("file args = %v", file.Args)
	}
	if diff := cmp.Diff([]string{"CW_SECRET_SERVICE_DB_COMMAND_2", "CW_SECRET_SERVICE_DB_ENVIRONMENT_POSTGRES_PASSWORD"},
		p.ActionList.Step("service.db/ensure_service").SecretEnv); diff != "" {
		t.Errorf("service secret_env (-want +got):\n%s", diff)
	}
	if got := p.DeleteSteps["command.seed"][0].SecretEnv; !cmp.Equal(got, []string{"CW_SECRET_COMMAND_SEED_ENVIRONMENT_PGPASSWORD", "CW_SECRET_COMMAND_SEED_ENVIRONMENT_PGPORT", "CW_SECRET_COMMAND_SEED_ON_DESTROY"}) {
		t.Errorf("delete step secret_env = %v", got)
	}

	var out bytes.Buffer
	al, _ := contract.Marshal(p.ActionList)
	out.Write(al)
	for _, v := range []any{p.DeleteSteps, p.Resources, p} {
		bs, err := contract.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out.Write(bs)
	}
	view.PlanHuman(&out, p.ActionList, true)
	st := appliedState(p)
	sb, _ := contract.Marshal(st)
	out.Write(sb)
	if strings.Contains(out.String(), pw) || strings.Contains(out.String(), "hunter2") {
		t.Fatalf("secret leaked:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "(sensitive)") {
		t.Errorf("view does not show sensitive elements as (sensitive)")
	}

	// Destroying while the resource is still configured supplies its secrets.
	d := mustBuild(t, b, st, Options{Destroy: true, Targets: []string{"command.seed"}})
	if d.Secrets["CW_SECRET_COMMAND_SEED_ON_DESTROY"] != "dropdb --password "+pw || len(d.Secrets) != 3 {
		t.Errorf("destroy secrets = %d entries", len(d.Secrets))
	}
}

func TestOutputs(t *testing.T) {
	b := newCfg()
	cfg := b.build()
	cfg.Outputs = []*irOutput{
		{Name: "url", Value: str("http://localhost:8080")},
		{Name: "port", Value: num(8080)},
		{Name: "ref", Value: deferred("image.app", "ref", "IMAGE_REF")},
		{Name: "pw", Value: secret(str("x")), Sensitive: true},
		{Name: "obj", Value: cty.ObjectVal(map[string]cty.Value{"a": cty.True, "b": cty.NullVal(cty.String), "c": cty.TupleVal([]cty.Value{num(1), cty.NumberFloatVal(1.5)})})},
	}
	got, diags := Outputs(cfg)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	want := map[string]any{"url": "http://localhost:8080", "port": int64(8080), "ref": "(known after apply)", "pw": nil,
		"obj": map[string]any{"a": true, "c": []any{int64(1), 1.5}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	cfg.Outputs = []*irOutput{{Name: "leak", Value: cty.ListVal([]cty.Value{secret(str("x"))})}}
	got, diags = Outputs(cfg)
	if !diags.HasErrors() || got["leak"] != nil {
		t.Errorf("sensitive value in a non-sensitive output: %v %v", got, diags)
	}
}

func TestGraphRender(t *testing.T) {
	b := newCfg()
	b.add("file", "a", map[string]cty.Value{"path": str("a")})
	b.add("service", "web", map[string]cty.Value{"command": strs("x")}, "file.a")
	b.addRes(instance{Type: "file", Name: "k", Key: "x\"y"}.res(), map[string]cty.Value{"path": str("k")}, "file.a")
	g, diags := NewGraph(b.build())
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	wantDOT := `digraph clockwork {
  rankdir = "RL";
  node [shape = box];
  "file.a";
  "file.k[\"x\\\"y\"]";
  "service.web";
  "file.k[\"x\\\"y\"]" -> "file.a";
  "service.web" -> "file.a";
}
`
	if diff := cmp.Diff(wantDOT, g.DOT()); diff != "" {
		t.Errorf("DOT (-want +got):\n%s", diff)
	}
	wantMermaid := `flowchart RL
  n0["file.a"]
  n1["file.k[#quot;x\#quot;y#quot;]"]
  n2["service.web"]
  n1 --> n0
  n2 --> n0
`
	if diff := cmp.Diff(wantMermaid, g.Mermaid()); diff != "" {
		t.Errorf("Mermaid (-want +got):\n%s", diff)
	}
	var order []string
	for _, r := range g.Order() {
		order = append(order, r.Addr)
	}
	if diff := cmp.Diff([]string{"file.a", `file.k["x\"y"]`, "service.web"}, order); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}
