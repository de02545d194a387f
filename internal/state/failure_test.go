package state

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

// mount runs mount(8) and registers the unmount; it skips the test where
// mounting is not allowed (not root, no CAP_SYS_ADMIN).
func mount(t *testing.T, args ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount")
	}
	target := args[len(args)-1]
	if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
		t.Skipf("mount %v: %v: %s", args, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", target).Run() })
}

func bigState(n int) *contract.State {
	st := sample()
	for i := range n {
		st.Resources = append(st.Resources, contract.ResourceState{
			Address: "file.f" + strings.Repeat("x", 40) + string(rune('a'+i%26)) + strings.Repeat("y", i%50),
			Type:    "file", ConfigHash: "sha256:" + strings.Repeat("0", 64), Status: contract.StatusApplied,
		})
	}
	return st
}

func TestSaveOnReadOnlyDir(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, ".clockwork")
	s := Open(dir)
	mustLock(t, s)
	st := sample()
	if err := s.Save(st); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(s.Path())
	mount(t, "--bind", dir, dir)
	mount(t, "-o", "remount,bind,ro", dir)

	st.Resources[0].Status = contract.StatusFailed
	err := s.Save(st)
	var se *SaveError
	if !errors.As(err, &se) {
		t.Fatalf("Save on a read-only dir: %v, want *SaveError", err)
	}
	want := filepath.Join(parent, ErroredFile)
	if se.Errored != want || !strings.Contains(err.Error(), "previous state is intact") || !strings.Contains(err.Error(), want) {
		t.Errorf("error %q (errored %q), want it to say the previous state is intact and name %s", err, se.Errored, want)
	}
	after, _ := os.ReadFile(s.Path())
	if string(before) != string(after) {
		t.Error("state.json changed")
	}
	if _, err := Open(dir).Load(); err != nil {
		t.Errorf("previous state does not load: %v", err)
	}
	b, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if est, err := contract.ParseState(b); err != nil || est.Resources[1].Status != contract.StatusFailed {
		t.Errorf("errored state: %v, %+v", err, est)
	}
}

func TestSaveOnFullDisk(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, ".clockwork")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mount(t, "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir)
	s := Open(dir)
	mustLock(t, s)
	st := sample()
	if err := s.Save(st); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(s.Path())
	big := bigState(1000) // about 200 KB: does not fit
	big.Lineage, big.Serial = st.Lineage, st.Serial
	err := s.Save(big)
	var se *SaveError
	if !errors.As(err, &se) {
		t.Fatalf("Save on a full disk: %v, want *SaveError", err)
	}
	if se.Errored != filepath.Join(parent, ErroredFile) {
		t.Errorf("errored state at %q, want beside the full state dir", se.Errored)
	}
	after, _ := os.ReadFile(s.Path())
	if string(before) != string(after) {
		t.Error("state.json changed")
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(tmps) != 0 {
		t.Errorf("temp files left on the full disk: %v", tmps)
	}
	if _, err := Open(dir).Load(); err != nil {
		t.Errorf("previous state does not load: %v", err)
	}
}
