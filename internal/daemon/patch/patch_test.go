package patch

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

var update = flag.Bool("update", false, "rewrite golden files")

// Each testdata/<case>/ holds input.cw, args.txt (block address, path
// separated by spaces, JSON value) and the goldens want.cw and want.patch.
func TestSetAttributeGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			input := readFile(t, filepath.Join(dir, "input.cw"))
			args := strings.Split(strings.TrimSuffix(string(readFile(t, filepath.Join(dir, "args.txt"))), "\n"), "\n")
			if len(args) != 3 {
				t.Fatalf("args.txt: want 3 lines, got %q", args)
			}
			value := jsonValue(t, args[2])
			got, err := SetAttribute(input, args[0], strings.Fields(args[1]), value)
			if err != nil {
				t.Fatal(err)
			}
			diff := UnifiedDiff("input.cw", input, got)
			if *update {
				writeFile(t, filepath.Join(dir, "want.cw"), got)
				writeFile(t, filepath.Join(dir, "want.patch"), []byte(diff))
			}
			if d := cmp.Diff(string(readFile(t, filepath.Join(dir, "want.cw"))), string(got)); d != "" {
				t.Errorf("patched file (-want +got):\n%s", d)
			}
			if d := cmp.Diff(string(readFile(t, filepath.Join(dir, "want.patch"))), diff); d != "" {
				t.Errorf("diff (-want +got):\n%s", d)
			}
			// Every comment line of the input survives.
			for _, line := range strings.Split(string(input), "\n") {
				for _, marker := range []string{"#", "//", "/*"} {
					if i := strings.Index(line, marker); i >= 0 && !bytes.Contains(got, []byte(line[i:])) {
						t.Errorf("comment %q lost", line[i:])
					}
				}
			}
			// Exactly one line changes or is added.
			if n := strings.Count(diff, "\n-") + strings.Count(diff, "\n+") - 2; n > 2 {
				t.Errorf("diff touches %d lines, want at most 2:\n%s", n, diff)
			}
			// The diff is a real patch: GNU patch applies it to the input.
			if _, err := exec.LookPath("patch"); err == nil {
				work := t.TempDir()
				writeFile(t, filepath.Join(work, "input.cw"), input)
				cmd := exec.Command("patch", "-p1", "--quiet")
				cmd.Dir = work
				cmd.Stdin = strings.NewReader(diff)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("patch: %v\n%s", err, out)
				}
				if d := cmp.Diff(string(got), string(readFile(t, filepath.Join(work, "input.cw")))); d != "" {
					t.Errorf("patch(1) result differs (-want +got):\n%s", d)
				}
			}
		})
	}
}

func TestSetAttributeErrors(t *testing.T) {
	src := []byte(`resource "service" "web" {
  ports = [{ external = 8080 }]
  command = var.cmd
  health_check {
    path = "/"
  }
}
`)
	tests := []struct {
		name, block string
		path        []string
		want        string
	}{
		{"missing block", "resource.service.api", []string{"name"}, "block resource.service.api not found"},
		{"index out of range", "resource.service.web", []string{"ports", "3", "external"}, "out of range"},
		{"missing key", "resource.service.web", []string{"ports", "0", "internal"}, `key "internal" not found`},
		{"not a literal", "resource.service.web", []string{"command", "0"}, "not a list or object literal"},
		{"path ends at block", "resource.service.web", []string{"health_check"}, "is a block"},
		{"missing nested", "resource.service.web", []string{"logging", "driver"}, `no attribute or block "logging"`},
		{"empty path", "resource.service.web", nil, "empty path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := SetAttribute(src, tt.block, tt.path, cty.NumberIntVal(1))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := SetAttribute([]byte("resource {"), "", []string{"x"}, cty.True); err == nil {
		t.Error("unparseable input accepted")
	}
}

func TestLookup(t *testing.T) {
	src := []byte(`variable "port" {
  default = 8080
}
resource "service" "web" {
  ports = [{
    external = var.port
    internal = 80
  }]
}
`)
	tests := []struct {
		name, block string
		path        []string
		want        Found
	}{
		{"variable reference", "resource.service.web", []string{"ports", "0", "external"}, Found{Expr: "var.port", VarRef: "port"}},
		{"literal", "resource.service.web", []string{"ports", "0", "internal"}, Found{Expr: "80", Value: cty.NumberIntVal(80)}},
		{"variable default", "variable.port", []string{"default"}, Found{Expr: "8080", Value: cty.NumberIntVal(8080)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Lookup(src, tt.block, tt.path)
			if err != nil {
				t.Fatal(err)
			}
			got.Range = tt.want.Range
			if d := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b cty.Value) bool {
				return a == cty.NilVal && b == cty.NilVal || a != cty.NilVal && b != cty.NilVal && a.RawEquals(b)
			})); d != "" {
				t.Errorf("Lookup (-want +got):\n%s", d)
			}
		})
	}
}

func TestUnifiedDiffEqual(t *testing.T) {
	if d := UnifiedDiff("x", []byte("a\n"), []byte("a\n")); d != "" {
		t.Errorf("diff of equal inputs = %q", d)
	}
}

func FuzzSetAttribute(f *testing.F) {
	f.Add([]byte("resource \"a\" \"b\" {\n  x = [{ y = 1 }] # c\n}\n"), "resource.a.b", "x 0 y")
	f.Add([]byte("p = 1\n"), "", "p")
	f.Fuzz(func(t *testing.T, src []byte, block, path string) {
		out, err := SetAttribute(src, block, strings.Fields(path), cty.NumberIntVal(42))
		if err != nil {
			return
		}
		if !bytes.Contains(out, []byte("42")) {
			t.Errorf("patched output lacks the value:\n%s", out)
		}
	})
}

func jsonValue(t *testing.T, s string) cty.Value {
	t.Helper()
	ty, err := ctyjson.ImpliedType([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	v, err := ctyjson.Unmarshal([]byte(s), ty)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
