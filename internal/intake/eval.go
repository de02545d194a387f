package intake

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/clockwork-iac/clockwork/internal/ir"
	"github.com/clockwork-iac/clockwork/internal/schema"
)

// maxInstances bounds count and for_each so no input can make Load hang.
const maxInstances = 100000

// value is an evaluated local, module output or input with the resource
// instance addresses it depends on.
type value struct {
	v    cty.Value
	deps []string
}

// modEval evaluates one module instance (the root, or one module call).
type modEval struct {
	l    *loader
	d    *moduleDecl
	path string // "" for the root, "module.a", "module.a.module.b"

	vars      map[string]cty.Value
	varDeps   map[string][]string
	extraDeps []string // from depends_on of the module call, for every resource

	locals map[string]*value
	res    map[string]*resVal
	calls  map[string]*callVal

	rootOutputs  []*ir.Output
	childOutputs map[string]*value
}

type resVal struct {
	decl   *resourceDecl
	failed bool
	mode   int // 0 single, 1 count, 2 for_each
	insts  []*instVal
}

type instVal struct {
	addr  string
	key   any // nil, int or string
	attrs cty.Value
	obj   cty.Value // what a reference sees: attrs + computed; built on first use
}

type callVal struct {
	failed  bool
	outputs map[string]*value
	// resources are every resource instance of the module and its children:
	// what depends_on = [module.NAME] and a reference to the whole module
	// depend on.
	resources []string
}

// node is a local, resource or module call in the evaluation graph.
type node struct {
	id    string // "local.x", "TYPE.NAME", "module.x"
	rng   hcl.Range
	travs []hcl.Traversal
	// depTravs are depends_on entries: edges, but no values.
	depTravs []hcl.Traversal
	// what the node allows: count.index / each.*
	count, each bool
	local       *localDecl
	res         *resourceDecl
	call        *callDecl
	edges       []string
}

func newModEval(l *loader, d *moduleDecl, path string, vars map[string]cty.Value, varDeps map[string][]string) *modEval {
	if varDeps == nil {
		varDeps = map[string][]string{}
	}
	return &modEval{l: l, d: d, path: path, vars: vars, varDeps: varDeps,
		locals: map[string]*value{}, res: map[string]*resVal{}, calls: map[string]*callVal{},
		childOutputs: map[string]*value{}}
}

func (m *modEval) addr(local string) string {
	if m.path == "" {
		return local
	}
	return m.path + "." + local
}

func (m *modEval) run() {
	nodes := m.nodes()
	order, cycles := topoOrder(nodes)
	for _, cyc := range cycles {
		m.reportCycle(cyc)
		for _, n := range cyc {
			m.fail(n)
		}
	}
	for _, n := range order {
		if err := m.l.ctx.Err(); err != nil {
			m.l.errorf(nil, "Loading canceled", "%v.", err)
			return
		}
		switch {
		case n.local != nil:
			m.evalLocal(n)
		case n.res != nil:
			m.evalResource(n)
		case n.call != nil:
			m.evalCall(n)
		}
	}
	m.evalOutputs()
}

func (m *modEval) fail(n *node) {
	switch {
	case n.local != nil:
		m.locals[n.local.name] = &value{v: cty.DynamicVal}
	case n.res != nil:
		m.res[n.res.key] = &resVal{decl: n.res, failed: true}
	case n.call != nil:
		m.calls[n.call.name] = &callVal{failed: true}
	}
}

// nodes builds the graph nodes in declaration order, reporting invalid
// references once.
func (m *modEval) nodes() []*node {
	var nodes []*node
	var localNames []string
	for name := range m.d.locals {
		localNames = append(localNames, name)
	}
	slices.SortFunc(localNames, func(a, b string) int {
		return cmpRange(m.d.locals[a].rng, m.d.locals[b].rng)
	})
	for _, name := range localNames {
		ld := m.d.locals[name]
		nodes = append(nodes, &node{id: "local." + name, rng: ld.rng, travs: ld.expr.Variables(), local: ld})
	}
	for _, rd := range m.d.resOrder {
		nodes = append(nodes, &node{id: rd.key, rng: rd.block.DefRange, travs: rd.travs, depTravs: rd.dependsOn, res: rd,
			count: rd.count != nil, each: rd.forEach != nil})
		for _, tr := range rd.dependsOn {
			m.checkDependsOn(tr)
		}
	}
	for _, cd := range m.d.callOrder {
		nodes = append(nodes, &node{id: "module." + cd.name, rng: cd.rng, travs: cd.travs, depTravs: cd.dependsOn, call: cd})
		for _, tr := range cd.dependsOn {
			m.checkDependsOn(tr)
		}
	}
	for _, n := range nodes {
		seen := map[string]bool{}
		for _, tr := range append(slices.Clip(n.travs), n.depTravs...) {
			r, ok := m.parseRef(tr, n.count, n.each, true)
			if ok && n.res != nil && r.kind == refResource && wholeOutputs(r.rest) {
				m.l.errorf(tr.SourceRange().Ptr(), "Outputs need a key", "%s.%s.outputs is known only after apply and only key by key; refer to one key, such as %s.%s.outputs.NAME.", r.root, r.name, r.root, r.name)
			}
			if !ok || r.node == "" || seen[r.node] {
				continue
			}
			seen[r.node] = true
			n.edges = append(n.edges, r.node)
		}
		slices.Sort(n.edges)
	}
	// Outputs are evaluated last; check their references now so problems are
	// reported even when they are never evaluated.
	for _, o := range m.d.outputs {
		for _, tr := range o.expr.Variables() {
			m.parseRef(tr, false, false, true)
		}
		for _, tr := range o.dependsOn {
			m.checkDependsOn(tr)
			m.parseRef(tr, false, false, true)
		}
	}
	return nodes
}

// wholeOutputs reports whether the rest of a resource reference (after its
// name) ends at "outputs" with no key.
func wholeOutputs(rest hcl.Traversal) bool {
	if len(rest) > 0 {
		if _, ok := rest[0].(hcl.TraverseIndex); ok {
			rest = rest[1:]
		}
	}
	return len(rest) == 1 && traverseName(rest[0]) == "outputs"
}

func cmpRange(a, b hcl.Range) int {
	if c := strings.Compare(a.Filename, b.Filename); c != 0 {
		return c
	}
	return a.Start.Byte - b.Start.Byte
}

func (m *modEval) checkDependsOn(tr hcl.Traversal) {
	root := tr.RootName()
	if root == "module" {
		return
	}
	if _, ok := schema.Lookup(root); ok || m.d.badTypes[root] {
		return
	}
	m.l.errorf(tr.SourceRange().Ptr(), "Invalid depends_on reference", "depends_on may name only resources (TYPE.NAME) and modules (module.NAME), not %q.", root)
}

type refKind int

const (
	refInvalid refKind = iota
	refVar
	refLocal
	refModule
	refResource
	refCount
	refEach
	refPath
)

// ref is a parsed reference.
type ref struct {
	kind refKind
	root string // root name
	name string // variable, local, module, resource name
	node string // graph node it points at, "" for none
	rest hcl.Traversal
}

// parseRef resolves a traversal and reports problems when report is set.
func (m *modEval) parseRef(tr hcl.Traversal, allowCount, allowEach, report bool) (ref, bool) {
	root := tr.RootName()
	r := ref{root: root}
	errf := func(summary, format string, args ...any) (ref, bool) {
		if report {
			m.l.errorf(tr.SourceRange().Ptr(), summary, format, args...)
		}
		return r, false
	}
	name := ""
	if len(tr) > 1 {
		name = traverseName(tr[1])
		r.rest = tr[2:]
	}
	r.name = name
	switch root {
	case "var":
		r.kind = refVar
		if name == "" {
			return errf("Invalid reference", "A reference to var must name a variable: var.NAME.")
		}
		if _, ok := m.d.variables[name]; !ok {
			return errf("Reference to undeclared input variable", "An input variable with the name %q has not been declared.", name)
		}
		return r, true
	case "local":
		r.kind = refLocal
		if name == "" {
			return errf("Invalid reference", "A reference to local must name a local value: local.NAME.")
		}
		if _, ok := m.d.locals[name]; !ok {
			return errf("Reference to undeclared local value", "A local value with the name %q has not been declared.", name)
		}
		r.node = "local." + name
		return r, true
	case "module":
		r.kind = refModule
		if name == "" {
			return errf("Invalid reference", "A reference to module must name a module call: module.NAME.")
		}
		if _, ok := m.d.calls[name]; !ok {
			return errf("Reference to undeclared module", "No module call named %q is declared.", name)
		}
		r.node = "module." + name
		return r, true
	case "count":
		r.kind = refCount
		if !allowCount {
			return errf("Reference to \"count\" in non-counted context", "count.index is only available in resources that set count.")
		}
		if name != "index" {
			return errf("Invalid count attribute", "count has only the attribute \"index\".")
		}
		return r, true
	case "path":
		r.kind = refPath
		switch name {
		case "module", "root", "cwd":
			return r, true
		}
		return errf("Invalid path attribute", "path has the attributes \"module\" (this module's directory), \"root\" and \"cwd\" (the configuration directory), as paths relative to the configuration directory.")
	case "each":
		r.kind = refEach
		if !allowEach {
			return errf("each.value cannot be used in this context", "each.key and each.value are only available in resources that set for_each.")
		}
		if name != "key" && name != "value" {
			return errf("Invalid each attribute", "each has only the attributes \"key\" and \"value\".")
		}
		return r, true
	}
	if m.d.badTypes[root] {
		return r, false // already reported at its declaration
	}
	if _, ok := schema.Lookup(root); !ok {
		return errf("Reference to undeclared name", "%q is not a resource type (%s), nor var, local, module, path, count or each.", root, strings.Join(schema.Types(), ", "))
	}
	r.kind = refResource
	if name == "" {
		return errf("Invalid reference", "A reference to a resource type must be followed by the resource name: %s.NAME.", root)
	}
	if _, ok := m.d.resources[root+"."+name]; !ok {
		return errf("Reference to undeclared resource", "A %s resource named %q has not been declared.", root, name)
	}
	r.node = root + "." + name
	return r, true
}

// scope builds the variables for evaluating expressions with the given
// traversals, holding only what they refer to, and the resource instance
// addresses they depend on. forOutput uses recorded state outputs for
// computed attributes.
func (m *modEval) scope(travs []hcl.Traversal, allowCount, allowEach, forOutput bool) (map[string]cty.Value, []string) {
	vars := map[string]cty.Value{}
	varObj := map[string]cty.Value{}
	localObj := map[string]cty.Value{}
	modObj := map[string]cty.Value{}
	typeObjs := map[string]map[string]cty.Value{}
	outKeys := map[string][]string{}
	resRefs := map[string]bool{}
	var deps []string
	for _, tr := range travs {
		r, ok := m.parseRef(tr, allowCount, allowEach, false)
		if !ok {
			switch r.kind {
			case refVar:
				if r.name != "" {
					varObj[r.name] = cty.DynamicVal
				}
			case refLocal:
				if r.name != "" {
					localObj[r.name] = cty.DynamicVal
				}
			case refModule:
				if r.name != "" {
					modObj[r.name] = cty.DynamicVal
				}
			case refResource:
				if r.name != "" {
					obj(typeObjs, r.root)[r.name] = cty.DynamicVal
				}
			default:
				vars[r.root] = cty.DynamicVal
			}
			if m.d.badTypes[r.root] && r.name != "" {
				obj(typeObjs, r.root)[r.name] = cty.DynamicVal
			}
			continue
		}
		switch r.kind {
		case refVar:
			varObj[r.name] = m.vars[r.name]
			deps = append(deps, m.varDeps[r.name]...)
		case refLocal:
			lv := m.locals[r.name]
			if lv == nil {
				lv = &value{v: cty.DynamicVal}
			}
			localObj[r.name] = lv.v
			deps = append(deps, lv.deps...)
		case refModule:
			cv := m.calls[r.name]
			if cv == nil || cv.failed {
				modObj[r.name] = cty.DynamicVal
				continue
			}
			modObj[r.name] = callObject(cv)
			if len(r.rest) > 0 {
				if o, ok := cv.outputs[traverseName(r.rest[0])]; ok {
					deps = append(deps, o.deps...)
					continue
				}
			}
			deps = append(deps, cv.resources...)
		case refResource:
			resRefs[r.node] = true
			rv := m.res[r.node]
			rest := r.rest
			if rv == nil || rv.failed {
				continue
			}
			var only string
			if len(rest) > 0 {
				if ix, ok := rest[0].(hcl.TraverseIndex); ok {
					only = instanceAddr(m.addr(r.node), indexKey(ix.Key))
					rest = rest[1:]
				}
			}
			for _, in := range rv.insts {
				if only == "" || in.addr == only {
					deps = append(deps, in.addr)
				}
			}
			if len(rest) >= 2 && traverseName(rest[0]) == "outputs" {
				if k := keyName(rest[1]); k != "" {
					outKeys[r.node] = append(outKeys[r.node], k)
				}
			}
		case refPath:
			// Relative to the configuration directory, like every path in
			// a plan, so the plan is the same on every machine.
			vars["path"] = cty.ObjectVal(map[string]cty.Value{
				"module": cty.StringVal(m.d.relDir),
				"root":   cty.StringVal("."),
				"cwd":    cty.StringVal("."),
			})
		case refCount, refEach:
			// set per instance
		}
	}
	for node := range resRefs {
		typ, name, _ := strings.Cut(node, ".")
		rv := m.res[node]
		if rv == nil || rv.failed {
			obj(typeObjs, typ)[name] = cty.DynamicVal
			continue
		}
		obj(typeObjs, typ)[name] = m.resRefValue(rv, outKeys[node], forOutput)
	}
	if len(varObj) > 0 {
		vars["var"] = cty.ObjectVal(varObj)
	}
	if len(localObj) > 0 {
		vars["local"] = cty.ObjectVal(localObj)
	}
	if len(modObj) > 0 {
		vars["module"] = cty.ObjectVal(modObj)
	}
	for typ, o := range typeObjs {
		vars[typ] = cty.ObjectVal(o)
	}
	return vars, deps
}

// depsOnly returns the resource instance addresses depends_on entries name.
func (m *modEval) depsOnly(travs []hcl.Traversal) []string {
	var deps []string
	for _, tr := range travs {
		r, ok := m.parseRef(tr, false, false, false)
		if !ok {
			continue
		}
		switch r.kind {
		case refModule:
			if cv := m.calls[r.name]; cv != nil && !cv.failed {
				deps = append(deps, cv.resources...)
			}
		case refResource:
			rv := m.res[r.node]
			if rv == nil || rv.failed {
				continue
			}
			only := ""
			if len(r.rest) > 0 {
				if ix, ok := r.rest[0].(hcl.TraverseIndex); ok {
					only = instanceAddr(m.addr(r.node), indexKey(ix.Key))
				}
			}
			for _, in := range rv.insts {
				if only == "" || in.addr == only {
					deps = append(deps, in.addr)
				}
			}
		}
	}
	return deps
}

func obj(m map[string]map[string]cty.Value, k string) map[string]cty.Value {
	o, ok := m[k]
	if !ok {
		o = map[string]cty.Value{}
		m[k] = o
	}
	return o
}

func keyName(t hcl.Traverser) string {
	switch t := t.(type) {
	case hcl.TraverseAttr:
		return t.Name
	case hcl.TraverseIndex:
		if t.Key.Type() == cty.String && t.Key.IsKnown() && !t.Key.IsNull() {
			return t.Key.AsString()
		}
	}
	return ""
}

func indexKey(k cty.Value) any {
	k, _ = k.Unmark()
	if !k.IsKnown() || k.IsNull() {
		return nil
	}
	switch k.Type() {
	case cty.String:
		return k.AsString()
	case cty.Number:
		if i, acc := k.AsBigFloat().Int64(); acc == big.Exact {
			return int(i)
		}
	}
	return nil
}

func instanceAddr(base string, key any) string {
	switch k := key.(type) {
	case int:
		return fmt.Sprintf("%s[%d]", base, k)
	case string:
		return base + "[" + strconv.Quote(k) + "]"
	}
	return base
}

func callObject(cv *callVal) cty.Value {
	o := make(map[string]cty.Value, len(cv.outputs))
	for k, v := range cv.outputs {
		o[k] = v.v
	}
	return cty.ObjectVal(o)
}

// resRefValue is what a reference to a resource sees: one instance object,
// a tuple (count) or an object keyed by for_each key.
func (m *modEval) resRefValue(rv *resVal, outKeys []string, forOutput bool) cty.Value {
	inst := func(in *instVal) cty.Value {
		if len(outKeys) == 0 && !forOutput {
			if in.obj == cty.NilVal {
				in.obj = m.instObject(rv.decl.sch, in, nil, false)
			}
			return in.obj
		}
		return m.instObject(rv.decl.sch, in, outKeys, forOutput)
	}
	switch rv.mode {
	case 1:
		if len(rv.insts) == 0 {
			return cty.EmptyTupleVal
		}
		vs := make([]cty.Value, len(rv.insts))
		for i, in := range rv.insts {
			vs[i] = inst(in)
		}
		return cty.TupleVal(vs)
	case 2:
		o := make(map[string]cty.Value, len(rv.insts))
		for _, in := range rv.insts {
			o[in.key.(string)] = inst(in)
		}
		return cty.ObjectVal(o)
	}
	if len(rv.insts) == 0 {
		return cty.DynamicVal
	}
	return inst(rv.insts[0])
}

// instObject merges an instance's attributes with its computed attributes:
// unknown values marked ir.Deferred, or for outputs the recorded state.
func (m *modEval) instObject(sch *schema.Resource, in *instVal, outKeys []string, forOutput bool) cty.Value {
	o := map[string]cty.Value{}
	if in.attrs.Type().IsObjectType() {
		for name := range in.attrs.Type().AttributeTypes() {
			o[name] = in.attrs.GetAttr(name)
		}
	}
	var state map[string]string
	if forOutput {
		state = m.l.opts.StateOutputs[in.addr]
	}
	for _, c := range sch.Computed {
		if c.Name != "outputs" {
			if s, ok := state[c.Key]; ok {
				o[c.Name] = cty.StringVal(s)
			} else {
				o[c.Name] = cty.UnknownVal(c.Type).Mark(ir.Deferred{Resource: in.addr, Attr: c.Name, Key: c.Key})
			}
			continue
		}
		if len(outKeys) > 0 {
			ko := map[string]cty.Value{}
			for _, k := range outKeys {
				if s, ok := state[k]; ok {
					ko[k] = cty.StringVal(s)
				} else {
					ko[k] = cty.UnknownVal(cty.String).Mark(ir.Deferred{Resource: in.addr, Attr: "outputs." + k, Key: k})
				}
			}
			o["outputs"] = cty.ObjectVal(ko)
		} else if state != nil {
			sm := map[string]cty.Value{}
			for k, v := range state {
				sm[k] = cty.StringVal(v)
			}
			if len(sm) == 0 {
				o["outputs"] = cty.MapValEmpty(cty.String)
			} else {
				o["outputs"] = cty.MapVal(sm)
			}
		} else {
			o["outputs"] = cty.UnknownVal(cty.Map(cty.String)).Mark(ir.Deferred{Resource: in.addr, Attr: "outputs", Key: ""})
		}
	}
	return cty.ObjectVal(o)
}

func (m *modEval) ctx(vars map[string]cty.Value) *hcl.EvalContext {
	return &hcl.EvalContext{Variables: vars, Functions: m.d.funcs}
}

func (m *modEval) evalLocal(n *node) {
	vars, deps := m.scope(n.travs, false, false, false)
	v, diags := n.local.expr.Value(m.ctx(vars))
	m.l.diags = append(m.l.diags, diags...)
	m.locals[n.local.name] = &value{v: v, deps: uniq(deps)}
}

func uniq(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	slices.Sort(ss)
	return slices.Compact(ss)
}

// unknownKey stands for the instances of a resource whose count or
// for_each is not known in validate mode: the body is checked once with
// unknown count.index / each.*, and no instance goes into the IR.
type unknownKey struct{}

// instanceKeys evaluates count or for_each; mode is 0, 1 or 2.
func (m *modEval) instanceKeys(rd *resourceDecl, ctx *hcl.EvalContext) (mode int, keys []any, each map[string]cty.Value, ok bool) {
	switch {
	case rd.count != nil:
		v, diags := rd.count.Expr.Value(ctx)
		m.l.diags = append(m.l.diags, diags...)
		if diags.HasErrors() {
			return 1, nil, nil, false
		}
		rng := rd.count.Expr.Range().Ptr()
		if !v.IsKnown() && m.l.opts.Validate && len(ir.DeferredOf(v)) == 0 {
			return 1, []any{unknownKey{}}, nil, true
		}
		v, _ = v.Unmark()
		if !v.IsKnown() {
			m.l.errorf(rng, "Invalid count argument", "The count value depends on values known only after apply; count must be known when planning.")
			return 1, nil, nil, false
		}
		nv, err := convert.Convert(v, cty.Number)
		if err != nil || nv.IsNull() {
			m.l.errorf(rng, "Invalid count argument", "The count argument must be a whole number.")
			return 1, nil, nil, false
		}
		f := nv.AsBigFloat()
		n, acc := f.Int64()
		if !f.IsInt() || acc != big.Exact || n < 0 || n > maxInstances {
			m.l.errorf(rng, "Invalid count argument", "The count argument must be a whole number from 0 to %d.", maxInstances)
			return 1, nil, nil, false
		}
		for i := 0; i < int(n); i++ {
			keys = append(keys, i)
		}
		return 1, keys, nil, true
	case rd.forEach != nil:
		v, diags := rd.forEach.Expr.Value(ctx)
		m.l.diags = append(m.l.diags, diags...)
		if diags.HasErrors() {
			return 2, nil, nil, false
		}
		rng := rd.forEach.Expr.Range().Ptr()
		if ir.IsSensitive(v) {
			m.l.errorf(rng, "Invalid for_each argument", "Sensitive values cannot be used as for_each arguments: the keys would appear in resource addresses.")
			return 2, nil, nil, false
		}
		if !v.IsWhollyKnown() && m.l.opts.Validate && len(ir.DeferredOf(v)) == 0 {
			return 2, []any{unknownKey{}}, nil, true
		}
		if !v.IsKnown() {
			m.l.errorf(rng, "Invalid for_each argument", "The for_each value depends on values known only after apply; it must be known when planning.")
			return 2, nil, nil, false
		}
		if v.IsNull() {
			m.l.errorf(rng, "Invalid for_each argument", "The for_each argument must not be null.")
			return 2, nil, nil, false
		}
		ty := v.Type()
		each = map[string]cty.Value{}
		switch {
		case ty.IsMapType() || ty.IsObjectType():
			for it := v.ElementIterator(); it.Next(); {
				k, ev := it.Element()
				keys = append(keys, k.AsString())
				each[k.AsString()] = ev
			}
		case ty.IsSetType() && ty.ElementType() == cty.String:
			if !v.IsWhollyKnown() {
				m.l.errorf(rng, "Invalid for_each argument", "The for_each set contains values known only after apply.")
				return 2, nil, nil, false
			}
			for it := v.ElementIterator(); it.Next(); {
				_, ev := it.Element()
				if ev.IsNull() {
					m.l.errorf(rng, "Invalid for_each argument", "The for_each set must not contain null.")
					return 2, nil, nil, false
				}
				keys = append(keys, ev.AsString())
				each[ev.AsString()] = ev
			}
		default:
			m.l.errorf(rng, "Invalid for_each argument", "The for_each argument must be a map or a set of strings, not %s; convert a list with toset().", ty.FriendlyName())
			return 2, nil, nil, false
		}
		if len(keys) > maxInstances {
			m.l.errorf(rng, "Invalid for_each argument", "for_each may create at most %d instances.", maxInstances)
			return 2, nil, nil, false
		}
		slices.SortFunc(keys, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
		return 2, keys, each, true
	}
	return 0, []any{nil}, nil, true
}

func (m *modEval) evalResource(n *node) {
	rd := n.res
	rv := &resVal{decl: rd}
	m.res[rd.key] = rv
	vars, deps := m.scope(n.travs, n.count, n.each, false)
	ctx := m.ctx(vars)
	mode, keys, each, ok := m.instanceKeys(rd, ctx)
	rv.mode = mode
	if !ok {
		rv.failed = true
		return
	}
	deps = append(deps, m.depsOnly(rd.dependsOn)...)
	deps = append(deps, m.extraDeps...)
	base := m.addr(rd.key)
	attrNames := make([]string, 0, len(rd.attrs))
	for name := range rd.attrs {
		attrNames = append(attrNames, name)
	}
	slices.Sort(attrNames)
	for _, key := range keys {
		_, validateOnly := key.(unknownKey)
		switch k := key.(type) {
		case int:
			vars["count"] = cty.ObjectVal(map[string]cty.Value{"index": cty.NumberIntVal(int64(k))})
		case string:
			vars["each"] = cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(k), "value": each[k]})
		case unknownKey:
			vars["count"] = cty.ObjectVal(map[string]cty.Value{"index": cty.UnknownVal(cty.Number)})
			vars["each"] = cty.ObjectVal(map[string]cty.Value{"key": cty.UnknownVal(cty.String), "value": cty.DynamicVal})
		}
		addr := instanceAddr(base, key)
		vals := make(map[string]cty.Value, len(rd.attrs)+len(rd.blocks))
		for _, name := range attrNames {
			v, diags := rd.attrs[name].Expr.Value(ctx)
			m.l.diags = append(m.l.diags, diags...)
			if diags.HasErrors() {
				v = cty.DynamicVal
			}
			vals[name] = v
		}
		for name, blk := range rd.blocks {
			attrs, _ := blk.Body.JustAttributes()
			o := map[string]cty.Value{}
			for an, a := range attrs {
				v, diags := a.Expr.Value(ctx)
				m.l.diags = append(m.l.diags, diags...)
				if diags.HasErrors() {
					v = cty.DynamicVal
				}
				o[an] = v
			}
			vals[name] = cty.ObjectVal(o)
		}
		attrs, probs := rd.sch.Conform(vals)
		for _, p := range probs {
			m.l.diags = append(m.l.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: p.Summary, Detail: p.Detail, Subject: m.problemRange(rd, p)})
		}
		if rd.typ == "file" {
			attrs = m.renderFileTemplate(rd, attrs)
		}
		r := &ir.Resource{
			Addr: addr, Module: m.path, Type: rd.typ, Name: rd.name, Key: key,
			Attrs:     attrs,
			Provider:  rd.provider,
			Lifecycle: ir.Lifecycle{PreventDestroy: rd.lifecycle.preventDestroy, IgnoreChanges: rd.lifecycle.ignoreChanges},
			DeclRange: rd.block.DefRange, AttrRanges: map[string]hcl.Range{},
		}
		if r.Provider == "" {
			r.Provider = rd.sch.DefaultProvider(attrs)
		}
		if rd.retries != nil {
			r.Retries = m.wholeNumber(rd.retries, ctx)
		}
		if rd.timeout != nil {
			v, diags := rd.timeout.Expr.Value(ctx)
			m.l.diags = append(m.l.diags, diags...)
			if !diags.HasErrors() {
				if uv, _ := v.Unmark(); uv.IsKnown() && !uv.IsNull() {
					secs, err := schema.DurationSeconds(uv)
					if err != nil {
						m.l.errorf(rd.timeout.Expr.Range().Ptr(), "Invalid timeout", "The timeout must be a number of seconds or a duration string such as \"30s\": %s.", err)
					}
					r.Timeout = int(secs)
				}
			}
		}
		for name, a := range rd.attrs {
			r.AttrRanges[name] = a.Range
		}
		for name, b := range rd.blocks {
			r.AttrRanges[name] = b.DefRange
		}
		var own []string
		for _, d := range deps {
			if d != addr {
				own = append(own, d)
			}
		}
		r.DependsOn = uniq(own)
		if validateOnly {
			rv.failed = true // references see an unknown value
			continue
		}
		m.l.cfg.Resources = append(m.l.cfg.Resources, r)
		rv.insts = append(rv.insts, &instVal{addr: addr, key: key, attrs: attrs})
	}
}

func (m *modEval) problemRange(rd *resourceDecl, p schema.Problem) *hcl.Range {
	if a, ok := rd.attrs[p.Attr]; ok {
		return a.Expr.Range().Ptr()
	}
	if b, ok := rd.blocks[p.Attr]; ok {
		return b.DefRange.Ptr()
	}
	return rd.block.DefRange.Ptr()
}

func (m *modEval) wholeNumber(a *hcl.Attribute, ctx *hcl.EvalContext) int {
	v, diags := a.Expr.Value(ctx)
	m.l.diags = append(m.l.diags, diags...)
	if diags.HasErrors() {
		return 0
	}
	v, _ = v.Unmark()
	if !v.IsKnown() {
		return 0
	}
	nv, err := convert.Convert(v, cty.Number)
	if err == nil && !nv.IsNull() {
		f := nv.AsBigFloat()
		if n, acc := f.Int64(); f.IsInt() && acc == big.Exact && n >= 0 && n <= 1000 {
			return int(n)
		}
	}
	m.l.errorf(a.Expr.Range().Ptr(), "Invalid "+a.Name, "The %s argument must be a whole number from 0 to 1000.", a.Name)
	return 0
}

// renderFileTemplate renders a file's template with vars into content.
func (m *modEval) renderFileTemplate(rd *resourceDecl, attrs cty.Value) cty.Value {
	tmpl, tmarks := attrs.GetAttr("template").Unmark()
	if tmpl.IsNull() {
		return attrs
	}
	o := attrs.AsValueMap()
	if !tmpl.IsKnown() {
		o["content"] = cty.UnknownVal(cty.String).WithMarks(tmarks)
		return cty.ObjectVal(o)
	}
	vars := o["vars"]
	if vars.IsNull() {
		vars = cty.EmptyObjectVal
	}
	content, err := renderTemplate(m.d.dir, m.d.relDir, tmpl.AsString(), vars, m.d.funcs)
	if err != nil {
		rng := rd.block.DefRange
		if a, ok := rd.attrs["template"]; ok {
			rng = a.Expr.Range()
		}
		m.l.errorf(rng.Ptr(), "Cannot render template", "%s.", err)
		content = cty.UnknownVal(cty.String)
	}
	o["content"] = content.WithMarks(tmarks)
	return cty.ObjectVal(o)
}

func (m *modEval) evalOutputs() {
	isRoot := m.path == ""
	for _, od := range m.d.outputs {
		vars, deps := m.scope(od.expr.Variables(), false, false, isRoot)
		deps = append(deps, m.depsOnly(od.dependsOn)...)
		v, diags := od.expr.Value(m.ctx(vars))
		m.l.diags = append(m.l.diags, diags...)
		if diags.HasErrors() {
			v = cty.DynamicVal
		}
		if isRoot {
			v = m.fromState(v)
		}
		if ir.IsSensitive(v) && !od.sensitive {
			m.l.errorf(od.expr.Range().Ptr(), "Output refers to sensitive values", "The value of output %q is derived from sensitive values; set sensitive = true in the output block to show that this is intended.", od.name)
		}
		if od.sensitive {
			v = v.Mark(ir.Sensitive)
		}
		deps = uniq(deps)
		if isRoot {
			m.rootOutputs = append(m.rootOutputs, &ir.Output{Name: od.name, Description: od.description, Value: v,
				Sensitive: od.sensitive, DependsOn: deps, DeclRange: od.rng})
		} else {
			m.childOutputs[od.name] = &value{v: v, deps: deps}
		}
	}
}

// fromState replaces a wholly deferred value whose key is recorded in state.
func (m *modEval) fromState(v cty.Value) cty.Value {
	if v.IsKnown() {
		return v
	}
	ds := ir.DeferredOf(v)
	if len(ds) != 1 || ds[0].Key == "" {
		return v
	}
	s, ok := m.l.opts.StateOutputs[ds[0].Resource][ds[0].Key]
	if !ok {
		return v
	}
	uv, marks := v.Unmark()
	if !uv.Type().Equals(cty.String) && uv.Type() != cty.DynamicPseudoType {
		return v
	}
	delete(marks, ds[0])
	return cty.StringVal(s).WithMarks(marks)
}

// reportCycle reports one dependency cycle listing its members.
func (m *modEval) reportCycle(members []*node) {
	slices.SortFunc(members, func(a, b *node) int { return strings.Compare(a.id, b.id) })
	var parts []string
	for _, n := range members {
		parts = append(parts, fmt.Sprintf("%s (%s:%d,%d)", m.addr(n.id), n.rng.Filename, n.rng.Start.Line, n.rng.Start.Column))
	}
	m.l.errorf(members[0].rng.Ptr(), "Dependency cycle", "These refer to each other in a cycle: %s.", strings.Join(parts, ", "))
}

// topoOrder orders nodes so every node comes after the nodes it refers to
// (Tarjan's strongly connected components, which come out dependencies
// first), and returns the cycles: components with more than one node or a
// node that refers to itself.
func topoOrder(nodes []*node) (order []*node, cycles [][]*node) {
	byID := make(map[string]*node, len(nodes))
	for _, n := range nodes {
		byID[n.id] = n
	}
	index := make(map[*node]int, len(nodes))
	low := make(map[*node]int, len(nodes))
	onStack := make(map[*node]bool, len(nodes))
	var stack []*node
	next := 0
	// Iterative Tarjan so a long chain cannot exhaust the stack.
	type frame struct {
		n *node
		i int
	}
	for _, start := range nodes {
		if _, seen := index[start]; seen {
			continue
		}
		calls := []frame{{n: start}}
		index[start], low[start] = next, next
		next++
		stack = append(stack, start)
		onStack[start] = true
		for len(calls) > 0 {
			f := &calls[len(calls)-1]
			if f.i < len(f.n.edges) {
				w := byID[f.n.edges[f.i]]
				f.i++
				if w == nil {
					continue
				}
				if _, seen := index[w]; !seen {
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					calls = append(calls, frame{n: w})
				} else if onStack[w] {
					low[f.n] = min(low[f.n], index[w])
				}
				continue
			}
			v := f.n
			calls = calls[:len(calls)-1]
			if len(calls) > 0 {
				p := calls[len(calls)-1].n
				low[p] = min(low[p], low[v])
			}
			if low[v] == index[v] {
				var comp []*node
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp = append(comp, w)
					if w == v {
						break
					}
				}
				if len(comp) > 1 || slices.Contains(v.edges, v.id) {
					cycles = append(cycles, comp)
				} else {
					order = append(order, v)
				}
			}
		}
	}
	return order, cycles
}
