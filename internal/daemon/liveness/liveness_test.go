package liveness

import (
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

type recorder struct {
	mu  sync.Mutex
	got []string
	ch  chan string
}

func newRecorder() *recorder { return &recorder{ch: make(chan string, 10)} }

func (r *recorder) exited(res string) {
	r.mu.Lock()
	r.got = append(r.got, res)
	r.mu.Unlock()
	r.ch <- res
}

func startSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// A process that is not our child as far as the watcher knows: killed, it is
// reported within milliseconds.
func TestKilledProcessReportedAtOnce(t *testing.T) {
	r := newRecorder()
	w := New(r.exited)
	defer w.Close()
	cmd := startSleep(t)
	if err := w.Watch("service.web", cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if w.Watched("service.web") != cmd.Process.Pid {
		t.Error("Watched does not report the pid")
	}
	select {
	case res := <-r.ch:
		t.Fatalf("reported %s while alive", res)
	case <-time.After(100 * time.Millisecond):
	}
	start := time.Now()
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait() // reap, as the process's parent does
	select {
	case res := <-r.ch:
		if res != "service.web" {
			t.Errorf("reported %q", res)
		}
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("reported after %v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("death not reported")
	}
	select {
	case res := <-r.ch:
		t.Errorf("reported twice (%s)", res)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestAlreadyDead(t *testing.T) {
	r := newRecorder()
	w := New(r.exited)
	defer w.Close()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if err := w.Watch("service.gone", cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.ch:
	case <-time.After(5 * time.Second):
		t.Fatal("a dead pid was not reported")
	}
}

func TestUnwatchAndReplace(t *testing.T) {
	r := newRecorder()
	w := New(r.exited)
	defer w.Close()
	a, b := startSleep(t), startSleep(t)
	w.Watch("service.web", a.Process.Pid)
	w.Watch("service.web", b.Process.Pid) // replaces a
	a.Process.Kill()
	a.Wait()
	select {
	case res := <-r.ch:
		t.Fatalf("the replaced watch fired (%s)", res)
	case <-time.After(150 * time.Millisecond):
	}
	w.Unwatch("service.web")
	b.Process.Kill()
	b.Wait()
	select {
	case res := <-r.ch:
		t.Fatalf("an unwatched pid fired (%s)", res)
	case <-time.After(150 * time.Millisecond):
	}
	if err := w.Watch("x", 0); err == nil {
		t.Error("pid 0 accepted")
	}
}

func TestPollFallback(t *testing.T) {
	r := newRecorder()
	w := New(r.exited)
	defer w.Close()
	cmd := startSleep(t)
	wt := &watch{pid: cmd.Process.Pid, stop: make(chan struct{})}
	go w.poll("service.web", wt)
	cmd.Process.Kill()
	cmd.Wait()
	select {
	case <-r.ch:
	case <-time.After(2 * PollInterval * 5):
		t.Fatal("fallback did not report")
	}
}
