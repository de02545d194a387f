package assembly

import (
	"fmt"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/clockwork-iac/clockwork/internal/ir"
)

// benchConfig returns n file resources, independent or each depending on
// the previous one (a chain).
func benchConfig(n int, chain bool) *ir.Config {
	b := newCfg()
	for i := 0; i < n; i++ {
		var deps []string
		if chain && i > 0 {
			deps = []string{fmt.Sprintf("file.f%05d", i-1)}
		}
		b.add("file", fmt.Sprintf("f%05d", i), map[string]cty.Value{
			"path":    cty.StringVal(fmt.Sprintf("out/f%05d.txt", i)),
			"content": cty.StringVal(fmt.Sprintf("file number %d\n", i)),
			"mode":    cty.StringVal("0644"),
		}, deps...)
	}
	return b.build()
}

func benchBuild(b *testing.B, n int, chain bool) {
	cfg := benchConfig(n, chain)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, diags := Build(cfg, nil, Options{})
		if diags.HasErrors() || len(p.ActionList.Steps) != n {
			b.Fatalf("Build: %v, %d steps", diags, len(p.ActionList.Steps))
		}
	}
}

func BenchmarkBuild1k(b *testing.B) {
	b.Run("independent", func(b *testing.B) { benchBuild(b, 1000, false) })
	b.Run("chain", func(b *testing.B) { benchBuild(b, 1000, true) })
}

func BenchmarkBuild10k(b *testing.B) {
	b.Run("independent", func(b *testing.B) { benchBuild(b, 10000, false) })
	b.Run("chain", func(b *testing.B) { benchBuild(b, 10000, true) })
}

// TestBuildLongChain checks a long chain plans in order and destroys in
// reverse order (no recursion limit, no quadratic work).
func TestBuildLongChain(t *testing.T) {
	const n = 4000
	cfg := benchConfig(n, true)
	p, diags := Build(cfg, nil, Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	for i, s := range p.ActionList.Steps {
		if want := fmt.Sprintf("file.f%05d/ensure_file", i); s.ID != want {
			t.Fatalf("step %d is %s, want %s", i, s.ID, want)
		}
	}
	st := appliedState(p)
	d, diags := Build(cfg, st, Options{Destroy: true})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if first, last := d.ActionList.Steps[0].ID, d.ActionList.Steps[n-1].ID; first != fmt.Sprintf("file.f%05d/remove_file", n-1) || last != "file.f00000/remove_file" {
		t.Errorf("destroy order: first %s, last %s", first, last)
	}
}
