package schema

import (
	"slices"

	"github.com/zclconf/go-cty/cty"
)

// Kind says how an attribute's value is checked and normalized beyond a
// plain type conversion.
type Kind int

const (
	// KindPlain converts the value to Type.
	KindPlain Kind = iota
	// KindDuration accepts a number of seconds or a duration string ("30s",
	// "5m", "1h30m") and normalizes it to a whole number of seconds.
	KindDuration
	// KindMode accepts an octal file mode ("644", "0644") and normalizes it
	// to four digits.
	KindMode
	// KindCommand accepts a string (run with sh -c) or a list of strings and
	// keeps the form the user wrote.
	KindCommand
	// KindArgv accepts a list of strings, or a string s which becomes
	// ["sh", "-c", s].
	KindArgv
	// KindObject is a nested object whose attributes are Nested; with Block
	// set it may also be written as a nested block.
	KindObject
	// KindObjectList is a list of nested objects whose attributes are Nested.
	KindObjectList
	// KindAny accepts any value and keeps it as written.
	KindAny
)

// Attribute is one configurable attribute of a resource type (or of a
// nested object).
type Attribute struct {
	Name string
	// Type is the normalized type of the value in the IR. It is
	// cty.DynamicPseudoType for KindCommand and KindAny.
	Type     cty.Type
	Kind     Kind
	Required bool
	// Default is the value used when the attribute is absent or null;
	// cty.NilVal means none (the attribute is null).
	Default     cty.Value
	Description string
	// Block means the attribute may also be written as a nested block (for
	// compatibility with earlier .cw files: health_check, logging).
	Block bool
	// Nested are the attributes of a KindObject or KindObjectList value.
	Nested []*Attribute
	// Enum, when set, lists the allowed string values.
	Enum []string
}

// Computed is an attribute known only after apply: the step that applies the
// resource publishes it through $CW_OUTPUT under Key.
type Computed struct {
	Name        string
	Type        cty.Type
	Key         string // "" for outputs: any key the steps write
	Description string
}

// Resource is the schema of one resource type.
type Resource struct {
	Type        string
	Description string
	// Steps are the step kinds the resource plans (docs/steps.md).
	Steps      []string
	Attributes []*Attribute
	Computed   []*Computed
	// finish checks cross-attribute rules and fills conditional defaults in
	// the conformed attribute map.
	finish func(attrs map[string]cty.Value) []Problem
	// provider returns the default provider kind for conformed attributes.
	provider func(attrs cty.Value) string
}

// Attribute returns the attribute named name.
func (r *Resource) Attribute(name string) (*Attribute, bool) {
	for _, a := range r.Attributes {
		if a.Name == name {
			return a, true
		}
	}
	return nil, false
}

// ComputedAttr returns the computed attribute named name.
func (r *Resource) ComputedAttr(name string) (*Computed, bool) {
	for _, c := range r.Computed {
		if c.Name == name {
			return c, true
		}
	}
	return nil, false
}

// ObjectType is the type of the conformed attribute object when no
// attribute is dynamic (KindCommand, KindAny); those stay
// cty.DynamicPseudoType here.
func (r *Resource) ObjectType() cty.Type {
	m := make(map[string]cty.Type, len(r.Attributes))
	for _, a := range r.Attributes {
		m[a.Name] = a.Type
	}
	return cty.Object(m)
}

// DefaultProvider returns the provider kind a resource with the given
// conformed attributes runs on when it names none: "docker" for images,
// networks, volumes and container services, "local" for everything else.
func (r *Resource) DefaultProvider(attrs cty.Value) string {
	if r.provider == nil || attrs.IsNull() || !attrs.IsKnown() || !attrs.Type().IsObjectType() {
		return "local"
	}
	return r.provider(attrs)
}

// Types returns the resource type names, sorted.
func Types() []string {
	out := make([]string, 0, len(table))
	for _, r := range table {
		out = append(out, r.Type)
	}
	slices.Sort(out)
	return out
}

// Lookup returns the schema of a resource type.
func Lookup(typ string) (*Resource, bool) {
	for _, r := range table {
		if r.Type == typ {
			return r, true
		}
	}
	return nil, false
}

// MetaArguments returns the attribute names every resource block accepts
// besides its schema attributes (its one meta block is lifecycle), sorted.
func MetaArguments() []string {
	return []string{"count", "depends_on", "for_each", "provider", "retries", "timeout"}
}

// table is built once at package initialization and never written after.
var table = resources()
