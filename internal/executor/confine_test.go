package executor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/sandbox"
	"github.com/google/go-cmp/cmp"
)

// TestMain lets the test binary act as `clockwork step sandbox` for the
// confinement test: run as "<test binary> step sandbox ARGS...".
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "step" && os.Args[2] == "sandbox" {
		os.Exit(sandbox.Main(os.Args[3:], os.Stderr, os.Environ()))
	}
	os.Exit(m.Run())
}

func TestConfinedSteps(t *testing.T) {
	if _, ok, reason := sandbox.Status(); !ok {
		t.Skipf("the kernel reports no Landlock support (%s): confinement cannot be tested here", reason)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	escape := t.TempDir() // outside the configuration directory
	f.script(t, "ok.sh", `dir="$CW_ROOT/www"
mkdir -p "$dir"
tmp=$(mktemp "$dir/.x.txt.cw-XXXXXX")
echo hello > "$tmp"
mv -f "$tmp" "$dir/x.txt"
scratch=$(mktemp)
echo "scratch in $scratch" > "$scratch"
case $scratch in "$CW_STATE_DIR"/*) ;; *) echo "TMPDIR is not under .clockwork: $scratch"; exit 3;; esac
rm -f "$scratch"
cat /etc/hostname >/dev/null
echo WROTE=yes >> "$CW_OUTPUT"
`)
	f.script(t, "escape.sh", `echo "writing $ESCAPE/y.txt"
echo stolen > "$ESCAPE/y.txt"
echo WROTE=yes >> "$CW_OUTPUT"
`)
	al, b := plan(
		stepSpec{id: "file.ok/ensure_file", script: "ok.sh"},
		stepSpec{id: "file.bad/ensure_file", script: "escape.sh", env: map[string]string{"ESCAPE": escape}},
		stepSpec{id: "file.after/ensure_file", deps: []string{"file.bad/ensure_file"}, script: "ok.sh"},
	)
	for i := range al.Steps {
		al.Steps[i].Args = map[string]any{"path": "www/" + strings.TrimPrefix(al.Steps[i].Resource, "file.") + ".txt"}
	}
	cfg := &sandbox.Config{Clockwork: self, Root: f.root, StateDir: f.stateDir, Require: true}
	opts := f.opts()
	opts.Confine = cfg.Prefix
	rep, runErr, st := f.exec(t, t.Context(), al, b, opts)
	if runErr != nil {
		t.Fatal(runErr)
	}

	want := map[string]string{"file.ok/ensure_file": StatusOK, "file.bad/ensure_file": StatusFailed, "file.after/ensure_file": StatusSkipped}
	if d := cmp.Diff(want, statuses(rep)); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}
	ok, bad := rep.Results[0], rep.Results[1]
	if ok.Status != StatusOK {
		t.Fatalf("confined step failed: %s\n%s", ok.Err, ok.LogTail)
	}
	if ok.Outputs["WROTE"] != "yes" {
		t.Errorf("CW_OUTPUT of a confined step: outputs = %v", ok.Outputs)
	}
	if b, err := os.ReadFile(filepath.Join(f.root, "www", "x.txt")); err != nil || string(b) != "hello\n" {
		t.Errorf("declared file: %q, %v", b, err)
	}
	if !strings.Contains(bad.LogTail, "Permission denied") || bad.Err != "exit status 1" {
		t.Errorf("escaping step: err %q, log tail:\n%s", bad.Err, bad.LogTail)
	}
	if _, err := os.Lstat(filepath.Join(escape, "y.txt")); err == nil {
		t.Errorf("the escaping step wrote %s", filepath.Join(escape, "y.txt"))
	}
	if r := st.Resource("file.bad"); r == nil || r.Status != contract.StatusFailed {
		t.Errorf("state of file.bad = %+v, want failed", r)
	}
	left, err := filepath.Glob(filepath.Join(f.stateDir, "tmp", "cw-output-*"))
	if err != nil || len(left) > 0 {
		t.Errorf("CW_OUTPUT files left behind: %v %v", left, err)
	}
}

// A step whose declared path cannot be confined safely fails before it
// runs, with the reason in its log.
func TestConfineRefusalFailsStep(t *testing.T) {
	f := newFixture(t)
	f.script(t, "ok.sh", "touch \"$CW_ROOT/ran\"\n")
	al, b := plan(stepSpec{id: "file.root/ensure_file", script: "ok.sh"})
	al.Steps[0].Args = map[string]any{"path": "/cw-file-in-slash"}
	cfg := &sandbox.Config{Clockwork: "/nonexistent/clockwork", Root: f.root, StateDir: f.stateDir}
	opts := f.opts()
	opts.Confine = cfg.Prefix
	rep, runErr, _ := f.exec(t, t.Context(), al, b, opts)
	if runErr != nil {
		t.Fatal(runErr)
	}
	r := rep.Results[0]
	if r.Status != StatusFailed || !strings.Contains(r.Err, "would make / writable") || !strings.Contains(r.LogTail, "would make / writable") {
		t.Errorf("result = %+v", r)
	}
	if _, err := os.Stat(filepath.Join(f.root, "ran")); err == nil {
		t.Error("the step ran although its confinement was refused")
	}
}
