package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/gofrs/flock"
	"github.com/google/go-cmp/cmp"
)

func mustLock(t *testing.T, s *Store) *Lock {
	t.Helper()
	l, err := s.Lock(t.Context(), "test")
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	t.Cleanup(func() { _ = l.Unlock() })
	return l
}

func sample() *contract.State {
	st := New()
	ts := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
	st.Resources = []contract.ResourceState{
		{Address: "file.b", Type: "file", ConfigHash: "sha256:b", Status: contract.StatusApplied, LastApplied: &ts,
			Outputs: map[string]string{"K": "v"},
			Steps:   map[string]contract.StepState{"file.b/ensure_file": {Status: "ok", ConfigHash: "sha256:b", Finished: &ts}}},
		{Address: "directory.a", Type: "directory", ConfigHash: "sha256:a", Status: contract.StatusPartial},
	}
	return st
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".clockwork")
	s := Open(dir)
	if st, err := s.Load(); err != nil || st != nil {
		t.Fatalf("Load of no state = %v, %v; want nil, nil", st, err)
	}
	mustLock(t, s)
	st := sample()
	if err := s.Save(st); err != nil {
		t.Fatalf("Save: %v", err)
	}
	if st.Serial != 1 {
		t.Errorf("serial after first save = %d, want 1", st.Serial)
	}
	got, err := Open(dir).Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := sample()
	want.Lineage, want.Serial = st.Lineage, 1
	want.Resources[0], want.Resources[1] = want.Resources[1], want.Resources[0] // sorted by address
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("loaded state (-want +got):\n%s", d)
	}
	if err := s.Save(got); err != nil {
		t.Fatalf("second Save: %v", err)
	}
	if got.Serial != 2 {
		t.Errorf("serial after second save = %d, want 2", got.Serial)
	}
	if _, err := os.Stat(filepath.Join(dir, BackupFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("backup after saves of a new state under one lock: %v, want none", err)
	}
	tmps, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(tmps) != 0 {
		t.Errorf("temp files left: %v", tmps)
	}
}

func TestBackupIsStateBeforeOperation(t *testing.T) {
	dir := t.TempDir()
	s := Open(dir)
	l := mustLock(t, s)
	st := sample()
	for range 3 {
		if err := s.Save(st); err != nil {
			t.Fatal(err)
		}
	}
	_ = l.Unlock()
	mustLock(t, s)
	for range 2 {
		if err := s.Save(st); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, BackupFile))
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	bst, err := contract.ParseState(b)
	if err != nil {
		t.Fatal(err)
	}
	if bst.Serial != 3 || st.Serial != 5 {
		t.Errorf("backup serial %d, state serial %d; want 3 (before this lock) and 5", bst.Serial, st.Serial)
	}
}

func TestSaveRefuses(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(st *contract.State)
		want   error
	}{
		{"other lineage", func(st *contract.State) { st.Lineage = "other" }, ErrStateConflict},
		{"older serial", func(st *contract.State) { st.Serial = 0 }, ErrStateConflict},
		{"invalid status", func(st *contract.State) { st.Resources[0].Status = "weird" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := Open(dir)
			mustLock(t, s)
			st := sample()
			if err := s.Save(st); err != nil {
				t.Fatal(err)
			}
			if err := s.Save(st); err != nil { // serial 2 on disk
				t.Fatal(err)
			}
			before, _ := os.ReadFile(s.Path())
			bad := cloneState(st)
			tt.mutate(bad)
			err := s.Save(bad)
			if err == nil {
				t.Fatal("Save succeeded, want an error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
			after, _ := os.ReadFile(s.Path())
			if string(before) != string(after) {
				t.Error("refused save changed state.json")
			}
		})
	}
	t.Run("without lock", func(t *testing.T) {
		s := Open(t.TempDir())
		if err := s.Save(sample()); !errors.Is(err, ErrNotLocked) {
			t.Errorf("Save without lock: %v, want ErrNotLocked", err)
		}
	})
	t.Run("state written by another store", func(t *testing.T) {
		dir := t.TempDir()
		a, b := Open(dir), Open(dir)
		la := mustLock(t, a)
		st := sample()
		if err := a.Save(st); err != nil {
			t.Fatal(err)
		}
		stale := cloneState(st) // serial 1
		if err := a.Save(st); err != nil {
			t.Fatal(err)
		}
		_ = la.Unlock()
		mustLock(t, b)
		if err := b.Save(stale); !errors.Is(err, ErrStateConflict) {
			t.Errorf("saving serial 1 over serial 2: %v, want ErrStateConflict", err)
		}
	})
}

func TestLoadCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		backup        bool
	}{
		{"truncated", `{"version":"1","lineage":"x","ser`, true},
		{"schema", `{"version":"2","lineage":"x","serial":1,"resources":[]}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, StateFile), []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.backup {
				_ = os.WriteFile(filepath.Join(dir, BackupFile), []byte("{}"), 0o644)
			}
			_, err := Open(dir).Load()
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("Load: %v, want *CorruptError", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, filepath.Join(dir, StateFile)) {
				t.Errorf("error does not name the file: %s", msg)
			}
			if got := strings.Contains(msg, BackupFile+" exists"); got != tc.backup {
				t.Errorf("error mentions existing backup = %v, want %v: %s", got, tc.backup, msg)
			}
			// A corrupt state is never overwritten.
			s := Open(dir)
			mustLock(t, s)
			st := sample()
			st.Lineage = "x"
			if err := s.Save(st); err == nil {
				t.Error("Save over a corrupt state succeeded")
			}
			if b, _ := os.ReadFile(filepath.Join(dir, StateFile)); string(b) != tc.content {
				t.Error("corrupt state.json was changed")
			}
		})
	}
}

func TestLockHeld(t *testing.T) {
	dir := t.TempDir()
	a, b := Open(dir), Open(dir)
	la, err := a.Lock(t.Context(), "apply")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = b.Lock(t.Context(), "destroy")
	if time.Since(start) > time.Second {
		t.Errorf("second Lock took %v, want at once", time.Since(start))
	}
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second Lock: %v, want *LockedError", err)
	}
	if d := cmp.Diff(la.Info, le.Info); d != "" {
		t.Errorf("holder info (-want +got):\n%s", d)
	}
	if le.Stale || !strings.Contains(err.Error(), fmt.Sprintf(`"apply" (pid %d`, os.Getpid())) || !strings.Contains(err.Error(), "wait for it") {
		t.Errorf("message %q (stale %v) should name the live holder", err, le.Stale)
	}
	if err := la.Unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, LockFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file after unlock: %v", err)
	}
	lb, err := b.Lock(t.Context(), "destroy")
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	if lb.Recovered != nil {
		t.Errorf("Recovered = %+v after a clean unlock", lb.Recovered)
	}
	_ = lb.Unlock()
}

func deadPid(t *testing.T) int {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func TestStaleLockAndForceUnlock(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, LockFile)
	host, _ := os.Hostname()
	info := LockInfo{ID: "deadbeef", PID: deadPid(t), Host: host, Time: time.Now().UTC().Truncate(time.Second), Operation: "apply"}
	data, _ := json.Marshal(info)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// The flock is still held (as by a descendant that inherited it) while
	// the recorded pid is dead.
	holder := flock.New(path)
	if ok, err := holder.TryLock(); !ok || err != nil {
		t.Fatalf("hold lock: %v %v", ok, err)
	}
	defer holder.Close()

	s := Open(dir)
	_, err := s.Lock(t.Context(), "apply")
	var le *LockedError
	if !errors.As(err, &le) || !le.Stale {
		t.Fatalf("Lock: %v, want a stale *LockedError", err)
	}
	if !strings.Contains(err.Error(), "no longer running") || !strings.Contains(err.Error(), "clockwork force-unlock deadbeef") {
		t.Errorf("message should explain the stale lock and give the command: %s", err)
	}
	if err := s.ForceUnlock("cafe"); err == nil {
		t.Error("ForceUnlock with the wrong id succeeded")
	}
	if err := s.ForceUnlock("deadbeef"); err != nil {
		t.Fatalf("ForceUnlock: %v", err)
	}
	l, err := s.Lock(t.Context(), "apply")
	if err != nil {
		t.Fatalf("Lock after force-unlock: %v", err)
	}
	_ = l.Unlock()
	if err := s.ForceUnlock("deadbeef"); err == nil {
		t.Error("ForceUnlock of an unlocked state succeeded")
	}
}

func TestCrashedHolderIsRecovered(t *testing.T) {
	dir := t.TempDir()
	info := LockInfo{ID: "abad1dea", PID: deadPid(t), Host: "h", Operation: "apply"}
	data, _ := json.Marshal(info)
	if err := os.WriteFile(filepath.Join(dir, LockFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Open(dir).Lock(t.Context(), "apply")
	if err != nil {
		t.Fatalf("Lock over a crashed holder's file: %v", err)
	}
	defer l.Unlock()
	if l.Recovered == nil || l.Recovered.ID != "abad1dea" {
		t.Errorf("Recovered = %+v, want the crashed holder", l.Recovered)
	}
}

func TestForceUnlockedHolderLosesLock(t *testing.T) {
	dir := t.TempDir()
	s := Open(dir)
	l := mustLock(t, s)
	st := sample()
	if err := s.Save(st); err != nil {
		t.Fatal(err)
	}
	if err := Open(dir).ForceUnlock(l.Info.ID); err != nil {
		t.Fatal(err)
	}
	other := Open(dir)
	lo := mustLock(t, other)
	if err := s.Save(st); !errors.Is(err, ErrLockLost) {
		t.Errorf("Save after force-unlock: %v, want ErrLockLost", err)
	}
	_ = l.Unlock() // must not remove the new holder's lock file
	if _, err := Open(dir).Lock(t.Context(), "x"); !IsLocked(err) {
		t.Errorf("lock after the old holder unlocked: %v, want still held by %s", err, lo.Info.ID)
	}
}

// TestLockContention starts ten processes that try to lock one directory at
// the same moment: exactly one wins, the others fail naming it.
func TestLockContention(t *testing.T) {
	if dir := os.Getenv("CW_STATE_LOCK_HELPER"); dir != "" {
		lockHelper(dir)
		return
	}
	dir := t.TempDir()
	at := time.Now().Add(700 * time.Millisecond).UnixNano()
	const n = 10
	cmds := make([]*exec.Cmd, n)
	outs := make([]*strings.Builder, n)
	for i := range n {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLockContention$")
		cmd.Env = append(os.Environ(), "CW_STATE_LOCK_HELPER="+dir, fmt.Sprintf("CW_STATE_LOCK_AT=%d", at))
		outs[i] = &strings.Builder{}
		cmd.Stdout = outs[i]
		cmd.Stderr = outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	won, locked := 0, 0
	var winner int
	for i, cmd := range cmds {
		_ = cmd.Wait()
		out := outs[i].String()
		switch {
		case strings.Contains(out, "WON"):
			won++
			winner = cmd.Process.Pid
		case strings.Contains(out, "LOCKED"):
			locked++
		default:
			t.Errorf("helper %d: %s", i, out)
		}
	}
	if won != 1 || locked != n-1 {
		t.Fatalf("won %d, locked %d; want 1 and %d", won, locked, n-1)
	}
	for i := range cmds {
		out := outs[i].String()
		if strings.Contains(out, "LOCKED") && !strings.Contains(out, fmt.Sprintf("(pid %d ", winner)) {
			t.Errorf("refused helper does not name the winner %d: %s", winner, out)
		}
	}
}

func lockHelper(dir string) {
	var at int64
	fmt.Sscan(os.Getenv("CW_STATE_LOCK_AT"), &at)
	time.Sleep(time.Until(time.Unix(0, at)))
	l, err := Open(dir).Lock(context.Background(), "apply")
	if err != nil {
		fmt.Println("LOCKED", err)
		_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("refused-%d", os.Getpid())), nil, 0o644)
		os.Exit(0)
	}
	fmt.Println("WON")
	// Hold the lock until every other helper was refused (or 30s passed),
	// so a helper that starts late cannot find it free.
	for range 3000 {
		if m, _ := filepath.Glob(filepath.Join(dir, "refused-*")); len(m) >= 9 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = l.Unlock()
	os.Exit(0)
}
