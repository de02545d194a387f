package assembly

import (
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/ir"
)

// cfgBuilder builds an ir.Config by hand, giving each resource its own
// lines of main.cw so ranges are distinct and realistic.
type cfgBuilder struct {
	cfg  ir.Config
	line int
}

func newCfg() *cfgBuilder { return &cfgBuilder{cfg: ir.Config{Dir: "."}, line: 1} }

// add declares resource TYPE.NAME with attrs and dependencies.
func (b *cfgBuilder) add(typ, name string, attrs map[string]cty.Value, deps ...string) *ir.Resource {
	return b.addRes(&ir.Resource{Type: typ, Name: name, Addr: typ + "." + name, Provider: "local"}, attrs, deps...)
}

func (b *cfgBuilder) addRes(r *ir.Resource, attrs map[string]cty.Value, deps ...string) *ir.Resource {
	start := b.line
	r.DeclRange = rangeAt(start, 1)
	r.AttrRanges = map[string]hcl.Range{}
	k := 1
	for _, n := range sortedAttrNames(attrs) {
		r.AttrRanges[n] = rangeAt(start+k, 3)
		k++
	}
	b.line += k + 2
	if len(attrs) == 0 {
		r.Attrs = cty.EmptyObjectVal
	} else {
		r.Attrs = cty.ObjectVal(attrs)
	}
	r.DependsOn = deps
	b.cfg.Resources = append(b.cfg.Resources, r)
	return r
}

func (b *cfgBuilder) build() *ir.Config {
	c := b.cfg
	c.Resources = append([]*ir.Resource(nil), b.cfg.Resources...)
	return &c
}

func rangeAt(line, col int) hcl.Range {
	return hcl.Range{
		Filename: "main.cw",
		Start:    hcl.Pos{Line: line, Column: col, Byte: line * 100},
		End:      hcl.Pos{Line: line, Column: col + 10, Byte: line*100 + 10},
	}
}

func sortedAttrNames(m map[string]cty.Value) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func str(s string) cty.Value { return cty.StringVal(s) }
func num(n int64) cty.Value  { return cty.NumberIntVal(n) }
func strs(ss ...string) cty.Value {
	vs := make([]cty.Value, len(ss))
	for i, s := range ss {
		vs[i] = cty.StringVal(s)
	}
	return cty.ListVal(vs)
}

func deferred(addr, attr, key string) cty.Value {
	return cty.UnknownVal(cty.String).Mark(ir.Deferred{Resource: addr, Attr: attr, Key: key})
}

func secret(v cty.Value) cty.Value { return v.Mark(ir.Sensitive) }

// appliedState records the plan's resources as applied, as forge would.
func appliedState(p *Plan) *contract.State {
	st := &contract.State{Version: contract.Version, Lineage: "lineage-1", Serial: 3}
	for _, a := range sortedInfoKeys(p.Resources) {
		ri := p.Resources[a]
		if ri.Change == contract.ChangeDelete {
			continue
		}
		st.Resources = append(st.Resources, contract.ResourceState{
			Address: a, Type: ri.Type, Provider: ri.Provider, ConfigHash: ri.ConfigHash,
			DependsOn: ri.DependsOn, Status: contract.StatusApplied,
			DeleteSteps: p.DeleteSteps[a], PreventDestroy: ri.PreventDestroy,
		})
	}
	return st
}

func sortedInfoKeys(m map[string]ResourceInfo) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func deferredMark(addr, attr, key string) ir.Deferred {
	return ir.Deferred{Resource: addr, Attr: attr, Key: key}
}

// instance describes an instance resource (with a count or for_each key).
type instance struct {
	Type, Name string
	Key        any
}

func (x instance) res() *ir.Resource {
	addr := x.Type + "." + x.Name
	switch k := x.Key.(type) {
	case int:
		addr += "[" + strconv.Itoa(k) + "]"
	case string:
		addr += "[" + strconv.Quote(k) + "]"
	}
	return &ir.Resource{Type: x.Type, Name: x.Name, Key: x.Key, Addr: addr, Provider: "local"}
}

type irOutput = ir.Output
