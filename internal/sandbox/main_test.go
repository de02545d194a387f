package sandbox

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the test binary act as `clockwork step sandbox`: run as
// "<test binary> step sandbox ARGS...", it calls Main.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "step" && os.Args[2] == "sandbox" {
		os.Exit(Main(os.Args[3:], os.Stderr, os.Environ()))
	}
	os.Exit(m.Run())
}

func requireLandlock(t *testing.T) {
	t.Helper()
	if _, ok, reason := Status(); !ok {
		t.Skipf("the kernel reports no Landlock support (%s): confinement cannot be tested here", reason)
	}
}

// sandboxed runs script with bash under the sandbox (the test binary
// re-executed) with the given writable paths and TMPDIR.
func sandboxed(t *testing.T, tmpdir string, writable []string, script string) (string, error) {
	t.Helper()
	args := []string{"step", "sandbox", "--tmpdir", tmpdir, "--require"}
	for _, w := range writable {
		args = append(args, "--write", w)
	}
	args = append(args, "--", "bash", "-c", script)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + os.Getenv("HOME")}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestConfinedWrites(t *testing.T) {
	requireLandlock(t)
	allowed := t.TempDir()
	other := t.TempDir() // a sibling under the same temp dir: not allowed
	state := t.TempDir()
	tmpdir := filepath.Join(state, "tmp")
	if err := os.WriteFile(filepath.Join(other, "keep"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	escape := filepath.Join(home, "cw-escape-test")
	t.Cleanup(func() { _ = os.RemoveAll(escape) })

	tests := []struct {
		name    string
		script  string
		wantOK  bool
		wantOut string   // substring of the output
		exists  []string // files that must exist afterwards
		absent  []string // files that must not exist afterwards
	}{
		{name: "write inside allowed", wantOK: true,
			script: `echo hi > "$A/f"; mkdir -p "$A/d/e"; echo x > "$A/d/e/g"; cat "$A/f"`,
			exists: []string{filepath.Join(allowed, "f"), filepath.Join(allowed, "d", "e", "g")}},
		{name: "temp file next to target then rename", wantOK: true,
			script: `t=$(mktemp "$A/.t.XXXXXX"); echo v > "$t"; mv -f "$t" "$A/target"`,
			exists: []string{filepath.Join(allowed, "target")}},
		{name: "move between writable directories", wantOK: true,
			script: `echo m > "$S/moved"; mv "$S/moved" "$A/moved"`,
			exists: []string{filepath.Join(allowed, "moved")}},
		{name: "write another directory", wantOut: "Permission denied",
			script: `echo x > "$O/escaped"`,
			absent: []string{filepath.Join(other, "escaped")}},
		{name: "write under HOME", wantOut: "Permission denied",
			script: `echo x > "$HOME/cw-escape-test"`,
			absent: []string{escape}},
		{name: "mkdir in another directory", wantOut: "Permission denied",
			script: `mkdir "$O/newdir"`,
			absent: []string{filepath.Join(other, "newdir")}},
		{name: "remove in another directory", wantOut: "Permission denied",
			script: `rm -f "$O/keep"`,
			exists: []string{filepath.Join(other, "keep")}},
		{name: "truncate in another directory", wantOut: "Permission denied",
			script: `: > "$O/keep"`},
		{name: "move out of another directory", wantOut: "Permission denied",
			script: `mv "$O/keep" "$A/stolen"`,
			exists: []string{filepath.Join(other, "keep")}, absent: []string{filepath.Join(allowed, "stolen")}},
		{name: "child process is confined", wantOut: "Permission denied",
			script: `sh -c 'echo x > "$O/child"'`,
			absent: []string{filepath.Join(other, "child")}},
		{name: "background grandchild is confined", wantOut: "Permission denied",
			script: `sh -c 'echo x > "$O/bg"' & wait $!`,
			absent: []string{filepath.Join(other, "bg")}},
		{name: "reads stay allowed", wantOK: true, wantOut: "hostname ok",
			script: `cat /etc/hostname >/dev/null && ls "$O" >/dev/null && echo hostname ok`},
		{name: "dev null and TMPDIR", wantOK: true, wantOut: "tmp ok",
			script: `echo x > /dev/null; t=$(mktemp); case $t in "$TMPDIR"/*) echo x > "$t" && echo tmp ok;; *) echo "mktemp gave $t";; esac`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			script := "set -e; export A=" + allowed + " O=" + other + " S=" + state + "\n" + tt.script
			out, err := sandboxed(t, tmpdir, []string{allowed, state, "/dev"}, script)
			if tt.wantOK && err != nil {
				t.Fatalf("want success, got %v:\n%s", err, out)
			}
			if !tt.wantOK && err == nil {
				t.Fatalf("want failure, got success:\n%s", out)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("output lacks %q:\n%s", tt.wantOut, out)
			}
			for _, p := range tt.exists {
				if _, err := os.Stat(p); err != nil {
					t.Errorf("%s: %v", p, err)
				}
			}
			for _, p := range tt.absent {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s exists; the sandbox let it be written", p)
				}
			}
		})
	}
	if b, err := os.ReadFile(filepath.Join(other, "keep")); err != nil || string(b) != "x" {
		t.Errorf("the file outside the sandbox changed: %q, %v", b, err)
	}
}

// Without confinement the same escape succeeds: the tests above fail
// because of the sandbox, not because the directory is unwritable.
func TestUnconfinedControl(t *testing.T) {
	other := t.TempDir()
	cmd := exec.Command("bash", "-c", `echo x > "$1/escaped"`, "bash", other)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if _, err := os.Stat(filepath.Join(other, "escaped")); err != nil {
		t.Fatal(err)
	}
}

func TestMainErrors(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no command", []string{"--write", "/tmp", "--"}, ExitUsage, "usage:"},
		{"unknown flag", []string{"--bogus", "--", "true"}, ExitUsage, "bogus"},
		{"command not found", []string{"--", "cw-no-such-command"}, ExitNotFound, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			code := Main(tt.args, &stderr, []string{"PATH=/usr/bin:/bin"})
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d", code, tt.wantCode)
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr lacks %q: %s", tt.wantErr, stderr.String())
			}
		})
	}
}

func TestExitCodePassesThrough(t *testing.T) {
	requireLandlock(t)
	_, err := sandboxed(t, filepath.Join(t.TempDir(), "tmp"), nil, "exit 7")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Fatalf("want exit 7, got %v", err)
	}
}
