package assembly

import (
	"container/heap"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/clockwork-iac/clockwork/internal/ir"
)

// Graph is the desired-state graph: one node per resource instance, an edge
// from each resource to every resource it depends on.
type Graph struct {
	res   []*ir.Resource // sorted by Addr
	index map[string]int
	deps  [][]int // deps[i]: indexes res[i] depends on, ascending
	users [][]int // users[i]: indexes that depend on res[i], ascending
	// order is a topological order (dependencies first, ties by address);
	// nil when the graph has a cycle.
	order []int
}

// NewGraph builds the graph of cfg's resources. A dependency on an address
// that names no resource is an error; a resource address that names several
// instances ("file.f" for file.f[0], file.f[1], or "module.m") depends on all
// of them. Each dependency cycle is one error diagnostic that lists every
// member with its range; the graph is still returned for rendering.
func NewGraph(cfg *ir.Config) (*Graph, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	res := make([]*ir.Resource, 0, len(cfg.Resources))
	for _, r := range cfg.Resources {
		if r != nil {
			res = append(res, r)
		}
	}
	sort.SliceStable(res, func(i, j int) bool { return res[i].Addr < res[j].Addr })
	g := &Graph{index: make(map[string]int, len(res))}
	for _, r := range res {
		if prev, dup := g.index[r.Addr]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate resource",
				Detail:   fmt.Sprintf("%s is declared twice; it was first declared at %s.", r.Addr, rangeString(g.res[prev].DeclRange)),
				Subject:  rangePtr(r.DeclRange),
			})
			continue
		}
		g.index[r.Addr] = len(g.res)
		g.res = append(g.res, r)
	}
	n := len(g.res)
	addrs := make([]string, n)
	for i, r := range g.res {
		addrs[i] = r.Addr
	}
	g.deps = make([][]int, n)
	g.users = make([][]int, n)
	for i, r := range g.res {
		var ds []int
		for _, d := range r.DependsOn {
			js := g.resolve(addrs, d)
			if len(js) == 0 {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Reference to undeclared resource",
					Detail:   fmt.Sprintf("%s depends on %s, which is not declared in the configuration.", r.Addr, d),
					Subject:  rangePtr(r.DeclRange),
				})
			}
			ds = append(ds, js...)
		}
		g.deps[i] = sortUnique(ds)
	}
	for i, ds := range g.deps {
		for _, j := range ds {
			g.users[j] = append(g.users[j], i) // i ascending, so users stay sorted
		}
	}
	if cyc := g.cycles(); len(cyc) > 0 {
		for _, scc := range cyc {
			diags = append(diags, g.cycleDiag(scc))
		}
		return g, diags
	}
	g.order = g.topo()
	return g, diags
}

// resolve returns the indexes an address in depends_on names.
func (g *Graph) resolve(addrs []string, d string) []int {
	if j, ok := g.index[d]; ok {
		return []int{j}
	}
	var out []int
	for _, prefix := range []string{d + "[", d + "."} {
		for j := sort.SearchStrings(addrs, prefix); j < len(addrs) && strings.HasPrefix(addrs[j], prefix); j++ {
			out = append(out, j)
		}
	}
	return out
}

// Resources returns the resources sorted by address.
func (g *Graph) Resources() []*ir.Resource { return g.res }

// Order returns the resources in topological order (every resource after
// those it depends on, ties broken by address), or nil if there is a cycle.
func (g *Graph) Order() []*ir.Resource {
	if g.order == nil {
		return nil
	}
	out := make([]*ir.Resource, len(g.order))
	for k, i := range g.order {
		out[k] = g.res[i]
	}
	return out
}

// DependsOn returns the addresses the resource at addr depends on, sorted.
func (g *Graph) DependsOn(addr string) []string {
	i, ok := g.index[addr]
	if !ok {
		return nil
	}
	out := make([]string, len(g.deps[i]))
	for k, j := range g.deps[i] {
		out[k] = g.res[j].Addr
	}
	return out
}

// topo is Kahn's algorithm with the ready set ordered by index (= address).
func (g *Graph) topo() []int {
	n := len(g.res)
	pending := make([]int, n)
	ready := &intHeap{}
	for i := range g.res {
		pending[i] = len(g.deps[i])
		if pending[i] == 0 {
			ready.items = append(ready.items, i)
		}
	}
	heap.Init(ready)
	order := make([]int, 0, n)
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		order = append(order, i)
		for _, u := range g.users[i] {
			if pending[u]--; pending[u] == 0 {
				heap.Push(ready, u)
			}
		}
	}
	return order
}

// cycles returns the strongly connected components that form cycles (more
// than one member, or a resource depending on itself), each sorted, in order
// of their first member. Tarjan's algorithm, iterative.
func (g *Graph) cycles() [][]int {
	n := len(g.res)
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	var out [][]int
	type frame struct{ v, next int }
	counter := 0
	visit := func(v int) {
		index[v], low[v] = counter, counter
		counter++
		stack = append(stack, v)
		onStack[v] = true
	}
	for s := 0; s < n; s++ {
		if index[s] != -1 {
			continue
		}
		visit(s)
		call := []frame{{s, 0}}
		for len(call) > 0 {
			top := len(call) - 1
			v := call[top].v
			if call[top].next < len(g.deps[v]) {
				w := g.deps[v][call[top].next]
				call[top].next++
				if index[w] == -1 {
					visit(w)
					call = append(call, frame{w, 0})
				} else if onStack[w] && index[w] < low[v] {
					low[v] = index[w]
				}
				continue
			}
			if low[v] == index[v] {
				var scc []int
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					scc = append(scc, w)
					if w == v {
						break
					}
				}
				if len(scc) > 1 || containsInt(g.deps[v], v) {
					sort.Ints(scc)
					out = append(out, scc)
				}
			}
			call = call[:top]
			if top > 0 {
				if u := call[top-1].v; low[v] < low[u] {
					low[u] = low[v]
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// cycleDiag describes one cycle: a path around it, then every member with
// where it is declared. The subject is the first member (by address).
func (g *Graph) cycleDiag(scc []int) *hcl.Diagnostic {
	in := make(map[int]bool, len(scc))
	for _, i := range scc {
		in[i] = true
	}
	// Shortest path from the first member back to itself, inside the SCC.
	start := scc[0]
	prev := map[int]int{}
	queue := []int{start}
	found := false
	for len(queue) > 0 && !found {
		v := queue[0]
		queue = queue[1:]
		for _, w := range g.deps[v] {
			if !in[w] {
				continue
			}
			if w == start {
				prev[start] = v
				found = true
				break
			}
			if _, seen := prev[w]; !seen {
				prev[w] = v
				queue = append(queue, w)
			}
		}
	}
	path := []string{g.res[start].Addr}
	for v := prev[start]; v != start; v = prev[v] {
		path = append(path, g.res[v].Addr)
	}
	// path is start <- ... ; reverse to follow dependency edges forward.
	for i, j := 1, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	path = append(path, g.res[start].Addr)
	var b strings.Builder
	fmt.Fprintf(&b, "These %d resources depend on each other in a cycle: %s.\nMembers:", len(scc), strings.Join(path, " -> "))
	for _, i := range scc {
		fmt.Fprintf(&b, "\n  %s at %s", g.res[i].Addr, rangeString(g.res[i].DeclRange))
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Dependency cycle",
		Detail:   b.String(),
		Subject:  rangePtr(g.res[start].DeclRange),
	}
}

// DOT renders the graph in Graphviz syntax. Edges point from a resource to
// what it depends on (as `terraform graph` draws them). Deterministic.
func (g *Graph) DOT() string {
	var b strings.Builder
	b.WriteString("digraph clockwork {\n  rankdir = \"RL\";\n  node [shape = box];\n")
	for _, r := range g.res {
		fmt.Fprintf(&b, "  %s;\n", dotQuote(r.Addr))
	}
	for i, ds := range g.deps {
		for _, j := range ds {
			fmt.Fprintf(&b, "  %s -> %s;\n", dotQuote(g.res[i].Addr), dotQuote(g.res[j].Addr))
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// Mermaid renders the graph as a Mermaid flowchart, edges pointing from a
// resource to what it depends on. Node ids are n0, n1, ... in address order.
func (g *Graph) Mermaid() string {
	var b strings.Builder
	b.WriteString("flowchart RL\n")
	for i, r := range g.res {
		fmt.Fprintf(&b, "  n%d[\"%s\"]\n", i, strings.ReplaceAll(r.Addr, `"`, "#quot;"))
	}
	for i, ds := range g.deps {
		for _, j := range ds {
			fmt.Fprintf(&b, "  n%d --> n%d\n", i, j)
		}
	}
	return b.String()
}

func dotQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func rangeString(r hcl.Range) string {
	return r.Filename + ":" + strconv.Itoa(r.Start.Line) + ":" + strconv.Itoa(r.Start.Column)
}

func rangePtr(r hcl.Range) *hcl.Range { return &r }

func errorAt(r hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: rangePtr(r)}
}

func sortUnique(xs []int) []int {
	if len(xs) == 0 {
		return nil
	}
	sort.Ints(xs)
	out := xs[:1]
	for _, x := range xs[1:] {
		if x != out[len(out)-1] {
			out = append(out, x)
		}
	}
	return out
}

func containsInt(xs []int, x int) bool {
	k := sort.SearchInts(xs, x)
	return k < len(xs) && xs[k] == x
}

// intHeap is a min-heap of ints.
type intHeap struct{ items []int }

func (h *intHeap) Len() int           { return len(h.items) }
func (h *intHeap) Less(i, j int) bool { return h.items[i] < h.items[j] }
func (h *intHeap) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *intHeap) Push(x any)         { h.items = append(h.items, x.(int)) }
func (h *intHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}
