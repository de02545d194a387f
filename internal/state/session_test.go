package state

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

func TestSessionGroupCommit(t *testing.T) {
	dir := t.TempDir()
	s := Open(dir)
	mustLock(t, s)
	sess := s.Begin(nil)
	const n = 1000
	var wg sync.WaitGroup
	for w := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 10 {
				sess.Update(func(st *contract.State) {
					st.Resources = append(st.Resources, contract.ResourceState{
						Address: fmt.Sprintf("file.f%04d", i), Type: "file", Status: contract.StatusApplied,
					})
				})
			}
		}()
	}
	wg.Wait()
	if err := sess.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st, err := Open(dir).Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Resources) != n {
		t.Fatalf("%d resources on disk, want %d", len(st.Resources), n)
	}
	for i, r := range st.Resources {
		if want := fmt.Sprintf("file.f%04d", i); r.Address != want {
			t.Fatalf("resource %d is %s, want %s (sorted)", i, r.Address, want)
		}
	}
	if st.Serial < 1 || st.Serial > n/4 {
		t.Errorf("serial %d after %d updates: want a few group commits, not one write per update", st.Serial, n)
	}
	sess.View(func(mem *contract.State) {
		if mem.Serial != st.Serial {
			t.Errorf("in-memory serial %d, on disk %d", mem.Serial, st.Serial)
		}
	})
	if err := sess.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestSessionFlushAndErr(t *testing.T) {
	dir := t.TempDir()
	s := Open(dir)
	l := mustLock(t, s)
	sess := s.Begin(nil)
	sess.Update(func(st *contract.State) {
		st.Resources = append(st.Resources, contract.ResourceState{Address: "a.b", Type: "a", Status: contract.StatusPartial})
	})
	if err := sess.Flush(); err != nil {
		t.Fatal(err)
	}
	if st, err := Open(dir).Load(); err != nil || st == nil || len(st.Resources) != 1 {
		t.Fatalf("after Flush: %+v, %v", st, err)
	}
	_ = l.Unlock()
	sess.Update(func(st *contract.State) { st.Resources[0].Status = contract.StatusApplied })
	if err := sess.Close(); err == nil {
		t.Error("Close after the lock was released: no error")
	}
}

func TestCheckPlan(t *testing.T) {
	cur := &contract.State{Version: "1", Lineage: "L", Serial: 5}
	tests := []struct {
		name    string
		cur     *contract.State
		lineage string
		serial  int64
		stale   bool
	}{
		{"no state, fresh plan", nil, "", 0, false},
		{"no state, plan saw some", nil, "L", 5, true},
		{"same serial", cur, "L", 5, false},
		{"older serial", cur, "L", 4, true},
		{"other lineage", cur, "M", 5, true},
		{"plan saw no state, state exists", cur, "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPlan(tt.cur, tt.lineage, tt.serial)
			if got := errors.Is(err, ErrStalePlan); got != tt.stale {
				t.Errorf("CheckPlan = %v, stale %v, want %v", err, got, tt.stale)
			}
		})
	}
}

// TestCheckStateAgreesWithSchema keeps the fast check used by background
// session writes in step with the JSON Schema.
func TestCheckStateAgreesWithSchema(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*contract.State)
	}{
		{"valid", func(*contract.State) {}},
		{"version", func(st *contract.State) { st.Version = "2" }},
		{"lineage", func(st *contract.State) { st.Lineage = "" }},
		{"serial", func(st *contract.State) { st.Serial = -1 }},
		{"address", func(st *contract.State) { st.Resources[0].Address = "" }},
		{"type", func(st *contract.State) { st.Resources[0].Type = "" }},
		{"status", func(st *contract.State) { st.Resources[0].Status = "done" }},
		{"step status", func(st *contract.State) {
			st.Resources[0].Steps = map[string]contract.StepState{"x/y": {Status: "maybe"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := sample()
			tt.mutate(st)
			fast := checkState(st)
			if tt.name == "valid" {
				if fast != nil {
					t.Fatalf("checkState of a valid state: %v", fast)
				}
			} else if fast == nil {
				t.Fatal("checkState accepted an invalid state")
			}
			b, _ := contract.Marshal(st)
			if full := contract.ValidateJSON(contract.SchemaState, b); (full == nil) != (fast == nil) {
				t.Errorf("schema says %v, checkState says %v", full, fast)
			}
		})
	}
}
