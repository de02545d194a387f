package ir

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Config is one fully evaluated configuration (the root module with its
// child modules expanded into it).
type Config struct {
	// Dir is the configuration directory as given (not made absolute, so the
	// IR stays the same on every machine).
	Dir       string
	Variables []*Variable
	Providers []*Provider
	Resources []*Resource
	Outputs   []*Output
	Modules   []*Module
}

// Variable is a declared input variable of the root module with its final value.
type Variable struct {
	Name        string
	Description string
	Type        cty.Type
	Value       cty.Value // marked Sensitive when Sensitive is set
	Sensitive   bool
	// Source says where the value came from: "default", "file.cwvars",
	// "env", "--var-file F", "--var".
	Source    string
	DeclRange hcl.Range
}

// Provider is a configured runner ("local", "docker", "ssh", "kubernetes").
type Provider struct {
	Kind  string
	Alias string // "" for the default of its kind
	// Config holds the remaining attributes (host, user, ...), evaluated.
	Config    cty.Value
	DeclRange hcl.Range
}

// Ref returns "kind" or "kind.alias".
func (p *Provider) Ref() string {
	if p.Alias == "" {
		return p.Kind
	}
	return p.Kind + "." + p.Alias
}

// Resource is one resource instance.
type Resource struct {
	// Addr is the instance address: "service.web", "file.f[0]",
	// `file.f["a"]`, "module.m.file.f".
	Addr string
	// Module is the module path ("" for root, "module.m" for a child).
	Module string
	Type   string
	Name   string
	// Key is the count index (int) or for_each key (string); nil otherwise.
	Key any
	// Attrs is the evaluated object of all schema attributes, with defaults
	// filled and absent optional attributes null.
	Attrs cty.Value
	// DependsOn are the resource instance addresses this one depends on,
	// from depends_on and from references, sorted and unique.
	DependsOn []string
	// Provider is "local", "docker", "docker.remote", ...: the explicit
	// provider meta-argument, or the default for the type.
	Provider  string
	Retries   int
	Timeout   int // seconds; 0 when not set
	Lifecycle Lifecycle
	DeclRange hcl.Range
	// AttrRanges are the ranges of attributes as written, by top-level name.
	AttrRanges map[string]hcl.Range
}

// Lifecycle is the lifecycle block of a resource.
type Lifecycle struct {
	PreventDestroy bool
	// IgnoreChanges are top-level attribute names whose changes do not cause
	// an update (["all"] ignores every attribute).
	IgnoreChanges []string
}

// Output is a root module output.
type Output struct {
	Name        string
	Description string
	Value       cty.Value // may be unknown (Deferred) before apply
	Sensitive   bool
	DependsOn   []string
	DeclRange   hcl.Range
}

// Module is a resolved module call (for graph and lock reporting).
type Module struct {
	Path   string // "module.m" (nested: "module.a.module.b")
	Source string
	// Version is the requested ref for git sources.
	Version string
	// Resolved is the commit a git source resolved to; "" for local ones.
	Resolved  string
	Dir       string // where its files were read from
	DeclRange hcl.Range
}
