package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrentApplies starts two, then ten `clockwork apply` on one
// directory at once: exactly one runs, the others fail at once naming the
// lock holder.
func TestConcurrentApplies(t *testing.T) {
	bin := clockworkBinary(t)
	for _, n := range []int{2, 10} {
		t.Run(fmt.Sprintf("%d-applies", n), func(t *testing.T) {
			dir := t.TempDir()
			cfg := `resource "command" "slow" {
  command = "sleep 2; echo ran >> runs.txt"
}
`
			must(t, os.WriteFile(filepath.Join(dir, "main.cw"), []byte(cfg), 0o644))
			// Build once so every racer starts from the same point.
			if out, err := exec.Command(bin, "build", "--chdir", dir).CombinedOutput(); err != nil {
				t.Fatalf("build: %v\n%s", err, out)
			}
			type result struct {
				err     error
				stderr  string
				elapsed time.Duration
			}
			results := make([]result, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					<-start
					var stderr bytes.Buffer
					cmd := exec.Command(bin, "apply", "--chdir", dir)
					cmd.Stderr = &stderr
					t0 := time.Now()
					err := cmd.Run()
					results[i] = result{err, stderr.String(), time.Since(t0)}
				}(i)
			}
			close(start)
			wg.Wait()
			ok := 0
			for _, r := range results {
				if r.err == nil {
					ok++
					continue
				}
				if !strings.Contains(r.stderr, "lock") || !strings.Contains(r.stderr, "pid") {
					t.Errorf("a refused apply does not name the lock holder:\n%s", r.stderr)
				}
				if r.elapsed > 1500*time.Millisecond {
					t.Errorf("a refused apply waited %v instead of failing at once", r.elapsed)
				}
			}
			if ok != 1 {
				t.Fatalf("%d applies succeeded, want exactly 1", ok)
			}
			runs, _ := os.ReadFile(filepath.Join(dir, "runs.txt"))
			if got := bytes.Count(runs, []byte("ran")); got != 1 {
				t.Errorf("the step ran %d times, want 1", got)
			}
		})
	}
}

// TestStaleLockIsExplained: a lock file left by a process that died on this
// host is reported with the command that breaks it, and force-unlock works.
func TestStaleLockIsExplained(t *testing.T) {
	bin := clockworkBinary(t)
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "main.cw"), []byte("resource \"directory\" \"d\" {\n  path = \"d\"\n}\n"), 0o644))
	// A holder that keeps the flock (a child inheriting it) while the pid the
	// lock names is dead: start apply with a step that outlives clockwork.
	if out, err := exec.Command(bin, "apply", "--chdir", dir).CombinedOutput(); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	lock := filepath.Join(dir, ".clockwork", "state.lock")
	host, _ := os.Hostname()
	// pid 2^22-1 is above the default pid_max on Linux: never alive.
	must(t, os.WriteFile(lock, []byte(`{"id":"deadbeef","pid":4194303,"host":"`+host+`","time":"2026-01-01T00:00:00Z","operation":"apply"}`), 0o644))
	hold := exec.Command("flock", "--nonblock", lock, "sleep", "5")
	if err := hold.Start(); err != nil {
		t.Skipf("flock(1) not available: %v", err)
	}
	defer hold.Process.Kill()
	time.Sleep(200 * time.Millisecond)
	out, err := exec.Command(bin, "apply", "--chdir", dir).CombinedOutput()
	if err == nil {
		t.Fatalf("apply ran while the lock was held:\n%s", out)
	}
	if !strings.Contains(string(out), "force-unlock deadbeef") {
		t.Errorf("the stale lock is not explained with the force-unlock command:\n%s", out)
	}
}
