package ir

import "github.com/zclconf/go-cty/cty"

// Sensitive marks a value derived from a sensitive variable or output.
const Sensitive = sensitiveMark("sensitive")

type sensitiveMark string

// Deferred marks an unknown value that becomes known when the step that owns
// it publishes Key through $CW_OUTPUT. Resource is the address of the
// resource whose steps publish it.
type Deferred struct {
	Resource string
	Attr     string // the attribute referenced, e.g. "ref"
	Key      string // the $CW_OUTPUT key, e.g. "IMAGE_REF"
}

// IsSensitive reports whether v or anything inside it is marked sensitive.
func IsSensitive(v cty.Value) bool {
	_, pvm := v.UnmarkDeepWithPaths()
	for _, p := range pvm {
		if _, ok := p.Marks[Sensitive]; ok {
			return true
		}
	}
	return false
}

// DeferredOf returns the Deferred marks on v itself (not nested), sorted by
// resource then key.
func DeferredOf(v cty.Value) []Deferred {
	var out []Deferred
	for m := range v.Marks() {
		if d, ok := m.(Deferred); ok {
			out = append(out, d)
		}
	}
	sortDeferred(out)
	return out
}

func sortDeferred(ds []Deferred) {
	for i := 1; i < len(ds); i++ {
		for j := i; j > 0 && less(ds[j], ds[j-1]); j-- {
			ds[j], ds[j-1] = ds[j-1], ds[j]
		}
	}
}

func less(a, b Deferred) bool {
	if a.Resource != b.Resource {
		return a.Resource < b.Resource
	}
	return a.Key < b.Key
}
