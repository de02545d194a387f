package intake

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

var update = flag.Bool("update", false, "rewrite golden files")

// caseOptions reads testdata/<case>/args.txt: one option a line,
// "--var k=v", "--var-file f", "env K=V", "validate", "offline",
// "state ADDR KEY=VALUE".
func caseOptions(t *testing.T, dir string) Options {
	t.Helper()
	opts := Options{Dir: dir}
	f, err := os.Open(filepath.Join(dir, "args.txt"))
	if os.IsNotExist(err) {
		return opts
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		word, rest, _ := strings.Cut(line, " ")
		switch word {
		case "", "#":
		case "--var":
			opts.Vars = append(opts.Vars, rest)
		case "--var-file":
			opts.VarFiles = append(opts.VarFiles, rest)
		case "env":
			opts.Environ = append(opts.Environ, rest)
		case "validate":
			opts.Validate = true
		case "offline":
			opts.Offline = true
		case "state":
			addr, kv, _ := strings.Cut(rest, " ")
			k, v, _ := strings.Cut(kv, "=")
			if opts.StateOutputs == nil {
				opts.StateOutputs = map[string]map[string]string{}
			}
			if opts.StateOutputs[addr] == nil {
				opts.StateOutputs[addr] = map[string]string{}
			}
			opts.StateOutputs[addr][k] = v
		default:
			t.Fatalf("args.txt: unknown line %q", line)
		}
	}
	return opts
}

// renderDiags writes diagnostics with hcl's text writer (no color, width 0),
// with the directory prefix removed from file names.
func renderDiags(files map[string]*hcl.File, diags hcl.Diagnostics) string {
	var b bytes.Buffer
	w := hcl.NewDiagnosticTextWriter(&b, files, 0, false)
	w.WriteDiagnostics(diags)
	return b.String()
}

func TestGolden(t *testing.T) {
	cases, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if !c.IsDir() || strings.HasPrefix(c.Name(), "_") {
			continue
		}
		t.Run(c.Name(), func(t *testing.T) {
			dir := filepath.Join("testdata", c.Name())
			opts := caseOptions(t, dir)
			res, diags := Load(context.Background(), opts)
			checkGolden(t, filepath.Join(dir, "diags.golden"), renderDiags(res.Files, diags), len(diags) > 0)
			var ir string
			if !diags.HasErrors() {
				ir = string(Dump(res.Config))
			}
			checkGolden(t, filepath.Join(dir, "ir.golden"), ir, !diags.HasErrors())
			// Determinism: a second load gives the same bytes.
			res2, diags2 := Load(context.Background(), opts)
			if a, b := renderDiags(res2.Files, diags2), renderDiags(res.Files, diags); a != b {
				t.Errorf("diagnostics differ between runs:\n%s", cmp.Diff(b, a))
			}
			if !diags.HasErrors() {
				if a := string(Dump(res2.Config)); a != ir {
					t.Errorf("IR differs between runs:\n%s", cmp.Diff(ir, a))
				}
			}
		})
	}
}

// checkGolden compares got with the golden file; want says whether the file
// should exist.
func checkGolden(t *testing.T, path, got string, want bool) {
	t.Helper()
	if *update {
		if want {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		} else {
			os.Remove(path)
		}
		return
	}
	b, err := os.ReadFile(path)
	if !want {
		if err == nil {
			t.Errorf("%s exists but the load gave no such output; run go test -update", path)
		}
		return
	}
	if err != nil {
		t.Fatalf("%v (run go test ./internal/intake -update)\ngot:\n%s", err, got)
	}
	if diff := cmp.Diff(string(b), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}
