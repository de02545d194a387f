package state

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gofrs/flock"
)

// LockFile is the name of the lock file inside the state directory.
const LockFile = "state.lock"

// LockInfo is what the lock file records about its holder.
type LockInfo struct {
	ID        string    `json:"id"`
	PID       int       `json:"pid"`
	Host      string    `json:"host"`
	Time      time.Time `json:"time"`
	Operation string    `json:"operation"`
}

// LockedError is returned by Lock when another holder has the lock.
type LockedError struct {
	// Path of the lock file.
	Path string
	// Info describes the holder; zero when the lock file could not be read.
	Info LockInfo
	// Stale is true when the holder's process is not alive on this host.
	Stale bool
}

func (e *LockedError) Error() string {
	if e.Info.ID == "" {
		return fmt.Sprintf("state is locked (%s is held by another process that did not say who it is)", e.Path)
	}
	msg := fmt.Sprintf("state is locked by %q (pid %d on %s since %s, lock id %s)",
		e.Info.Operation, e.Info.PID, e.Info.Host, e.Info.Time.UTC().Format(time.RFC3339), e.Info.ID)
	if e.Stale {
		return msg + fmt.Sprintf("; that process is no longer running: if nothing else uses this configuration, break the lock with `clockwork force-unlock %s`", e.Info.ID)
	}
	host, _ := os.Hostname()
	if e.Info.Host != host {
		return msg + fmt.Sprintf("; the holder runs on another host: if it is gone, break the lock with `clockwork force-unlock %s`", e.Info.ID)
	}
	return msg + "; wait for it to finish"
}

// IsLocked reports whether err says the state is locked by someone else.
func IsLocked(err error) bool {
	var le *LockedError
	return errors.As(err, &le)
}

// ErrLockLost is returned by writes when the lock file this process holds
// was removed or replaced (force-unlock by someone else).
var ErrLockLost = errors.New("state lock lost: the lock file was removed or replaced (force-unlock?)")

// ErrNotLocked is returned by writes made without holding the lock.
var ErrNotLocked = errors.New("state is not locked by this process")

// Lock is a held state lock.
type Lock struct {
	store *Store
	fl    *flock.Flock
	// Info is what this lock recorded in the lock file.
	Info LockInfo
	// Recovered describes a previous holder that ended without unlocking (a
	// crash or kill), when its lock file was still there; nil otherwise.
	Recovered *LockInfo
}

// Lock takes the state lock for operation op ("apply", "destroy", ...). It
// does not wait: if another process holds it, it returns a *LockedError at
// once.
func (s *Store) Lock(ctx context.Context, op string) (*Lock, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock != nil {
		return nil, &LockedError{Path: s.lockPath(), Info: s.lock.Info}
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("lock state: %w", err)
	}
	path := s.lockPath()
	// The holder removes the lock file when it unlocks, and force-unlock
	// removes it too, so the file we locked may no longer be the one at path:
	// check and try again.
	for attempt := 0; ; attempt++ {
		fl := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o644))
		ok, err := fl.TryLock()
		if err != nil {
			return nil, fmt.Errorf("lock state %s: %w", path, err)
		}
		if !ok {
			return nil, lockedError(path)
		}
		if !sameFile(fl, path) {
			_ = fl.Unlock()
			if attempt < 20 {
				continue
			}
			return nil, fmt.Errorf("lock state %s: lock file keeps changing", path)
		}
		// Content left in the file we now hold is from a holder that never
		// unlocked: holders remove the file when they unlock.
		prev, _ := readLockInfo(path)
		host, _ := os.Hostname()
		info := LockInfo{ID: randomHex(8), PID: os.Getpid(), Host: host, Time: time.Now().UTC().Truncate(time.Second), Operation: op}
		data, _ := json.Marshal(info)
		if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
			_ = fl.Unlock()
			return nil, fmt.Errorf("lock state %s: %w", path, err)
		}
		l := &Lock{store: s, fl: fl, Info: info}
		if prev != nil && prev.ID != "" {
			l.Recovered = prev
		}
		s.lock = l
		s.backedUp = false
		return l, nil
	}
}

// Unlock releases the lock and removes the lock file. It is safe to call
// more than once.
func (l *Lock) Unlock() error {
	s := l.store
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock != l {
		return nil
	}
	s.lock = nil
	var rmErr error
	if sameFile(l.fl, s.lockPath()) {
		if err := os.Remove(s.lockPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
			rmErr = err
		}
	}
	if err := l.fl.Close(); err != nil {
		return fmt.Errorf("unlock state: %w", err)
	}
	if rmErr != nil {
		return fmt.Errorf("unlock state: %w", rmErr)
	}
	return nil
}

// valid reports whether the lock file at the path is still the one l holds.
func (l *Lock) valid() bool { return sameFile(l.fl, l.store.lockPath()) }

// ForceUnlock breaks the lock with the given id by removing the lock file,
// whoever holds it. The holder, if it still runs, loses the lock: its next
// write fails with ErrLockLost. The id must match the lock file, so a lock
// taken since the user read the message is not broken by mistake.
func (s *Store) ForceUnlock(id string) error {
	path := s.lockPath()
	info, err := readLockInfo(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("force-unlock: the state is not locked (%s does not exist)", path)
	}
	if err != nil {
		return fmt.Errorf("force-unlock: %w", err)
	}
	if info.ID != id {
		return fmt.Errorf("force-unlock: lock id is %q, not %q: it was taken again since (%s)", info.ID, id, (&LockedError{Path: path, Info: *info}).Error())
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("force-unlock: %w", err)
	}
	return nil
}

// lockedError describes the current holder. The holder writes its info just
// after taking the lock, so an empty file is retried briefly.
func lockedError(path string) error {
	var info *LockInfo
	for range 20 {
		var err error
		if info, err = readLockInfo(path); err == nil && info.ID != "" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	le := &LockedError{Path: path}
	if info != nil {
		le.Info = *info
		host, _ := os.Hostname()
		le.Stale = info.Host == host && !pidAlive(info.PID)
	}
	return le
}

func readLockInfo(path string) (*LockInfo, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var info LockInfo
	if len(b) == 0 {
		return &info, nil
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("read lock file %s: %w", path, err)
	}
	return &info, nil
}

func sameFile(fl *flock.Flock, path string) bool {
	a, err := fl.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	if err != nil {
		return false
	}
	return os.SameFile(a, b)
}

// pidAlive reports whether a process with pid exists (and is not a zombie).
func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	if b, err := os.ReadFile(filepath.Join("/proc", fmt.Sprint(pid), "stat")); err == nil {
		// The state letter follows the parenthesised command name.
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] == ')' {
				return !(i+2 < len(b) && b[i+2] == 'Z')
			}
		}
	}
	return true
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
