package state

import (
	"fmt"
	"testing"
	"time"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

func benchState(n int) *contract.State {
	st := New()
	now := time.Now().UTC().Truncate(time.Second)
	for i := range n {
		addr := fmt.Sprintf("file.f%05d", i)
		st.Resources = append(st.Resources, contract.ResourceState{
			Address: addr, Type: "file", Provider: "local", ConfigHash: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			Status: contract.StatusApplied, LastApplied: &now, BundleFingerprint: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			Steps: map[string]contract.StepState{addr + "/ensure_file": {Status: "ok", ConfigHash: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", Finished: &now}},
		})
	}
	return st
}

// BenchmarkSave1000 measures one full write of a 1,000-resource state
// (clone, encode, schema check, temp file, fsync, rename, dir fsync).
func BenchmarkSave1000(b *testing.B) {
	s := Open(b.TempDir())
	l, err := s.Lock(b.Context(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Unlock()
	st := benchState(1000)
	for b.Loop() {
		if err := s.Save(st); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode1000(b *testing.B) {
	st := benchState(1000)
	for b.Loop() {
		if _, err := contract.MarshalValidated(contract.SchemaState, cloneState(st)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshal1000(b *testing.B) {
	st := benchState(1000)
	for b.Loop() {
		if _, err := contract.Marshal(cloneState(st)); err != nil {
			b.Fatal(err)
		}
	}
}
