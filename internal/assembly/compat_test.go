package assembly

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/clockwork-iac/clockwork/internal/intake"
	"github.com/clockwork-iac/clockwork/internal/view"
)

// TestCompatExamples plans every example and e2e configuration of the
// earlier implementation (../shared/compat, see its README) and checks the
// plan validates and has every variable substituted. The one example the
// earlier project itself deleted as unsupported syntax (a directory of loose
// files directly under examples/) must instead be diagnosed with ranges.
// Skipped when the directory is absent.
func TestCompatExamples(t *testing.T) {
	root := filepath.Join("..", "..", "..", "shared", "compat", "clockwork-v0.1-examples")
	if _, err := os.Stat(root); err != nil {
		t.Skip("no compat examples here")
	}
	dirSet := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		slash := filepath.ToSlash(p)
		if !d.IsDir() && strings.HasSuffix(p, ".cw") && (strings.Contains(slash, "/examples/") || strings.Contains(slash, "/e2e/")) {
			dirSet[filepath.Dir(p)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for d := range dirSet {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	if len(dirs) == 0 {
		t.Fatal("no example directories found")
	}
	for _, dir := range dirs {
		rel, _ := filepath.Rel(root, dir)
		t.Run(rel, func(t *testing.T) {
			res, diags := intake.Load(context.Background(), intake.Options{Dir: dir, Offline: true})
			if filepath.Base(dir) == "examples" {
				if !diags.HasErrors() {
					t.Fatal("unsupported syntax was accepted")
				}
				for _, d := range diags {
					if d.Subject == nil {
						t.Errorf("diagnostic without a range: %s", d.Summary)
					}
				}
				return
			}
			var p *Plan
			if !diags.HasErrors() {
				p, diags = Build(res.Config, nil, Options{})
			}
			if diags.HasErrors() {
				var b bytes.Buffer
				view.Diagnostics(&b, res.Files, diags, false, 0)
				t.Fatalf("plan failed:\n%s", b.String())
			}
			al := mustValidate(t, p.ActionList)
			if bytes.Contains(al, []byte("${")) || bytes.Contains(al, []byte("var.")) {
				t.Errorf("unsubstituted expression in the plan:\n%s", al)
			}
			if len(p.ActionList.Steps) == 0 {
				t.Errorf("empty plan")
			}
		})
	}
}
