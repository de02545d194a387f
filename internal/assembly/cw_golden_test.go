package assembly

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/intake"
	"github.com/clockwork-iac/clockwork/internal/view"
)

// TestGoldenCW plans every testdata/cw/<case>/ directory: its *.cw (and
// *.cwvars) through intake, against state.json when present, with the
// options in opts ("destroy", "target ADDR" lines). It compares
// plan.golden (human view), actionlist.golden (JSON) and diags.golden
// (every diagnostic of intake and assembly, as the CLI prints them);
// -update rewrites them. A
// successful plan, recorded as applied, must plan again as no changes.
func TestGoldenCW(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "cw", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			res, diags := intake.Load(context.Background(), intake.Options{Dir: dir, Offline: true})
			st := readState(t, dir)
			opts := readOpts(t, dir)
			var p *Plan
			if !diags.HasErrors() {
				var adiags hcl.Diagnostics
				p, adiags = Build(res.Config, st, opts)
				diags = append(diags, adiags...)
			}

			var d bytes.Buffer
			if err := view.Diagnostics(&d, res.Files, diags, false, 0); err != nil {
				t.Fatal(err)
			}
			goldenOptional(t, filepath.Join(dir, "diags.golden"), d.Bytes())
			if p == nil {
				goldenOptional(t, filepath.Join(dir, "plan.golden"), nil)
				goldenOptional(t, filepath.Join(dir, "actionlist.golden"), nil)
				return
			}
			var human bytes.Buffer
			if err := view.PlanHumanForget(&human, p.ActionList, p.Forget, false); err != nil {
				t.Fatal(err)
			}
			al := mustValidate(t, p.ActionList)
			if bytes.Contains(al, []byte("${")) || bytes.Contains(al, []byte("var.")) {
				t.Errorf("actionlist has an unsubstituted expression:\n%s", al)
			}
			goldenOptional(t, filepath.Join(dir, "plan.golden"), human.Bytes())
			goldenOptional(t, filepath.Join(dir, "actionlist.golden"), al)

			if opts.Destroy {
				return
			}
			again, diags := Build(res.Config, appliedState(p), opts)
			if diags.HasErrors() {
				t.Fatalf("replan: %s", diags.Error())
			}
			for _, s := range again.ActionList.Steps {
				if s.Change != contract.ChangeNoop {
					t.Errorf("after apply, %s plans %s, want noop", s.ID, s.Change)
				}
			}
		})
	}
}

func readState(t *testing.T, dir string) *contract.State {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	st, err := contract.ParseState(data)
	if err != nil {
		t.Fatalf("state.json: %v", err)
	}
	return st
}

func readOpts(t *testing.T, dir string) Options {
	t.Helper()
	var o Options
	data, err := os.ReadFile(filepath.Join(dir, "opts"))
	if os.IsNotExist(err) {
		return o
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		switch f := strings.Fields(line); {
		case len(f) == 1 && f[0] == "destroy":
			o.Destroy = true
		case len(f) == 2 && f[0] == "target":
			o.Targets = append(o.Targets, f[1])
		default:
			t.Fatalf("opts: bad line %q", line)
		}
	}
	return o
}

// goldenOptional compares got with path; an empty got means the file must
// not exist.
func goldenOptional(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if len(got) == 0 {
			os.Remove(path)
			return
		}
		checkGolden(t, path, got)
		return
	}
	if len(got) == 0 {
		if _, err := os.Stat(path); err == nil {
			t.Errorf("%s exists but nothing was produced", path)
		}
		return
	}
	checkGolden(t, path, got)
}
