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
		return runStep(t, c, step, root, script)
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

	// Of .clockwork/ only tmp/, services/ and logs/ are writable for a step
	// whose resource declares nothing under the configuration directory
	// (a command's workdir includes it: see the executor's integrity check).
	verify := contract.Step{ID: "check.c/verify_tcp", Name: contract.StepVerifyTCP, Resource: "check.c", Args: map[string]any{"address": "127.0.0.1:1"}}
	run = func(script string) (int, string) { return runStep(t, c, verify, root, script) }
	// Of .clockwork/ only tmp/, services/ and logs/ are writable: a step
	// cannot rewrite the validated scripts of later steps, or state; of
	// /dev only the usual character devices.
	must(t, os.MkdirAll(filepath.Join(c.StateDir, "build", "scripts"), 0o755))
	must(t, os.WriteFile(filepath.Join(c.StateDir, "build", "scripts", "02_next.sh"), []byte("#!/bin/bash\n"), 0o755))
	must(t, os.WriteFile(filepath.Join(c.StateDir, "state.json"), []byte("{}"), 0o644))
	for _, target := range []string{
		filepath.Join(c.StateDir, "build", "scripts", "02_next.sh"),
		filepath.Join(c.StateDir, "state.json"),
		filepath.Join(c.StateDir, "build", "new.sh"),
		"/dev/shm/cw-sandbox-test",
	} {
		code, out := run("echo tampered >> " + target)
		if code == 0 || !strings.Contains(out, "Permission denied") {
			t.Errorf("write to %s was not refused: %d %s", target, code, out)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(c.StateDir, "state.json")); string(b) != "{}" {
		t.Errorf("state.json changed: %q", b)
	}
	for _, script := range []string{"echo ok > /dev/null", "echo x > \"$TMPDIR/t\" || echo x > " + filepath.Join(c.StateDir, "tmp", "t"), "mkdir -p " + filepath.Join(c.StateDir, "services") + " && echo 1 > " + filepath.Join(c.StateDir, "services", "s.pid")} {
		if code, out := run(script); code != 0 {
			t.Errorf("%q failed: %d %s", script, code, out)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func runStep(t *testing.T, c *sandbox.Config, step contract.Step, root, script string) (int, string) {
	t.Helper()
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
