package state

import (
	"maps"
	"sync"
	"time"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

// SessionInterval is the shortest time between two writes of a Session; after
// a write that took longer, the Session waits as long as that write took.
const SessionInterval = 5 * time.Millisecond

// Session is a group-commit writer for one locked operation: Update changes
// the state in memory and a background flusher writes it, each write covering
// every update since the previous one. Writes start at most every
// SessionInterval (or every two write durations, for large states). Close
// writes the last updates.
type Session struct {
	store *Store
	kick  chan struct{} // one slot: coalesces update notifications
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once

	mu    sync.Mutex
	st    *contract.State // guarded by mu
	dirty bool            // guarded by mu: updated since the last write began
	err   error           // guarded by mu: the error of the last write, nil once one succeeds
}

// Begin starts a session on st, which the session owns from now on: change it
// only through Update. The caller must hold the lock for the whole session.
// A nil st starts from New().
func (s *Store) Begin(st *contract.State) *Session {
	if st == nil {
		st = New()
	}
	sess := &Session{
		store: s, st: st,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go sess.flusher()
	return sess
}

// Update applies fn to the state under the session's mutex and schedules a
// write. fn must not keep references to the state.
func (sess *Session) Update(fn func(*contract.State)) {
	sess.mu.Lock()
	fn(sess.st)
	sess.dirty = true
	sess.mu.Unlock()
	select {
	case sess.kick <- struct{}{}:
	default:
	}
}

// View calls fn with the current state under the session's mutex. fn must
// not modify it or keep references to it.
func (sess *Session) View(fn func(*contract.State)) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	fn(sess.st)
}

// Err returns the error of the last write, nil if it succeeded. After a
// failed write the session tries again on later updates and at Close, but
// callers should stop making changes they cannot record.
func (sess *Session) Err() error {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return sess.err
}

// Flush writes pending updates now.
func (sess *Session) Flush() error {
	sess.flush(true)
	return sess.Err()
}

// Close stops the flusher, writes pending updates, and returns the error of
// that last write (nil when everything is on disk). Calling it again returns
// the same error.
func (sess *Session) Close() error {
	sess.once.Do(func() {
		close(sess.stop)
		<-sess.done
	})
	return sess.Err()
}

func (sess *Session) flusher() {
	defer close(sess.done)
	for {
		select {
		case <-sess.kick:
		case <-sess.stop:
			sess.flush(true)
			return
		}
		start := time.Now()
		sess.flush(false)
		// Wait at least as long as the write took, so writing never takes
		// more than half the time however large the state grows.
		select {
		case <-time.After(max(SessionInterval, 4*time.Since(start))):
		case <-sess.stop:
			sess.flush(true)
			return
		}
	}
}

// flush writes the state if it changed. The state is copied under the
// session mutex; encoding and writing happen outside it, so Update is not
// held up by fsync. Background writes check the state with checkState; Flush
// and Close with the full JSON Schema.
func (sess *Session) flush(fullCheck bool) {
	s := sess.store
	s.mu.Lock()
	defer s.mu.Unlock()
	sess.mu.Lock()
	if !sess.dirty {
		sess.mu.Unlock()
		return
	}
	clone := cloneState(sess.st)
	sess.dirty = false
	sess.mu.Unlock()

	data, err := s.prepare(clone, fullCheck)
	if err == nil {
		err = s.commit(data)
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if err != nil {
		sess.dirty = true // try again with the next update or at Close
		sess.err = err
		return
	}
	sess.err = nil
	sess.st.Version, sess.st.Lineage, sess.st.Serial = clone.Version, clone.Lineage, clone.Serial
}

// cloneState copies st deeply enough that the copy can be encoded while the
// original changes: resources, their maps and slices. Step args inside
// DeleteSteps are shared: they are never modified after planning.
func cloneState(st *contract.State) *contract.State {
	c := *st
	c.Outputs = maps.Clone(st.Outputs)
	c.Resources = make([]contract.ResourceState, len(st.Resources))
	for i, r := range st.Resources {
		r.Outputs = maps.Clone(r.Outputs)
		r.Steps = maps.Clone(r.Steps)
		r.DependsOn = append([]string(nil), r.DependsOn...)
		r.DeleteSteps = append([]contract.Step(nil), r.DeleteSteps...)
		if r.LastApplied != nil {
			t := *r.LastApplied
			r.LastApplied = &t
		}
		if r.LastVerified != nil {
			t := *r.LastVerified
			r.LastVerified = &t
		}
		c.Resources[i] = r
	}
	return &c
}
