package assembly

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

// stepView is the part of a step the per-type tests compare.
type stepView struct {
	ID        string
	Change    string
	DependsOn []string
	Args      map[string]any
	SecretEnv []string
}

func viewSteps(steps []contract.Step) []stepView {
	out := make([]stepView, len(steps))
	for i, s := range steps {
		args := map[string]any{}
		for k, v := range s.Args {
			if k != "config_hash" {
				args[k] = v
			}
		}
		out[i] = stepView{ID: s.ID, Change: s.Change, DependsOn: s.DependsOn, Args: args, SecretEnv: s.SecretEnv}
	}
	return out
}

func TestStepsPerType(t *testing.T) {
	tests := []struct {
		name    string
		typ     string
		attrs   map[string]cty.Value
		want    []stepView
		deletes []stepView
	}{
		{
			name:  "file with content",
			typ:   "file",
			attrs: map[string]cty.Value{"path": str("./out//hello.txt"), "content": str("hi\n"), "mode": num(600), "source": cty.NullVal(cty.String)},
			want: []stepView{{ID: "file.x/ensure_file", Change: "create", Args: map[string]any{
				"path": "out/hello.txt", "content": "hi\n", "mode": "0600",
				"sha256": "98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4"}}},
			deletes: []stepView{{ID: "file.x/remove_file", Change: "delete", Args: map[string]any{"path": "out/hello.txt"}}},
		},
		{
			name:    "directory default mode",
			typ:     "directory",
			attrs:   map[string]cty.Value{"path": str("data")},
			want:    []stepView{{ID: "directory.x/ensure_directory", Change: "create", Args: map[string]any{"path": "data", "mode": "0755"}}},
			deletes: []stepView{{ID: "directory.x/remove_directory", Change: "delete", Args: map[string]any{"path": "data"}}},
		},
		{
			name:    "git_repo",
			typ:     "git_repo",
			attrs:   map[string]cty.Value{"url": str("https://example.com/r.git"), "ref": str("v1"), "path": str("src")},
			want:    []stepView{{ID: "git_repo.x/fetch_repo", Change: "create", Args: map[string]any{"url": "https://example.com/r.git", "ref": "v1", "path": "src", "depth": int64(0)}}},
			deletes: []stepView{{ID: "git_repo.x/remove_repo", Change: "delete", Args: map[string]any{"path": "src"}}},
		},
		{
			name: "image",
			typ:  "image",
			attrs: map[string]cty.Value{"context": str("app/"), "dockerfile": str("Dockerfile"), "tags": strs("app:1"),
				"build_args": cty.MapVal(map[string]cty.Value{"V": str("1")})},
			want: []stepView{{ID: "image.x/build_image", Change: "create", Args: map[string]any{
				"context": "app", "dockerfile": "Dockerfile", "tags": []any{"app:1"}, "build_args": map[string]any{"V": "1"}}}},
			deletes: []stepView{{ID: "image.x/remove_image", Change: "delete", Args: map[string]any{"tags": []any{"app:1"}}}},
		},
		{
			name: "container service with health check block",
			typ:  "service",
			attrs: map[string]cty.Value{
				"name":        str("web"),
				"image":       str("nginx:latest"),
				"ports":       cty.ListVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"external": num(8080), "internal": num(80), "protocol": cty.NullVal(cty.String)})}),
				"environment": cty.MapVal(map[string]cty.Value{"A": str("1")}),
				"health_check": cty.ListVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{
					"path": str("/health"), "port": cty.NullVal(cty.Number), "interval": str("30s"), "timeout": str("5s"), "retries": num(3)})}),
			},
			want: []stepView{
				{ID: "service.x/ensure_service", Change: "create", Args: map[string]any{
					"kind": "container", "name": "web", "image": "nginx:latest",
					"ports":       []any{map[string]any{"external": int64(8080), "internal": int64(80)}},
					"environment": map[string]any{"A": "1"}}},
				{ID: "service.x/verify_http", Change: "create", DependsOn: []string{"service.x/ensure_service"}, Args: map[string]any{
					"url": "http://127.0.0.1:8080/health", "expect_status": int64(200), "interval": int64(30), "timeout": int64(5), "retries": int64(3)}},
			},
			deletes: []stepView{{ID: "service.x/remove_service", Change: "delete", Args: map[string]any{"kind": "container", "name": "web"}}},
		},
		{
			name: "process service with health check map and default name",
			typ:  "service",
			attrs: map[string]cty.Value{
				"image":        cty.NullVal(cty.String),
				"command":      strs("python3", "-m", "http.server", "9000"),
				"workdir":      str("site/"),
				"health_check": cty.MapVal(map[string]cty.Value{"port": str("9000"), "path": str("index.html")}),
			},
			want: []stepView{
				{ID: "service.x/ensure_service", Change: "create", Args: map[string]any{
					"kind": "process", "name": "x", "command": []any{"python3", "-m", "http.server", "9000"}, "workdir": "site"}},
				{ID: "service.x/verify_http", Change: "create", DependsOn: []string{"service.x/ensure_service"}, Args: map[string]any{
					"url": "http://127.0.0.1:9000/index.html", "expect_status": int64(200)}},
			},
			deletes: []stepView{{ID: "service.x/remove_service", Change: "delete", Args: map[string]any{"kind": "process", "name": "x"}}},
		},
		{
			name:    "network",
			typ:     "network",
			attrs:   map[string]cty.Value{"driver": str("bridge")},
			want:    []stepView{{ID: "network.x/ensure_network", Change: "create", Args: map[string]any{"name": "x", "driver": "bridge"}}},
			deletes: []stepView{{ID: "network.x/remove_network", Change: "delete", Args: map[string]any{"name": "x"}}},
		},
		{
			name:    "volume",
			typ:     "volume",
			attrs:   map[string]cty.Value{"name": str("data")},
			want:    []stepView{{ID: "volume.x/ensure_volume", Change: "create", Args: map[string]any{"name": "data"}}},
			deletes: []stepView{{ID: "volume.x/remove_volume", Change: "delete", Args: map[string]any{"name": "data"}}},
		},
		{
			name:    "command with on_destroy",
			typ:     "command",
			attrs:   map[string]cty.Value{"command": str("make install"), "creates": str("bin/app"), "on_destroy": str("make uninstall"), "workdir": str("src")},
			want:    []stepView{{ID: "command.x/run_command", Change: "create", Args: map[string]any{"command": "make install", "creates": "bin/app", "workdir": "src"}}},
			deletes: []stepView{{ID: "command.x/run_command", Change: "delete", Args: map[string]any{"command": "make uninstall", "workdir": "src"}}},
		},
		{
			name:  "command without on_destroy",
			typ:   "command",
			attrs: map[string]cty.Value{"command": strs("touch", "x"), "on_destroy": cty.NullVal(cty.String)},
			want:  []stepView{{ID: "command.x/run_command", Change: "create", Args: map[string]any{"command": []any{"touch", "x"}}}},
		},
		{
			name:  "check http",
			typ:   "check",
			attrs: map[string]cty.Value{"type": str("http"), "url": str("http://127.0.0.1:8080/"), "expect_body": str("ok"), "timeout": num(2)},
			want:  []stepView{{ID: "check.x/verify_http", Change: "create", Args: map[string]any{"url": "http://127.0.0.1:8080/", "expect_body": "ok", "expect_status": int64(200), "timeout": int64(2)}}},
		},
		{
			name:  "check tcp",
			typ:   "check",
			attrs: map[string]cty.Value{"type": str("tcp"), "address": str("127.0.0.1:5432"), "interval": str("1m")},
			want:  []stepView{{ID: "check.x/verify_tcp", Change: "create", Args: map[string]any{"address": "127.0.0.1:5432", "interval": int64(60)}}},
		},
		{
			name:  "check file_exists",
			typ:   "check",
			attrs: map[string]cty.Value{"type": str("file_exists"), "path": str("./a/b")},
			want:  []stepView{{ID: "check.x/verify_file", Change: "create", Args: map[string]any{"path": "a/b"}}},
		},
		{
			name:  "check command",
			typ:   "check",
			attrs: map[string]cty.Value{"type": str("command"), "command": str("true"), "ratio": cty.NumberFloatVal(0.5)},
			want:  []stepView{{ID: "check.x/verify_command", Change: "create", Args: map[string]any{"command": "true", "ratio": 0.5}}},
		},
		{
			name: "task",
			typ:  "task",
			attrs: map[string]cty.Value{"intent": str("rotate the nginx logs daily"),
				"inputs": cty.ObjectVal(map[string]cty.Value{"dir": str("/var/log/nginx"), "keep": num(7), "gone": cty.NullVal(cty.String), "on": cty.True})},
			want: []stepView{{ID: "task.x/custom", Change: "create", Args: map[string]any{"intent": "rotate the nginx logs daily",
				"inputs": map[string]any{"dir": "/var/log/nginx", "keep": int64(7), "on": true}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newCfg()
			b.add(tt.typ, "x", tt.attrs)
			p, diags := Build(b.build(), nil, Options{})
			if diags.HasErrors() {
				t.Fatalf("Build: %s", diags.Error())
			}
			if diff := cmp.Diff(tt.want, viewSteps(p.ActionList.Steps)); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
			addr := tt.typ + ".x"
			dels := p.DeleteSteps[addr]
			if tt.deletes == nil {
				if len(dels) != 0 {
					t.Errorf("delete steps = %v, want none", dels)
				}
			} else if diff := cmp.Diff(tt.deletes, viewSteps(dels)); diff != "" {
				t.Errorf("delete steps (-want +got):\n%s", diff)
			}
			for _, s := range p.ActionList.Steps {
				if s.ConfigHash == "" || s.ConfigHash != p.Resources[addr].ConfigHash || !strings.HasPrefix(s.ConfigHash, "sha256:") {
					t.Errorf("step %s config hash %q, resource hash %q", s.ID, s.ConfigHash, p.Resources[addr].ConfigHash)
				}
				if s.Source == nil || *s.Source != (contract.Source{File: "main.cw", Line: 1, Col: 1}) {
					t.Errorf("step %s source = %v", s.ID, s.Source)
				}
			}
			mustValidate(t, p.ActionList)
		})
	}
}

func mustValidate(t *testing.T, al *contract.ActionList) []byte {
	t.Helper()
	b, err := contract.MarshalValidated(contract.SchemaActionList, al)
	if err != nil {
		t.Fatalf("actionlist does not validate: %v", err)
	}
	return b
}

func TestStepDiagnostics(t *testing.T) {
	tests := []struct {
		name    string
		typ     string
		attrs   map[string]cty.Value
		summary string
		line    int
	}{
		{"bad check type", "check", map[string]cty.Value{"type": str("ping")}, "Invalid check type", 2},
		{"bad mode", "file", map[string]cty.Value{"path": str("a"), "mode": str("rw-r--r--")}, "Invalid file mode", 2},
		{"bad duration", "check", map[string]cty.Value{"type": str("tcp"), "address": str("h:1"), "timeout": str("soon")}, "Invalid duration", 3},
		{"health check without port", "service", map[string]cty.Value{"command": strs("x"), "health_check": cty.ObjectVal(map[string]cty.Value{"path": str("/")})}, "Health check has no port", 3},
		{"unknown type", "widget", map[string]cty.Value{}, "Unsupported resource type", 1},
		{"partially deferred string", "service", map[string]cty.Value{
			"image": cty.UnknownVal(cty.String).Refine().StringPrefix("registry/").NewValue().Mark(deferredMark("image.app", "ref", "IMAGE_REF"))},
			"Value known only after apply", 2},
		{"unknown without deferred mark", "file", map[string]cty.Value{"path": str("a"), "content": cty.UnknownVal(cty.String)}, "Value not known at plan time", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newCfg()
			b.add("image", "app", map[string]cty.Value{"context": str(".")})
			b.line = 1
			b.cfg.Resources = nil
			b.add(tt.typ, "x", tt.attrs)
			b.add("image", "app", map[string]cty.Value{"context": str(".")})
			p, diags := Build(b.build(), nil, Options{})
			if p != nil {
				t.Errorf("Build returned a plan despite errors")
			}
			if len(diags) != 1 {
				t.Fatalf("got %d diagnostics, want 1: %s", len(diags), diags.Error())
			}
			d := diags[0]
			if d.Summary != tt.summary || d.Subject == nil || d.Subject.Start.Line != tt.line {
				t.Errorf("diagnostic = %q at %v, want %q at line %d (%s)", d.Summary, d.Subject, tt.summary, tt.line, d.Detail)
			}
		})
	}
}
