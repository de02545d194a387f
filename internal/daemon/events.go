package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Event kinds.
const (
	EventObserve     = "observe"     // what a pass saw
	EventDrift       = "drift"       // a resource became unhealthy
	EventReconcile   = "reconcile"   // unchanged steps re-run (or a changed resource applied)
	EventFix         = "fix"         // an automatic fix applied
	EventProposal    = "proposal"    // a .cw patch written for approval, approved or rejected
	EventRunbook     = "runbook"     // a runbook written
	EventBudget      = "budget"      // a fix held back by the budget or the cooldown
	EventDiagnostics = "diagnostics" // the configuration has errors (or warnings)
	EventError       = "error"       // a pass or pipeline call failed
)

// Event is one line of .clockwork/events.jsonl.
type Event struct {
	Time     time.Time `json:"time"`
	Pass     int64     `json:"pass"`
	Resource string    `json:"resource,omitempty"`
	Kind     string    `json:"kind"`
	// Seen is what was observed.
	Seen string `json:"seen,omitempty"`
	// Rule is the rule applied ("reconcile: re-run unchanged steps",
	// "fix 1: artifact patch (timeout)", "budget: 2 fixes per hour").
	Rule string `json:"rule,omitempty"`
	// Result is what came of it.
	Result string `json:"result,omitempty"`
	// Ref names the proposal or runbook the event is about.
	Ref string `json:"ref,omitempty"`
}

// EventsPath is the events file of a configuration directory.
func EventsPath(dir string) string { return filepath.Join(dir, ".clockwork", "events.jsonl") }

// recorder appends events to the events file, one write per line (O_APPEND
// makes each write land whole at the end, even with several writers).
type recorder struct {
	mask func(string) string
	mu   sync.Mutex // guards f and recent
	f    *os.File
	// recent keeps the last events for the status page, oldest first.
	recent []Event
}

const recentEvents = 50

func openRecorder(path string, mask func(string) string) (*recorder, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("open events: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open events: %w", err)
	}
	if mask == nil {
		mask = func(s string) string { return s }
	}
	return &recorder{f: f, mask: mask}, nil
}

func (r *recorder) Record(e Event) error {
	e.Seen, e.Rule, e.Result = r.mask(e.Seen), r.mask(e.Rule), r.mask(e.Result)
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("record event: %w", err)
	}
	line = append(line, '\n')
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recent = append(r.recent, e)
	if len(r.recent) > recentEvents {
		r.recent = r.recent[len(r.recent)-recentEvents:]
	}
	if _, err := r.f.Write(line); err != nil {
		return fmt.Errorf("record event: %w", err)
	}
	return nil
}

func (r *recorder) Recent() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.recent...)
}

func (r *recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f.Close()
}

// ReadEvents returns every event in the file at path; a missing file has none.
// A torn last line (a writer killed mid-write) is skipped.
func ReadEvents(path string) ([]Event, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	defer f.Close()
	var out []Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var e Event
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			out = append(out, e)
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read events: %w", err)
	}
	return out, nil
}

// Follow copies the events file at path to w, line by line, and then keeps
// copying lines as they are appended until ctx is done (tail -F): it waits
// for the file to appear, and starts over when the file is truncated or
// replaced. Only whole lines are written. It returns nil when ctx is done.
func Follow(ctx context.Context, path string, w io.Writer) error {
	watcher, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("follow events: %w", err)
	}
	defer watcher.Close()
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("follow events: %w", err)
	}
	if err := watcher.Add(dir); err != nil {
		return fmt.Errorf("follow events: %w", err)
	}
	// Polling as well: fsnotify misses nothing locally, but network and
	// overlay filesystems may not deliver events.
	poll := time.NewTicker(time.Second)
	defer poll.Stop()

	var (
		f       *os.File
		offset  int64
		partial []byte
		ino     os.FileInfo
	)
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	buf := make([]byte, 32<<10)
	drain := func() error {
		if f != nil {
			st, err := os.Stat(path)
			switch {
			case err != nil || !os.SameFile(st, ino):
				f.Close()
				f, offset, partial = nil, 0, nil // replaced or removed: reopen
			case st.Size() < offset:
				offset, partial = 0, nil // truncated: start over
			}
		}
		if f == nil {
			nf, err := os.Open(path)
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			st, err := nf.Stat()
			if err != nil {
				nf.Close()
				return err
			}
			f, ino, offset = nf, st, 0
		}
		for {
			n, err := f.ReadAt(buf, offset)
			if n > 0 {
				offset += int64(n)
				partial = append(partial, buf[:n]...)
				if i := lastNewline(partial); i >= 0 {
					if _, werr := w.Write(partial[:i+1]); werr != nil {
						return werr
					}
					partial = append([]byte(nil), partial[i+1:]...)
				}
			}
			if errors.Is(err, io.EOF) || n == 0 {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
	for {
		if err := drain(); err != nil {
			return fmt.Errorf("follow events: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
		case ev, ok := <-watcher.Events:
			if !ok {
				return nil
			}
			_ = ev
		case err := <-watcher.Errors:
			if err != nil {
				return fmt.Errorf("follow events: %w", err)
			}
		}
	}
}

func lastNewline(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			return i
		}
	}
	return -1
}
