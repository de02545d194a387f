package sandbox_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/runner"
	"github.com/clockwork-iac/clockwork/internal/sandbox"
)

// TestThreadConfinesOnlyTheStep: a step started through runner.Local with
// the in-process hook can write only its declared paths, and the restriction
// does not leak into the rest of this process (the thread is discarded).
func TestThreadConfinesOnlyTheStep(t *testing.T) {
	if _, ok, reason := sandbox.Status(); !ok {
		t.Skipf("no Landlock: %s", reason)
	}
	root := t.TempDir()
	outside := t.TempDir()
	c := &sandbox.Config{Root: root, StateDir: filepath.Join(root, ".clockwork")}
	must(t, os.MkdirAll(c.StateDir, 0o755))
	step := contract.Step{ID: "command.c/run_command", Name: contract.StepRunCommand, Resource: "command.c",
		Args: map[string]any{"command": "true"}}
	run := func(script string) (int, string) {
		hook, err := c.Thread(step)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		res, err := (&runner.Local{}).Run(context.Background(), runner.Request{
			Cmd: []string{"bash", "-c", script}, Dir: root,
			Env:    []string{"PATH=" + os.Getenv("PATH"), "HOME=" + root},
			Stdout: &out, Stderr: &out, Confine: hook,
		})
		if err != nil {
			t.Fatal(err)
		}
		return res.ExitCode, out.String()
	}
	for i := 0; i < 20; i++ { // many runs: no thread of this process may stay confined
		if code, out := run("echo in > inside.txt && (echo sub > sub.txt)"); code != 0 {
			t.Fatalf("write inside the root failed: %d %s", code, out)
		}
		code, out := run("echo x > " + filepath.Join(outside, "escaped.txt"))
		if code == 0 || !strings.Contains(out, "Permission denied") {
			t.Fatalf("write outside was not refused: %d %s", code, out)
		}
		// This process itself is not confined.
		must(t, os.WriteFile(filepath.Join(outside, "parent.txt"), []byte("ok"), 0o644))
	}
	if _, err := os.Stat(filepath.Join(outside, "escaped.txt")); err == nil {
		t.Fatal("escaped.txt exists")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
