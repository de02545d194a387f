package intake

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// compatRoot holds the earlier implementation's example files (see its
// README); the tests read them in place and skip when they are absent.
const compatRoot = "../../../shared/compat/clockwork-v0.1-examples"

// compatDirs returns every directory under compatRoot that holds .cw files.
func compatDirs(t *testing.T) []string {
	t.Helper()
	if _, err := os.Stat(compatRoot); err != nil {
		t.Skip("compat examples not present")
	}
	seen := map[string]bool{}
	var dirs []string
	err := filepath.WalkDir(compatRoot, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".cw") && !seen[filepath.Dir(p)] {
			seen[filepath.Dir(p)] = true
			dirs = append(dirs, filepath.Dir(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// TestCompatExamples: every example under examples/ and the e2e files load
// without errors and with every variable substituted; the demo files (and
// the "simple syntax" example, which its own commit removed as unsupported)
// are diagnosed with file:line:col, never a crash.
func TestCompatExamples(t *testing.T) {
	for _, dir := range compatDirs(t) {
		rel, _ := filepath.Rel(compatRoot, dir)
		t.Run(rel, func(t *testing.T) {
			res, diags := Load(context.Background(), Options{Dir: dir})
			mustFail := strings.Contains(rel, "demo") || strings.Contains(rel, "c5407d4")
			if mustFail {
				if !diags.HasErrors() {
					t.Fatal("expected diagnostics")
				}
				for _, d := range diags {
					if d.Subject == nil || d.Subject.Filename == "" || d.Subject.Start.Line == 0 {
						t.Errorf("diagnostic without a source position: %s: %s", d.Summary, d.Detail)
					}
					if strings.Contains(d.Summary, "Internal error") {
						t.Errorf("internal error: %s", d.Detail)
					}
				}
				return
			}
			if len(diags) > 0 {
				t.Fatalf("diagnostics:\n%s", renderDiags(res.Files, diags))
			}
			cfg := res.Config
			if len(cfg.Resources) == 0 {
				t.Fatal("no resources")
			}
			// Every variable substituted: no interpolation or var. left, no unknowns.
			check := func(what string, v cty.Value) {
				cty.Walk(v, func(p cty.Path, v cty.Value) (bool, error) {
					if !v.IsKnown() {
						t.Errorf("%s: unknown value at %#v", what, p)
						return false, nil
					}
					if !v.IsNull() && v.Type() == cty.String && (strings.Contains(v.AsString(), "${") || strings.Contains(v.AsString(), "var.")) {
						t.Errorf("%s: unsubstituted %q", what, v.AsString())
					}
					return true, nil
				})
			}
			for _, r := range cfg.Resources {
				check(r.Addr, r.Attrs)
			}
			for _, o := range cfg.Outputs {
				check("output "+o.Name, o.Value)
			}
			// .cwvars override defaults.
			if _, err := os.Stat(filepath.Join(dir, "variables.cwvars")); err == nil {
				n := 0
				for _, v := range cfg.Variables {
					if v.Source == "variables.cwvars" {
						n++
					}
				}
				if n == 0 {
					t.Error("no variable took its value from variables.cwvars")
				}
			}
		})
	}
}

// TestCompatValues pins the substituted values of the e2e example.
func TestCompatValues(t *testing.T) {
	dir := filepath.Join(compatRoot, "1ec15a8", "extracted", "e2e")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("compat examples not present")
	}
	res := mustLoad(t, Options{Dir: dir})
	byAddr := map[string]cty.Value{}
	for _, r := range res.Config.Resources {
		byAddr[r.Addr] = r.Attrs
	}
	api := byAddr["service.api"]
	web := byAddr["service.web"]
	got := []string{
		api.GetAttr("name").AsString(),
		web.GetAttr("name").AsString(),
		web.GetAttr("ports").Index(cty.NumberIntVal(0)).GetAttr("external").AsBigFloat().String(),
		web.GetAttr("environment").Index(cty.StringVal("APP_ENV")).AsString(),
		api.GetAttr("environment").Index(cty.StringVal("WEB_URL")).AsString(),
		web.GetAttr("health_check").GetAttr("port").AsBigFloat().String(),
	}
	want := []string{"manual-test-app-api", "manual-test-app", "9090", "manual-test", "http://localhost:9090", "9090"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("value %d = %q, want %q", i, got[i], want[i])
		}
	}
	for _, r := range res.Config.Resources {
		if r.Addr == "service.api" && (len(r.DependsOn) != 1 || r.DependsOn[0] != "service.web") {
			t.Errorf("service.api depends on %v", r.DependsOn)
		}
	}
}
