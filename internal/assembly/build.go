package assembly

import (
	"container/heap"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/ir"
)

// Options change what Build plans.
type Options struct {
	// Targets limits the plan to the resources these addresses name and what
	// they depend on (Terraform's -target). "service.web" names every
	// instance of it, "module.m" everything in that module. With Destroy, the
	// targets and everything in state that depends on them are deleted.
	Targets []string
	// Destroy plans deletes for everything in state, in reverse dependency
	// order, instead of converging on the configuration.
	Destroy bool
	// ContentHash, when set, hashes a path as written in the configuration
	// (relative to the configuration directory): see FSHasher. It is the
	// only way Build looks at the filesystem. With it, an image's build
	// context becomes the build_image arg context_hash and a file's source
	// the ensure_file arg sha256, so editing them plans an update. Only
	// resources that depend on nothing are hashed (a dependency may create
	// the path during apply; images are rebuilt when a dependency changes
	// instead). A path that cannot be hashed is left out with a warning.
	ContentHash func(path string) (string, error)
	// SecretDigest, when set, turns a secret value into a keyed digest that
	// the config hash covers, so changing only a sensitive value plans an
	// update. The digest never appears in the ActionList; the key stays with
	// the caller (pipeline: .clockwork/secret-digest.key), so state alone
	// does not let anyone test guesses of the secret.
	SecretDigest func(value string) string
}

// Plan is the result of Build.
type Plan struct {
	// ActionList is what forge compiles and runs; it holds no secret.
	ActionList *contract.ActionList
	// Secrets maps a secret env name (listed in some step's SecretEnv) to its
	// value. In memory only: never serialize, log or print it.
	Secrets map[string]string `json:"-"`
	// DeleteSteps holds, for every resource of the configuration the plan
	// covers, the steps that would remove it (change "delete", no
	// depends_on). Forge records them in state (ResourceState.DeleteSteps)
	// after creating or updating the resource, so it can still be deleted
	// once it leaves the configuration. Resources with nothing to remove
	// (check, task, command without on_destroy) have no entry.
	DeleteSteps map[string][]contract.Step
	// Resources describes every resource the plan covers, by address: the
	// configuration's (create, update, noop) and the removed ones (delete).
	Resources map[string]ResourceInfo
	// Forget lists, sorted, the removed resources that have no delete steps:
	// forge drops them from state without running anything.
	Forget []string
}

// ResourceInfo is what forge records in state for a resource after apply.
type ResourceInfo struct {
	Address string
	Type    string
	// Change is the resource's change: create, update, delete or noop.
	Change   string
	Provider string
	// ConfigHash is the hash to record (also on each of its steps); for a
	// delete it is the hash recorded in state.
	ConfigHash string
	// DependsOn are the resource addresses it depends on, sorted.
	DependsOn      []string
	PreventDestroy bool
}

// Build plans cfg against st (nil when there is no state yet). On error
// diagnostics the plan is nil. Warnings may accompany a plan.
func Build(cfg *ir.Config, st *contract.State, opts Options) (*Plan, hcl.Diagnostics) {
	g, diags := NewGraph(cfg)
	if diags.HasErrors() {
		return nil, diags
	}
	b := &builder{
		cfg:   cfg,
		g:     g,
		state: map[string]*contract.ResourceState{},
		plan: &Plan{
			Secrets:     map[string]string{},
			DeleteSteps: map[string][]contract.Step{},
			Resources:   map[string]ResourceInfo{},
		},
		lastSteps: map[string][]string{},
	}
	var stateAddrs []string
	if st != nil {
		for i := range st.Resources {
			rs := &st.Resources[i]
			b.state[rs.Address] = rs
			stateAddrs = append(stateAddrs, rs.Address)
		}
		sort.Strings(stateAddrs)
	}
	b.contentHash = opts.ContentHash
	b.secretDigest = opts.SecretDigest
	diags = append(diags, b.checkTargets(opts.Targets, stateAddrs)...)

	if opts.Destroy {
		del := b.destroySet(opts.Targets, stateAddrs)
		diags = append(diags, b.planDeletes(del, true)...)
	} else {
		diags = append(diags, b.planConfig(b.selected(opts.Targets))...)
		var gone []string
		for _, a := range stateAddrs {
			if _, inCfg := g.index[a]; !inCfg && targeted(opts.Targets, a) {
				gone = append(gone, a)
			}
		}
		diags = append(diags, b.planDeletes(gone, false)...)
	}
	diags = append(diags, b.checkPathConflicts()...)
	if diags.HasErrors() {
		return nil, diags
	}
	steps, sdiags := sortSteps(b.steps)
	diags = append(diags, sdiags...)
	if diags.HasErrors() {
		return nil, diags
	}
	fp, err := contract.ComputeFingerprint(steps)
	if err != nil {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot fingerprint the plan", Detail: err.Error()})
	}
	al := &contract.ActionList{Version: contract.Version, Fingerprint: fp, Steps: steps}
	if st != nil {
		al.StateSerial = st.Serial
		al.StateLineage = st.Lineage
	}
	b.plan.ActionList = al
	sort.Strings(b.plan.Forget)
	return b.plan, diags
}

type builder struct {
	cfg   *ir.Config
	g     *Graph
	state map[string]*contract.ResourceState
	plan  *Plan
	steps []contract.Step
	// lastSteps maps a resource address to the step ids a dependent's first
	// step must wait for: its last step, or (if it has none) its own
	// dependencies' last steps.
	lastSteps    map[string][]string
	contentHash  func(string) (string, error)
	secretDigest func(string) string
}

// targeted reports whether addr is named by one of targets (all when none).
func targeted(targets []string, addr string) bool {
	if len(targets) == 0 {
		return true
	}
	for _, t := range targets {
		if matchTarget(t, addr) {
			return true
		}
	}
	return false
}

func matchTarget(t, addr string) bool {
	return addr == t || strings.HasPrefix(addr, t+"[") || strings.HasPrefix(addr, t+".")
}

// checkTargets warns about targets that name nothing.
func (b *builder) checkTargets(targets, stateAddrs []string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, t := range targets {
		found := false
		for _, r := range b.g.res {
			if matchTarget(t, r.Addr) {
				found = true
				break
			}
		}
		for _, a := range stateAddrs {
			if found {
				break
			}
			found = matchTarget(t, a)
		}
		if !found {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Target matches nothing",
				Detail:   fmt.Sprintf("--target %s names no resource in the configuration or the state.", t),
			})
		}
	}
	return diags
}

// selected returns which graph nodes to plan: all, or the targets and
// everything they depend on.
func (b *builder) selected(targets []string) []bool {
	sel := make([]bool, len(b.g.res))
	if len(targets) == 0 {
		for i := range sel {
			sel[i] = true
		}
		return sel
	}
	var stack []int
	for i, r := range b.g.res {
		if targeted(targets, r.Addr) {
			sel[i] = true
			stack = append(stack, i)
		}
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, j := range b.g.deps[i] {
			if !sel[j] {
				sel[j] = true
				stack = append(stack, j)
			}
		}
	}
	return sel
}

// planConfig plans the selected resources of the configuration in
// topological order, so an upstream's change is known before its dependents.
func (b *builder) planConfig(sel []bool) hcl.Diagnostics {
	var diags hcl.Diagnostics
	changes := map[string]string{}
	for _, i := range b.g.order {
		if !sel[i] {
			continue
		}
		r := b.g.res[i]
		c := newConverter(r)
		p := planResource(c, r, r.Attrs)
		diags = append(diags, c.diags...)
		if len(c.diags) > 0 && c.diags.HasErrors() {
			continue
		}
		deps := b.g.DependsOn(r.Addr)
		if len(deps) == 0 && b.contentHash != nil {
			diags = append(diags, b.hashContent(r, p)...)
		}
		hash := configHash(r, p, b.digests(c.secrets))
		rs := b.state[r.Addr]
		change := diffState(rs, hash)
		// An image is built from files its dependencies produce: rebuild it
		// when one of them changes.
		if r.Type == TypeImage && change == contract.ChangeNoop {
			for _, d := range deps {
				if up := changes[d]; up == contract.ChangeCreate || up == contract.ChangeUpdate {
					change = contract.ChangeUpdate
					break
				}
			}
		}
		for _, d := range c.deferred {
			if _, ok := b.g.index[d.Resource]; !ok {
				diags = append(diags, errorAt(r.DeclRange, "Reference to undeclared resource",
					fmt.Sprintf("%s uses %s.%s, but %s is not declared in the configuration.", r.Addr, d.Resource, d.Attr, d.Resource)))
				continue
			}
			deps = append(deps, d.Resource)
			// A value known only after apply changes when its producer runs.
			if up := changes[d.Resource]; change == contract.ChangeNoop && (up == contract.ChangeCreate || up == contract.ChangeUpdate) {
				change = contract.ChangeUpdate
			}
		}
		deps = sortUniqueStrings(deps)
		changes[r.Addr] = change
		for k, v := range c.secrets {
			b.plan.Secrets[k] = v
		}
		b.plan.Resources[r.Addr] = ResourceInfo{
			Address: r.Addr, Type: r.Type, Change: change, Provider: r.Provider,
			ConfigHash: hash, DependsOn: deps, PreventDestroy: r.Lifecycle.PreventDestroy,
		}

		var first []string
		for _, d := range deps {
			first = append(first, b.lastSteps[d]...)
		}
		first = sortUniqueStrings(first)
		src := b.source(r.DeclRange)
		var prev string
		for k, s := range p.ensure {
			if s.name == contract.StepEnsureService && s.args["kind"] == "container" {
				s.args["config_hash"] = hash
			}
			step := b.newStep(r, s, change, hash, src)
			if k == 0 {
				step.DependsOn = first
			} else {
				step.DependsOn = []string{prev}
			}
			prev = step.ID
			b.steps = append(b.steps, step)
		}
		if prev != "" {
			b.lastSteps[r.Addr] = []string{prev}
		} else {
			b.lastSteps[r.Addr] = first
		}
		if len(p.deletes) > 0 {
			dels := make([]contract.Step, 0, len(p.deletes))
			for k, s := range p.deletes {
				step := b.newStep(r, s, contract.ChangeDelete, hash, src)
				if k > 0 {
					step.DependsOn = []string{dels[k-1].ID}
				}
				dels = append(dels, step)
			}
			b.plan.DeleteSteps[r.Addr] = dels
		}
	}
	return diags
}

// hashContent adds context_hash to an image's build_image step and sha256 to
// a file's ensure_file step when it copies a source.
func (b *builder) hashContent(r *ir.Resource, p planned) hcl.Diagnostics {
	var attr, arg, prefix string
	switch r.Type {
	case TypeImage:
		attr, arg, prefix = "context", "context_hash", "sha256:"
	case TypeFile:
		attr, arg = "source", "sha256"
	default:
		return nil
	}
	if len(p.ensure) == 0 {
		return nil
	}
	args := p.ensure[0].args
	path, ok := args[attr].(string)
	if !ok {
		return nil
	}
	sum, err := b.contentHash(path)
	if err != nil {
		rng := r.DeclRange
		if ar, ok := r.AttrRanges[attr]; ok {
			rng = ar
		}
		return hcl.Diagnostics{{
			Severity: hcl.DiagWarning,
			Summary:  "Cannot hash " + attr,
			Detail:   fmt.Sprintf("%s: %v. Changes to its content will not be detected by this plan.", r.Addr, err),
			Subject:  rangePtr(rng),
		}}
	}
	args[arg] = prefix + sum
	return nil
}

func (b *builder) newStep(r *ir.Resource, s stepSpec, change, hash string, src *contract.Source) contract.Step {
	return contract.Step{
		ID:         contract.StepID(r.Addr, s.name),
		Name:       s.name,
		Resource:   r.Addr,
		Change:     change,
		Args:       s.args,
		SecretEnv:  secretEnvOf(s.args),
		Provider:   r.Provider,
		Retries:    r.Retries,
		Timeout:    r.Timeout,
		ConfigHash: hash,
		Source:     src,
	}
}

// source converts a declaration range to a contract source position, with
// the file name relative to the configuration directory.
func (b *builder) source(rng hcl.Range) *contract.Source {
	if rng.Filename == "" {
		return nil
	}
	return &contract.Source{File: relFile(b.cfg.Dir, rng.Filename), Line: rng.Start.Line, Col: rng.Start.Column}
}

func relFile(dir, file string) string {
	file = strings.ReplaceAll(file, "\\", "/")
	dir = strings.TrimSuffix(strings.ReplaceAll(dir, "\\", "/"), "/")
	if dir != "" && dir != "." && strings.HasPrefix(file, dir+"/") {
		return file[len(dir)+1:]
	}
	return strings.TrimPrefix(file, "./")
}

// diffState decides a resource's change from its state record and hash.
func diffState(rs *contract.ResourceState, hash string) string {
	switch {
	case rs == nil:
		return contract.ChangeCreate
	case rs.Status != contract.StatusApplied:
		for _, ss := range rs.Steps {
			if ss.Status == "ok" {
				return contract.ChangeUpdate
			}
		}
		return contract.ChangeCreate
	case rs.ConfigHash != hash:
		return contract.ChangeUpdate
	}
	return contract.ChangeNoop
}

// hashDoc is what a config hash covers. Secrets appear only as env names.
type hashDoc struct {
	Type     string     `json:"type"`
	Provider string     `json:"provider"`
	Steps    []hashStep `json:"steps"`
	Ignored  []string   `json:"ignored,omitempty"`
	// Secrets are keyed digests of the secret values, by env name.
	Secrets map[string]string `json:"secrets,omitempty"`
}

type hashStep struct {
	Name string         `json:"name"`
	Args map[string]any `json:"args"`
}

// configHash is "sha256:<hex>" of the canonical JSON of the resource's type,
// provider and step args. Attributes in lifecycle.ignore_changes are left
// out (["all"]: every attribute), so changing only them plans a noop.
func configHash(r *ir.Resource, p planned, secrets map[string]string) string {
	doc := hashDoc{Type: r.Type, Provider: r.Provider, Secrets: secrets}
	ignore := r.Lifecycle.IgnoreChanges
	switch {
	case contains(ignore, "all"):
		doc.Ignored = []string{"all"}
	case len(ignore) > 0:
		doc.Ignored = sortUniqueStrings(append([]string(nil), ignore...))
		p = planResource(newConverter(r), r, withoutAttrs(r.Attrs, ignore))
		fallthrough
	default:
		for _, s := range p.ensure {
			doc.Steps = append(doc.Steps, hashStep{Name: s.name, Args: s.args})
		}
	}
	// Compact JSON with sorted keys and no HTML escaping: canonical.
	h := sha256.New()
	enc := json.NewEncoder(h)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		// Args are plain JSON values built by this package; this cannot fail.
		panic(fmt.Sprintf("assembly: marshal config hash of %s: %v", r.Addr, err))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// digests returns the keyed digests of a resource's secret values, or nil
// without a SecretDigest.
func (b *builder) digests(secrets map[string]string) map[string]string {
	if b.secretDigest == nil || len(secrets) == 0 {
		return nil
	}
	out := make(map[string]string, len(secrets))
	for k, v := range secrets {
		out[k] = b.secretDigest(v)
	}
	return out
}

// withoutAttrs returns attrs with the named top-level attributes set to null.
func withoutAttrs(attrs cty.Value, names []string) cty.Value {
	ua, marks := attrs.Unmark()
	if ua.IsNull() || !ua.IsKnown() || !ua.Type().IsObjectType() {
		return attrs
	}
	m := ua.AsValueMap()
	for _, n := range names {
		if v, ok := m[n]; ok {
			m[n] = cty.NullVal(v.Type())
		}
	}
	return cty.ObjectVal(m).WithMarks(marks)
}

// destroySet returns the state addresses Destroy deletes: all, or the
// targets and everything in state that depends on them.
func (b *builder) destroySet(targets, stateAddrs []string) []string {
	if len(targets) == 0 {
		return stateAddrs
	}
	users := map[string][]string{}
	for _, a := range stateAddrs {
		for _, d := range b.state[a].DependsOn {
			users[d] = append(users[d], a)
		}
	}
	in := map[string]bool{}
	var stack []string
	for _, a := range stateAddrs {
		if targeted(targets, a) {
			in[a] = true
			stack = append(stack, a)
		}
	}
	for len(stack) > 0 {
		a := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, u := range users[a] {
			if !in[u] {
				in[u] = true
				stack = append(stack, u)
			}
		}
	}
	var out []string
	for _, a := range stateAddrs {
		if in[a] {
			out = append(out, a)
		}
	}
	return out
}

// planDeletes plans the recorded delete steps of the state resources addrs
// (sorted). A delete waits for the deletes of every resource in the set that
// depended on it. prevent_destroy (recorded in state, or in the
// configuration when destroying) refuses the plan.
func (b *builder) planDeletes(addrs []string, destroy bool) hcl.Diagnostics {
	var diags hcl.Diagnostics
	in := make(map[string]bool, len(addrs))
	for _, a := range addrs {
		in[a] = true
	}
	users := map[string][]string{}
	for _, a := range addrs {
		for _, d := range b.state[a].DependsOn {
			if in[d] {
				users[d] = append(users[d], a)
			}
		}
	}
	for _, a := range addrs {
		rs := b.state[a]
		prevent := rs.PreventDestroy
		r := b.resource(a)
		if r == nil {
			// An instance that count or for_each no longer produces: its
			// block, still in the configuration, decides.
			r = b.sameBlock(a)
		}
		if r != nil {
			// The configuration, when it still declares the resource, wins
			// over what state recorded: prevent_destroy = false lifts it.
			prevent = r.Lifecycle.PreventDestroy
		}
		if prevent {
			d := &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Resource cannot be destroyed",
				Detail: fmt.Sprintf("%s has lifecycle.prevent_destroy set, so Clockwork will not delete it. "+
					"To delete it, set prevent_destroy = false and apply first.", a),
			}
			if r != nil {
				d.Subject = rangePtr(r.DeclRange)
			} else {
				d.Detail = fmt.Sprintf("%s was removed from the configuration, but it was applied with lifecycle.prevent_destroy set, so Clockwork will not delete it. "+
					"Restore its resource block, or set prevent_destroy = false and apply before removing it.", a)
			}
			diags = append(diags, d)
		}
	}
	if diags.HasErrors() {
		return diags
	}
	// waitFor(a): the step ids a's first delete step waits for: the last
	// delete step of each resource that depended on a, looking through
	// dependents that have no delete steps.
	memo := map[string][]string{}
	visiting := map[string]bool{}
	var waitFor func(a string) []string
	waitFor = func(a string) []string {
		if w, ok := memo[a]; ok {
			return w
		}
		if visiting[a] {
			return nil // a cycle in recorded state; sortSteps reports it
		}
		visiting[a] = true
		var out []string
		for _, u := range users[a] {
			if ds := b.state[u].DeleteSteps; len(ds) > 0 {
				out = append(out, contract.StepID(u, ds[len(ds)-1].Name))
			} else {
				out = append(out, waitFor(u)...)
			}
		}
		out = sortUniqueStrings(out)
		memo[a] = out
		visiting[a] = false
		return out
	}
	for _, a := range addrs {
		rs := b.state[a]
		b.plan.Resources[a] = ResourceInfo{
			Address: a, Type: rs.Type, Change: contract.ChangeDelete, Provider: rs.Provider,
			ConfigHash: rs.ConfigHash, DependsOn: append([]string(nil), rs.DependsOn...), PreventDestroy: rs.PreventDestroy,
		}
		if len(rs.DeleteSteps) == 0 {
			b.plan.Forget = append(b.plan.Forget, a)
			continue
		}
		var wanted []string
		for k, ds := range rs.DeleteSteps {
			step := ds
			step.ID = contract.StepID(a, ds.Name)
			step.Resource = a
			step.Change = contract.ChangeDelete
			step.Args = copyArgs(ds.Args)
			step.SecretEnv = append([]string(nil), ds.SecretEnv...)
			if k == 0 {
				step.DependsOn = waitFor(a)
			} else {
				step.DependsOn = []string{contract.StepID(a, rs.DeleteSteps[k-1].Name)}
			}
			wanted = append(wanted, step.SecretEnv...)
			b.steps = append(b.steps, step)
		}
		// When destroying a resource still in the configuration, its
		// secrets are still at hand.
		if cr := b.resource(a); destroy && cr != nil && len(wanted) > 0 {
			c := newConverter(cr)
			planResource(c, cr, cr.Attrs)
			for _, name := range wanted {
				if v, ok := c.secrets[name]; ok {
					b.plan.Secrets[name] = v
				}
			}
		}
	}
	return diags
}

// resource returns the configuration's resource at addr, or nil.
// sameBlock returns a resource instance of the same block as the instance
// address addr (`file.f[3]` -> any `file.f[...]`), or nil.
func (b *builder) sameBlock(addr string) *ir.Resource {
	i := strings.LastIndexByte(addr, '[')
	if i < 0 || !strings.HasSuffix(addr, "]") {
		return nil
	}
	base := addr[:i]
	for _, r := range b.cfg.Resources {
		if strings.HasPrefix(r.Addr, base+"[") || r.Addr == base {
			return r
		}
	}
	return nil
}

func (b *builder) resource(addr string) *ir.Resource {
	if i, ok := b.g.index[addr]; ok {
		return b.g.res[i]
	}
	return nil
}

func copyArgs(args map[string]any) map[string]any {
	if args == nil {
		return map[string]any{}
	}
	out := make(map[string]any, len(args))
	for k, v := range args {
		out[k] = v
	}
	return out
}

// sortSteps orders steps topologically, ties broken by step id (Kahn's
// algorithm with a heap of ready steps: O(n log n)). A dependency on a step
// that is not planned is dropped (it ran earlier or is outside --target).
func sortSteps(steps []contract.Step) ([]contract.Step, hcl.Diagnostics) {
	idx := make(map[string]int, len(steps))
	for i, s := range steps {
		if _, dup := idx[s.ID]; dup {
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Duplicate step id",
				Detail: fmt.Sprintf("Two planned steps have the id %s.", s.ID)}}
		}
		idx[s.ID] = i
	}
	pending := make([]int, len(steps))
	users := make([][]int, len(steps))
	for i := range steps {
		kept := steps[i].DependsOn[:0:0]
		for _, d := range steps[i].DependsOn {
			if j, ok := idx[d]; ok {
				kept = append(kept, d)
				users[j] = append(users[j], i)
				pending[i]++
			}
		}
		if len(kept) == 0 {
			kept = nil
		}
		steps[i].DependsOn = kept
	}
	ready := &stepHeap{steps: steps}
	for i := range steps {
		if pending[i] == 0 {
			ready.items = append(ready.items, i)
		}
	}
	heap.Init(ready)
	out := make([]contract.Step, 0, len(steps))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		out = append(out, steps[i])
		for _, u := range users[i] {
			if pending[u]--; pending[u] == 0 {
				heap.Push(ready, u)
			}
		}
	}
	if len(out) != len(steps) {
		var stuck []string
		for i := range steps {
			if pending[i] > 0 {
				stuck = append(stuck, steps[i].ID)
			}
		}
		sort.Strings(stuck)
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Dependency cycle among planned steps",
			Detail: "The recorded state orders these deletes in a cycle: " + strings.Join(stuck, ", ") + "."}}
	}
	return out, nil
}

type stepHeap struct {
	steps []contract.Step
	items []int
}

func (h *stepHeap) Len() int           { return len(h.items) }
func (h *stepHeap) Less(i, j int) bool { return h.steps[h.items[i]].ID < h.steps[h.items[j]].ID }
func (h *stepHeap) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *stepHeap) Push(x any)         { h.items = append(h.items, x.(int)) }
func (h *stepHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

func sortUniqueStrings(xs []string) []string {
	if len(xs) == 0 {
		return nil
	}
	sort.Strings(xs)
	out := xs[:1]
	for _, x := range xs[1:] {
		if x != out[len(out)-1] {
			out = append(out, x)
		}
	}
	return out
}

// checkPathConflicts warns about two resources that manage the same path (two
// files writing one file, a file and a directory at one path): each apply
// would undo the other.
func (b *builder) checkPathConflicts() hcl.Diagnostics {
	var diags hcl.Diagnostics
	owner := map[string]string{}
	for _, s := range b.steps {
		if s.Change == contract.ChangeDelete {
			continue
		}
		switch s.Name {
		case contract.StepEnsureFile, contract.StepEnsureDirectory, contract.StepFetchRepo:
		default:
			continue
		}
		p, ok := s.Args["path"].(string)
		if !ok || p == "" {
			continue
		}
		p = path.Clean(p)
		first, taken := owner[p]
		if !taken {
			owner[p] = s.Resource
			continue
		}
		if first == s.Resource {
			continue
		}
		d := &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Two resources manage the same path",
			Detail:   fmt.Sprintf("%s and %s both manage %q; every apply would undo the other. Give one of them another path.", first, s.Resource, p),
		}
		if r := b.resource(s.Resource); r != nil {
			d.Subject = rangePtr(r.DeclRange)
			if ar, ok := r.AttrRanges["path"]; ok {
				d.Subject = rangePtr(ar)
			}
		}
		diags = append(diags, d)
	}
	return diags
}
