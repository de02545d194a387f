package assembly

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/ir"
	"github.com/clockwork-iac/clockwork/internal/view"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenCase is an IR built in Go, the state to plan against, and options.
type goldenCase struct {
	cfg  func() *ir.Config
	st   func() *contract.State
	opts Options
}

// compatWeb is the IR intake gives for the earlier implementation's
// basic-web-service example (quoted types, nested health_check block with
// duration strings, ports as a list of objects, environment map).
func compatWeb() *cfgBuilder {
	b := newCfg()
	b.add("service", "web", map[string]cty.Value{
		"name":  str("my-web-app"),
		"image": str("nginx:latest"),
		"ports": cty.ListVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{
			"external": num(8080), "internal": num(80), "protocol": str("tcp"), "host_ip": str("127.0.0.1")})}),
		"environment": cty.MapVal(map[string]cty.Value{"SERVER_NAME": str("my-web-app"), "PORT": str("80")}),
		"restart":     str("unless-stopped"),
		"health_check": cty.ObjectVal(map[string]cty.Value{
			"path": str("/"), "port": cty.NullVal(cty.Number), "interval": str("30s"), "timeout": str("5s"),
			"retries": num(3), "expect_status": num(200)}),
	})
	return b
}

func goldenCases() map[string]goldenCase {
	applied := func(b func() *cfgBuilder) func() *contract.State {
		return func() *contract.State {
			p, diags := Build(b().build(), nil, Options{})
			if diags.HasErrors() {
				panic(diags.Error())
			}
			return appliedState(p)
		}
	}
	none := func() *contract.State { return nil }
	withSecrets := func() *cfgBuilder {
		b := newCfg()
		b.add("service", "db", map[string]cty.Value{
			"name":  str("db"),
			"image": str("postgres:16"),
			"environment": cty.MapVal(map[string]cty.Value{
				"POSTGRES_PASSWORD": secret(str("s3cret-value")),
				"POSTGRES_USER":     str("app"),
			}),
		})
		b.add("file", "pgpass", map[string]cty.Value{"path": str(".pgpass"), "content": secret(str("*:*:*:app:s3cret-value")), "mode": str("600")}, "service.db")
		return b
	}
	changed := func() *cfgBuilder {
		b := webApp()
		b.cfg.Resources = b.cfg.Resources[:3] // check.home removed
		b.cfg.Resources[0].Attrs = cty.ObjectVal(map[string]cty.Value{"url": str("https://example.com/app.git"), "ref": str("v2"), "path": str("src")})
		return b
	}
	return map[string]goldenCase{
		"create":      {cfg: func() *ir.Config { return webApp().build() }, st: none},
		"noop":        {cfg: func() *ir.Config { return webApp().build() }, st: applied(webApp)},
		"update":      {cfg: func() *ir.Config { return changed().build() }, st: applied(webApp)},
		"destroy":     {cfg: func() *ir.Config { return webApp().build() }, st: applied(webApp), opts: Options{Destroy: true}},
		"target":      {cfg: func() *ir.Config { return webApp().build() }, st: none, opts: Options{Targets: []string{"image.app"}}},
		"secrets":     {cfg: func() *ir.Config { return withSecrets().build() }, st: none},
		"compat_web":  {cfg: func() *ir.Config { return compatWeb().build() }, st: none},
		"empty_state": {cfg: func() *ir.Config { return newCfg().build() }, st: none},
	}
}

func TestGolden(t *testing.T) {
	for name, gc := range goldenCases() {
		t.Run(name, func(t *testing.T) {
			p, diags := Build(gc.cfg(), gc.st(), gc.opts)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			al := mustValidate(t, p.ActionList)
			var human bytes.Buffer
			if err := view.PlanHumanForget(&human, p.ActionList, p.Forget, false); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", name, "actionlist.golden"), al)
			checkGolden(t, filepath.Join("testdata", name, "plan.golden"), human.Bytes())
		})
	}
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}
