package liveness

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// PollInterval is how often the fallback probes a PID.
const PollInterval = 200 * time.Millisecond

// Watcher watches one PID per resource and calls exited(resource) when it
// dies. Typically exited is (*daemon.Daemon).Signal.
type Watcher struct {
	exited func(resource string)

	mu      sync.Mutex // guards watches and closed
	watches map[string]*watch
	closed  bool
}

type watch struct {
	pid  int
	stop chan struct{}
	file *os.File // the pidfd; nil in fallback mode
	mu   sync.Mutex
	done bool // callback fired or stopped
}

// New returns a watcher that reports deaths to exited.
func New(exited func(resource string)) *Watcher {
	return &Watcher{exited: exited, watches: map[string]*watch{}}
}

// Watch starts watching pid for resource, replacing any earlier watch of the
// resource. Watching the same PID again is a no-op. A PID that does not
// exist (already dead) is reported at once.
func (w *Watcher) Watch(resource string, pid int) error {
	if pid <= 0 {
		return fmt.Errorf("watch %s: bad pid %d", resource, pid)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errors.New("watch: watcher closed")
	}
	if old := w.watches[resource]; old != nil {
		if old.pid == pid && !old.isDone() {
			return nil
		}
		old.cancel()
	}
	wt := &watch{pid: pid, stop: make(chan struct{})}
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	switch {
	case err == nil:
		wt.file = os.NewFile(uintptr(fd), fmt.Sprintf("pidfd:%d", pid))
		go w.waitPidfd(resource, wt)
	case errors.Is(err, unix.ESRCH):
		go w.fire(resource, wt) // already gone
	default:
		go w.poll(resource, wt) // no pidfd (old kernel, seccomp): probe
	}
	w.watches[resource] = wt
	return nil
}

// Unwatch stops watching resource; its callback will not run afterwards.
func (w *Watcher) Unwatch(resource string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if wt := w.watches[resource]; wt != nil {
		wt.cancel()
		delete(w.watches, resource)
	}
}

// Close stops every watch.
func (w *Watcher) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	for r, wt := range w.watches {
		wt.cancel()
		delete(w.watches, r)
	}
}

// Watched returns the PID watched for resource, 0 if none.
func (w *Watcher) Watched(resource string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if wt := w.watches[resource]; wt != nil && !wt.isDone() {
		return wt.pid
	}
	return 0
}

func (wt *watch) isDone() bool {
	wt.mu.Lock()
	defer wt.mu.Unlock()
	return wt.done
}

// cancel stops the watch; after it returns the callback cannot start.
func (wt *watch) cancel() {
	wt.mu.Lock()
	defer wt.mu.Unlock()
	if !wt.done {
		wt.done = true
		close(wt.stop)
		if wt.file != nil {
			wt.file.Close() // wakes waitPidfd
		}
	}
}

func (w *Watcher) fire(resource string, wt *watch) {
	wt.mu.Lock()
	if wt.done {
		wt.mu.Unlock()
		return
	}
	wt.done = true
	close(wt.stop)
	if wt.file != nil {
		wt.file.Close()
	}
	wt.mu.Unlock()
	w.exited(resource)
}

func (w *Watcher) waitPidfd(resource string, wt *watch) {
	rc, err := wt.file.SyscallConn()
	if err != nil {
		w.poll(resource, wt)
		return
	}
	// A pidfd becomes readable when the process exits. RawConn.Read calls
	// the function, and while it returns false waits for readability.
	first := true
	err = rc.Read(func(fd uintptr) bool {
		if first {
			first = false
			// The process may have exited before the pidfd was registered
			// with the poller; ask the kernel directly once.
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, perr := unix.Poll(fds, 0)
			return perr == nil && n > 0
		}
		return true
	})
	if err != nil { // closed by cancel
		return
	}
	w.fire(resource, wt)
}

func (w *Watcher) poll(resource string, wt *watch) {
	t := time.NewTicker(PollInterval)
	defer t.Stop()
	for {
		if err := syscall.Kill(wt.pid, 0); errors.Is(err, syscall.ESRCH) {
			w.fire(resource, wt)
			return
		}
		select {
		case <-wt.stop:
			return
		case <-t.C:
		}
	}
}
