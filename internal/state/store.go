package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/clockwork-iac/clockwork/internal/atomicfile"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

// File names inside the state directory.
const (
	StateFile   = "state.json"
	BackupFile  = "state.json.backup"
	ErroredFile = "errored-state.json"
)

// ErrStateConflict is returned when a write would replace state of another
// lineage, or state with a newer serial than the one being written.
var ErrStateConflict = errors.New("state conflict")

// Store reads and writes the state in one directory (<config>/.clockwork).
type Store struct {
	dir string

	mu       sync.Mutex
	lock     *Lock    // guarded by mu: the lock this process holds, or nil
	backedUp bool     // guarded by mu: backup taken under the current lock
	head     diskHead // guarded by mu: what is known of state.json on disk
}

// diskHead caches the lineage and serial of state.json together with the
// file identity they were read from, so writes need not re-read it.
type diskHead struct {
	known   bool
	exists  bool
	id      fileID
	lineage string
	serial  int64
}

type fileID struct {
	dev, ino uint64
	size     int64
	mtime    int64
}

// Open returns the store for the state directory dir. Nothing is touched
// until the first call.
func Open(dir string) *Store { return &Store{dir: dir} }

// Dir is the state directory.
func (s *Store) Dir() string { return s.dir }

// Path is the path of state.json.
func (s *Store) Path() string { return filepath.Join(s.dir, StateFile) }

func (s *Store) lockPath() string { return filepath.Join(s.dir, LockFile) }

// New returns an empty state with a fresh random lineage and serial 0.
func New() *contract.State {
	return &contract.State{Version: contract.Version, Lineage: randomHex(16), Resources: []contract.ResourceState{}}
}

// CorruptError is returned by Load when state.json does not parse or does
// not match the schema.
type CorruptError struct {
	Path string
	// Backup is the path of state.json.backup, or "" when there is none.
	Backup string
	Err    error
}

func (e *CorruptError) Error() string {
	if e.Backup != "" {
		return fmt.Sprintf("state file %s is corrupt: %v\n%s exists and holds the state before the last operation; inspect it and copy it over %s to recover", e.Path, e.Err, e.Backup, e.Path)
	}
	return fmt.Sprintf("state file %s is corrupt (and there is no %s): %v", e.Path, BackupFile, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// Load reads and validates state.json. It returns nil and no error when there
// is no state yet.
func (s *Store) Load() (*contract.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := s.Path()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		s.head = diskHead{known: true}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	st, err := contract.ParseState(data)
	if err != nil {
		ce := &CorruptError{Path: path, Err: err}
		if _, err := os.Stat(filepath.Join(s.dir, BackupFile)); err == nil {
			ce.Backup = filepath.Join(s.dir, BackupFile)
		}
		return nil, ce
	}
	if st.Resources == nil {
		st.Resources = []contract.ResourceState{}
	}
	s.head = diskHead{known: true, exists: true, id: idOf(fi), lineage: st.Lineage, serial: st.Serial}
	return st, nil
}

// Save writes st as the new state.json. The caller must hold the lock. It
// refuses (ErrStateConflict) to replace state of another lineage or with a
// newer serial than st's; on success st.Serial is one more than before and
// st.Lineage is set (a fresh one if st had none and there is no state).
func (s *Store) Save(st *contract.State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	clone := cloneState(st)
	data, err := s.prepare(clone, true)
	if err != nil {
		return err
	}
	if err := s.commit(data); err != nil {
		return err
	}
	st.Version, st.Lineage, st.Serial = clone.Version, clone.Lineage, clone.Serial
	return nil
}

// prepare checks the lock and the state on disk, bumps st's serial, sorts
// its resources and encodes it, checked against the JSON Schema when
// fullCheck, else by checkState (the same rules for the typed state, at a
// fraction of the cost). s.mu is held.
func (s *Store) prepare(st *contract.State, fullCheck bool) ([]byte, error) {
	if s.lock == nil {
		return nil, fmt.Errorf("save state: %w", ErrNotLocked)
	}
	if !s.lock.valid() {
		return nil, fmt.Errorf("save state: %w", ErrLockLost)
	}
	head, err := s.readHead()
	if err != nil {
		return nil, fmt.Errorf("save state: %w", err)
	}
	if head.exists {
		if st.Lineage != head.lineage {
			return nil, fmt.Errorf("save state: %w: %s belongs to lineage %q, this state to %q; refusing to overwrite unrelated state", ErrStateConflict, s.Path(), head.lineage, st.Lineage)
		}
		if st.Serial < head.serial {
			return nil, fmt.Errorf("save state: %w: %s has serial %d, newer than this state's %d (written by another operation since it was read)", ErrStateConflict, s.Path(), head.serial, st.Serial)
		}
	} else if st.Lineage == "" {
		st.Lineage = randomHex(16)
	}
	st.Version = contract.Version
	st.Serial++
	if st.Resources == nil {
		st.Resources = []contract.ResourceState{}
	}
	sort.SliceStable(st.Resources, func(i, j int) bool { return st.Resources[i].Address < st.Resources[j].Address })
	if !fullCheck {
		if err := checkState(st); err != nil {
			return nil, fmt.Errorf("save state: %w", err)
		}
		data, err := contract.Marshal(st)
		if err != nil {
			return nil, fmt.Errorf("save state: %w", err)
		}
		return data, nil
	}
	data, err := contract.MarshalValidated(contract.SchemaState, st)
	if err != nil {
		return nil, fmt.Errorf("save state: %w", err)
	}
	return data, nil
}

// readHead returns the lineage and serial on disk, re-reading state.json only
// when its identity changed since we last read or wrote it. s.mu is held.
func (s *Store) readHead() (diskHead, error) {
	fi, err := os.Stat(s.Path())
	if errors.Is(err, fs.ErrNotExist) {
		s.head = diskHead{known: true}
		return s.head, nil
	}
	if err != nil {
		return diskHead{}, err
	}
	if s.head.known && s.head.exists && s.head.id == idOf(fi) {
		return s.head, nil
	}
	data, err := os.ReadFile(s.Path())
	if err != nil {
		return diskHead{}, err
	}
	var h struct {
		Version string `json:"version"`
		Lineage string `json:"lineage"`
		Serial  int64  `json:"serial"`
	}
	if err := json.Unmarshal(data, &h); err != nil || h.Lineage == "" {
		return diskHead{}, &CorruptError{Path: s.Path(), Err: fmt.Errorf("no lineage and serial: %v; refusing to overwrite it", err)}
	}
	if h.Version != contract.Version {
		return diskHead{}, fmt.Errorf("%w: %s has format version %q, this clockwork writes %q; refusing to overwrite it", ErrStateConflict, s.Path(), h.Version, contract.Version)
	}
	s.head = diskHead{known: true, exists: true, id: idOf(fi), lineage: h.Lineage, serial: h.Serial}
	return s.head, nil
}

// SaveError is returned when the new state could not be written. The
// previous state.json is intact.
type SaveError struct {
	Path string
	// Errored is where the new state was written instead ("" if nowhere).
	Errored string
	Err     error
}

func (e *SaveError) Error() string {
	if e.Errored != "" {
		return fmt.Sprintf("write state %s: %v; the previous state is intact; the new state was written to %s: move it over %s once the problem is fixed", e.Path, e.Err, e.Errored, StateFile)
	}
	return fmt.Sprintf("write state %s: %v; the previous state is intact; the new state could not be written anywhere", e.Path, e.Err)
}

func (e *SaveError) Unwrap() error { return e.Err }

// commit writes data as state.json atomically, after backing up the current
// file once per lock. s.mu is held.
func (s *Store) commit(data []byte) error {
	path := s.Path()
	if !s.backedUp {
		if s.head.exists {
			if err := s.backup(); err != nil {
				return s.errored(data, fmt.Errorf("back up state: %w", err))
			}
		}
		s.backedUp = true
	}
	if err := atomicfile.Write(filepath.Join(s.dir, StateFile), data, 0o644); err != nil {
		return s.errored(data, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		s.head = diskHead{}
		return nil
	}
	var h struct {
		Lineage string `json:"lineage"`
		Serial  int64  `json:"serial"`
	}
	_ = json.Unmarshal(data, &h)
	s.head = diskHead{known: true, exists: true, id: idOf(fi), lineage: h.Lineage, serial: h.Serial}
	return nil
}

// backup makes state.json.backup a hard link to (or else a copy of) the
// current state.json, atomically.
func (s *Store) backup() error {
	tmp := filepath.Join(s.dir, "."+BackupFile+".tmp")
	_ = os.Remove(tmp)
	if err := os.Link(s.Path(), tmp); err != nil {
		data, rerr := os.ReadFile(s.Path())
		if rerr != nil {
			return rerr
		}
		if err := atomicfile.Write(filepath.Join(s.dir, BackupFile), data, 0o644); err != nil {
			return err
		}
		return nil
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, BackupFile)); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// errored writes data to errored-state.json in the state directory or, if
// that fails, beside it, and returns the SaveError for cause.
func (s *Store) errored(data []byte, cause error) error {
	se := &SaveError{Path: s.Path(), Err: cause}
	for _, dir := range []string{s.dir, filepath.Dir(s.dir)} {
		p := filepath.Join(dir, ErroredFile)
		if err := os.WriteFile(p, data, 0o644); err == nil {
			se.Errored = p
			break
		}
		_ = os.Remove(p)
	}
	return se
}

func idOf(fi fs.FileInfo) fileID {
	id := fileID{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.dev, id.ino = uint64(st.Dev), st.Ino
	}
	return id
}

// ErrStalePlan is returned by CheckPlan for a plan made against other state.
var ErrStalePlan = errors.New("stale plan")

// CheckPlan refuses a plan (or a bundle built from one) that was made against
// state other than current: another lineage or an older serial. current may
// be nil (no state yet); planLineage "" means the plan saw no state.
func CheckPlan(current *contract.State, planLineage string, planSerial int64) error {
	if current == nil {
		if planLineage != "" {
			return fmt.Errorf("%w: it was made against state %s serial %d, but there is no state now; plan again", ErrStalePlan, planLineage, planSerial)
		}
		return nil
	}
	if planLineage != "" && planLineage != current.Lineage {
		return fmt.Errorf("%w: it was made against state lineage %s, the state is lineage %s; plan again", ErrStalePlan, planLineage, current.Lineage)
	}
	if planLineage == "" || planSerial < current.Serial {
		return fmt.Errorf("%w: it was made against state serial %d, the state is now at serial %d; plan again", ErrStalePlan, planSerial, current.Serial)
	}
	return nil
}

// checkState enforces on a typed state what the state schema enforces and
// the Go types do not: version, lineage, serial, non-empty address and type,
// and the status enums. Session writes between the first and the last use
// it instead of the JSON Schema, whose check costs ~70 µs per resource.
func checkState(st *contract.State) error {
	var problems []string
	if st.Version != contract.Version {
		problems = append(problems, fmt.Sprintf("/version: must be %q", contract.Version))
	}
	if st.Lineage == "" {
		problems = append(problems, "/lineage: empty")
	}
	if st.Serial < 0 {
		problems = append(problems, "/serial: negative")
	}
	for i, r := range st.Resources {
		p := fmt.Sprintf("/resources/%d", i)
		if r.Address == "" {
			problems = append(problems, p+"/address: empty")
		}
		if r.Type == "" {
			problems = append(problems, p+"/type: empty")
		}
		switch r.Status {
		case contract.StatusApplied, contract.StatusFailed, contract.StatusPartial:
		default:
			problems = append(problems, fmt.Sprintf("%s/status: %q is not applied, failed or partial", p, r.Status))
		}
		for id, s := range r.Steps {
			if s.Status != "ok" && s.Status != "failed" {
				problems = append(problems, fmt.Sprintf("%s/steps/%s/status: %q is not ok or failed", p, id, s.Status))
			}
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return &contract.SchemaError{Schema: contract.SchemaState, Problems: problems}
	}
	return nil
}
