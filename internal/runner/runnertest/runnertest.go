// Package runnertest is the conformance suite every runner.Runner
// implementation runs: exit codes, an exact environment, stdin and output,
// PATH resolution from the request, timeouts that kill the whole process
// group, cancellation, and background children that keep pipes open.
//
// The suite needs bash, env, tr, wc, seq, grep and sleep in the runner's PATH
// (/usr/local/bin:/usr/bin:/bin), /proc, and working directories it can
// write to, which it creates with t.TempDir() on this machine; a remote
// runner's newRunner must make those paths visible to its commands (a bind
// mount of os.TempDir(), for example).
package runnertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clockwork-iac/clockwork/internal/runner"
	"github.com/google/go-cmp/cmp"
)

// SysPath is the PATH the suite gives its commands.
const SysPath = "/usr/local/bin:/usr/bin:/bin"

// Run runs the conformance suite against runners made by newRunner.
func Run(t *testing.T, newRunner func(t *testing.T) runner.Runner) {
	t.Run("ExitCodes", func(t *testing.T) { testExitCodes(t, newRunner(t)) })
	t.Run("ExactEnv", func(t *testing.T) { testExactEnv(t, newRunner(t)) })
	t.Run("StdinStdout", func(t *testing.T) { testStdio(t, newRunner(t)) })
	t.Run("Dir", func(t *testing.T) { testDir(t, newRunner(t)) })
	t.Run("PathFromRequest", func(t *testing.T) { testPathFromRequest(t, newRunner(t)) })
	t.Run("TimeoutKillsGroup", func(t *testing.T) { testTimeoutKillsGroup(t, newRunner(t)) })
	t.Run("CancelKillsGroup", func(t *testing.T) { testCancel(t, newRunner(t)) })
	t.Run("BackgroundChildHoldsPipes", func(t *testing.T) { testBackgroundPipes(t, newRunner(t)) })
}

func baseEnv(extra ...string) []string {
	return append([]string{"PATH=" + SysPath}, extra...)
}

func testExitCodes(t *testing.T, r runner.Runner) {
	for _, tc := range []struct {
		name   string
		script string
		want   int
	}{
		{"zero", "exit 0", 0},
		{"one", "false", 1},
		{"three", "exit 3", 3},
		{"killed by signal", "kill -KILL $$", 128 + 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := r.Run(t.Context(), runner.Request{
				Cmd: []string{"bash", "-c", tc.script}, Dir: t.TempDir(), Env: baseEnv(), Timeout: 30 * time.Second,
			})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.ExitCode != tc.want || res.TimedOut {
				t.Errorf("ExitCode=%d TimedOut=%v, want %d false", res.ExitCode, res.TimedOut, tc.want)
			}
		})
	}
	t.Run("missing command is an error", func(t *testing.T) {
		_, err := r.Run(t.Context(), runner.Request{
			Cmd: []string{"no-such-command-cw"}, Dir: t.TempDir(), Env: baseEnv(),
		})
		if err == nil {
			t.Fatal("Run of a missing command returned no error")
		}
	})
}

func testExactEnv(t *testing.T, r runner.Runner) {
	// A variable set in the test process must not leak into the command.
	t.Setenv("CW_RUNNERTEST_LEAK", "leaked")
	env := baseEnv("FOO=bar", "SPACED=a b  c", "EMPTY=")
	var out bytes.Buffer
	res, err := r.Run(t.Context(), runner.Request{
		Cmd: []string{"env"}, Dir: t.TempDir(), Env: env, Stdout: &out, Timeout: 30 * time.Second,
	})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run: %v, exit %d", err, res.ExitCode)
	}
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	sort.Strings(got)
	want := append([]string(nil), env...)
	sort.Strings(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("environment of the command (-want +got):\n%s", d)
	}
}

func testStdio(t *testing.T, r runner.Runner) {
	var out, errOut bytes.Buffer
	res, err := r.Run(t.Context(), runner.Request{
		Cmd:    []string{"bash", "-c", "tr a-z A-Z; echo oops >&2"},
		Dir:    t.TempDir(),
		Env:    baseEnv(),
		Stdin:  strings.NewReader("hello\n"),
		Stdout: &out, Stderr: &errOut, Timeout: 30 * time.Second,
	})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run: %v, exit %d", err, res.ExitCode)
	}
	if out.String() != "HELLO\n" || errOut.String() != "oops\n" {
		t.Errorf("stdout %q stderr %q, want %q %q", out.String(), errOut.String(), "HELLO\n", "oops\n")
	}
	t.Run("nil stdin reads empty", func(t *testing.T) {
		var out bytes.Buffer
		res, err := r.Run(t.Context(), runner.Request{
			Cmd: []string{"bash", "-c", "wc -c"}, Dir: t.TempDir(), Env: baseEnv(), Stdout: &out, Timeout: 30 * time.Second,
		})
		if err != nil || res.ExitCode != 0 || strings.TrimSpace(out.String()) != "0" {
			t.Errorf("Run: %v, exit %d, out %q", err, res.ExitCode, out.String())
		}
	})
}

func testDir(t *testing.T, r runner.Runner) {
	dir := t.TempDir()
	res, err := r.Run(t.Context(), runner.Request{
		Cmd: []string{"bash", "-c", "echo here > marker"}, Dir: dir, Env: baseEnv(), Timeout: 30 * time.Second,
	})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run: %v, exit %d", err, res.ExitCode)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "marker")); err != nil || string(b) != "here\n" {
		t.Errorf("marker in Dir: %q, %v", b, err)
	}
	t.Run("relative command with slash is relative to Dir", func(t *testing.T) {
		dir := t.TempDir()
		writeScript(t, filepath.Join(dir, "scripts", "hi.sh"), "#!/bin/bash\necho hi from script\n")
		var out bytes.Buffer
		res, err := r.Run(t.Context(), runner.Request{
			Cmd: []string{"scripts/hi.sh"}, Dir: dir, Env: baseEnv(), Stdout: &out, Timeout: 30 * time.Second,
		})
		if err != nil || res.ExitCode != 0 || out.String() != "hi from script\n" {
			t.Errorf("Run: %v, exit %d, out %q", err, res.ExitCode, out.String())
		}
	})
}

func testPathFromRequest(t *testing.T, r runner.Runner) {
	bin := t.TempDir()
	writeScript(t, filepath.Join(bin, "cw-only-here"), "#!/bin/bash\necho found\n")
	var out bytes.Buffer
	res, err := r.Run(t.Context(), runner.Request{
		Cmd: []string{"cw-only-here"}, Dir: t.TempDir(), Env: []string{"PATH=" + bin + ":" + SysPath}, Stdout: &out, Timeout: 30 * time.Second,
	})
	if err != nil || res.ExitCode != 0 || out.String() != "found\n" {
		t.Fatalf("command on the request's PATH: %v, exit %d, out %q", err, res.ExitCode, out.String())
	}
	// The parent's PATH must not be used: put the directory there instead.
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	_, err = r.Run(t.Context(), runner.Request{
		Cmd: []string{"cw-only-here"}, Dir: t.TempDir(), Env: []string{"PATH=" + SysPath}, Timeout: 30 * time.Second,
	})
	if err == nil {
		t.Fatal("command found through the parent's PATH; want an error")
	}
}

// grandchildScript starts a grandchild that records its pid, then waits.
const grandchildScript = `sleep 100 & echo $! > grandchild.pid; wait`

func testTimeoutKillsGroup(t *testing.T, r runner.Runner) {
	dir := t.TempDir()
	start := time.Now()
	res, err := r.Run(t.Context(), runner.Request{
		Cmd: []string{"bash", "-c", grandchildScript}, Dir: dir, Env: baseEnv(), Timeout: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !res.TimedOut || res.ExitCode == 0 {
		t.Errorf("TimedOut=%v ExitCode=%d, want true and non-zero", res.TimedOut, res.ExitCode)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("Run took %v after a 300ms timeout", el)
	}
	assertGone(t, r, dir)
}

func testCancel(t *testing.T, r runner.Runner) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		waitForFile(filepath.Join(dir, "grandchild.pid"))
		cancel()
	}()
	start := time.Now()
	_, err := r.Run(ctx, runner.Request{
		Cmd: []string{"bash", "-c", grandchildScript}, Dir: dir, Env: baseEnv(),
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run after cancel: %v, want context.Canceled", err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("Run took %v to return after cancel", el)
	}
	assertGone(t, r, dir)
}

func testBackgroundPipes(t *testing.T, r runner.Runner) {
	dir := t.TempDir()
	var out bytes.Buffer
	start := time.Now()
	res, err := r.Run(t.Context(), runner.Request{
		// The background sleep inherits stdout and keeps it open.
		Cmd: []string{"bash", "-c", "sleep 100 & echo $! > grandchild.pid; echo done"}, Dir: dir, Env: baseEnv(), Stdout: &out, Timeout: 60 * time.Second,
	})
	el := time.Since(start)
	// Clean up the deliberately orphaned sleep.
	defer func() {
		if pid, err := readPid(filepath.Join(dir, "grandchild.pid")); err == nil {
			_ = killPid(pid)
		}
	}()
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run: %v, exit %d", err, res.ExitCode)
	}
	if el > 20*time.Second {
		t.Errorf("Run took %v: a background child holding stdout made it hang", el)
	}
	if out.String() != "done\n" {
		t.Errorf("stdout %q, want %q", out.String(), "done\n")
	}
}

// assertGone checks, through the runner itself, that the pid recorded in
// dir/grandchild.pid is no longer a live (non-zombie) process.
func assertGone(t *testing.T, r runner.Runner, dir string) {
	t.Helper()
	pid, err := readPid(filepath.Join(dir, "grandchild.pid"))
	if err != nil {
		t.Fatalf("grandchild pid: %v", err)
	}
	check := fmt.Sprintf(`p=%d; for i in $(seq 50); do
  if [ ! -e /proc/$p ] || grep -q '^[0-9]* ([^)]*) Z' /proc/$p/stat 2>/dev/null; then exit 0; fi
  sleep 0.1; done; exit 1`, pid)
	res, err := r.Run(t.Context(), runner.Request{
		Cmd: []string{"bash", "-c", check}, Dir: dir, Env: baseEnv(), Timeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatalf("check grandchild: %v", err)
	}
	if res.ExitCode != 0 {
		_ = killPid(pid)
		t.Errorf("grandchild %d of the killed command is still running", pid)
	}
}

func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func waitForFile(path string) {
	for range 500 {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func writeScript(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}
