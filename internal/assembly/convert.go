package assembly

import (
	"fmt"
	"math/big"
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/ir"
)

// deferredNote is the placeholder a view shows for a value known only after apply.
const deferredNote = "(known after apply)"

// converter turns the cty attributes of one resource into step args. It
// records the secrets and deferred values it meets on the way.
type converter struct {
	r     *ir.Resource
	diags hcl.Diagnostics
	// secrets maps env name -> value for every sensitive value met.
	secrets map[string]string
	// deferred lists the upstream outputs the args consume.
	deferred []ir.Deferred
}

func newConverter(r *ir.Resource) *converter {
	return &converter{r: r, secrets: map[string]string{}}
}

// attrRange is the range of a top-level attribute, or the resource's.
func (c *converter) attrRange(attr string) *hcl.Range {
	if rng, ok := c.r.AttrRanges[attr]; ok {
		return &rng
	}
	rng := c.r.DeclRange
	return &rng
}

func (c *converter) errorf(attr, summary, detail string) {
	c.diags = append(c.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   detail,
		Subject:  c.attrRange(attr),
	})
}

// put converts v and stores it in args under attr, or under attr+"Var" when
// v is wholly deferred or a sensitive primitive. A null v stores nothing.
// path is the dotted attribute path used to name secrets ("health_check.path").
func (c *converter) put(args map[string]any, attr, path string, v cty.Value) {
	if v == cty.NilVal {
		return
	}
	uv, marks := v.Unmark()
	if uv.IsNull() {
		return
	}
	_, sensitive := marks[ir.Sensitive]
	if !uv.IsKnown() {
		if c.ownOutput(marks) {
			return // the resource's own computed attribute, not an input
		}
		if env, ok := c.deferredEnv(attr, uv, marks); ok {
			args[attr+"Var"] = env
		}
		return
	}
	if sensitive && isPrimitive(uv.Type()) {
		args[attr+"Var"] = c.secret(path, uv)
		return
	}
	args[attr] = c.value(attr, path, uv, sensitive)
}

// value converts a known, unmarked-at-top value; its elements may carry marks.
// sensitive says an enclosing value was marked sensitive.
func (c *converter) value(attr, path string, v cty.Value, sensitive bool) any {
	ty := v.Type()
	switch {
	case ty == cty.String:
		return v.AsString()
	case ty == cty.Number:
		return number(v.AsBigFloat())
	case ty == cty.Bool:
		return v.True()
	case ty.IsListType(), ty.IsSetType(), ty.IsTupleType():
		out := make([]any, 0, v.LengthInt())
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			_, e := it.Element()
			out = append(out, c.elem(attr, path+"."+strconv.Itoa(i), e, sensitive, true))
		}
		return out
	case ty.IsMapType(), ty.IsObjectType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if e.IsNull() {
				continue
			}
			key := k.AsString()
			out[key] = c.elem(attr, path+"."+key, e, sensitive, false)
		}
		return out
	}
	c.errorf(attr, "Unsupported value", fmt.Sprintf("%s has a value of type %s, which cannot be passed to a step.", path, ty.FriendlyName()))
	return nil
}

// elem converts a nested element, which may be marked or unknown.
func (c *converter) elem(attr, path string, e cty.Value, sensitive, inList bool) any {
	ue, marks := e.Unmark()
	if _, ok := marks[ir.Sensitive]; ok {
		sensitive = true
	}
	if ue.IsNull() {
		return nil
	}
	if !ue.IsKnown() {
		if env, ok := c.deferredEnv(attr, ue, marks); ok {
			return map[string]any{"fromEnv": env}
		}
		return nil
	}
	if sensitive && isPrimitive(ue.Type()) {
		return map[string]any{"fromEnv": c.secret(path, ue)}
	}
	return c.value(attr, path, ue, sensitive)
}

// deferredEnv returns the env name that carries a wholly deferred value, or
// records a diagnostic when the value is only partly known.
func (c *converter) deferredEnv(attr string, uv cty.Value, marks cty.ValueMarks) (string, bool) {
	ds := ir.DeferredOf(cty.UnknownVal(cty.DynamicPseudoType).WithMarks(marks))
	if len(ds) == 0 {
		c.errorf(attr, "Value not known at plan time",
			fmt.Sprintf("%s of %s has no value at plan time and names no step output that provides one.", attr, c.r.Addr))
		return "", false
	}
	partial := len(ds) > 1
	if uv.Type() == cty.String && uv.Range().StringPrefix() != "" {
		partial = true
	}
	if partial {
		d := ds[0]
		c.errorf(attr, "Value known only after apply",
			fmt.Sprintf("%s depends on %s.%s, known only after apply; reference it whole", attr, d.Resource, d.Attr))
		return "", false
	}
	c.deferred = append(c.deferred, ds[0])
	return contract.OutputEnv(ds[0].Resource, ds[0].Key), true
}

// ownOutput reports whether every Deferred mark names the resource itself:
// a computed attribute (ref, commit, outputs) that intake may leave in
// Attrs as unknown. It is an output of the steps, not an input.
func (c *converter) ownOutput(marks cty.ValueMarks) bool {
	n := 0
	for m := range marks {
		if d, ok := m.(ir.Deferred); ok {
			if d.Resource != c.r.Addr {
				return false
			}
			n++
		}
	}
	return n > 0
}

// secret records a sensitive primitive and returns the env name carrying it.
func (c *converter) secret(path string, v cty.Value) string {
	name := contract.SecretEnvName(c.r.Addr, path)
	c.secrets[name] = primitiveString(v)
	return name
}

func isPrimitive(ty cty.Type) bool {
	return ty == cty.String || ty == cty.Number || ty == cty.Bool
}

func primitiveString(v cty.Value) string {
	switch v.Type() {
	case cty.String:
		return v.AsString()
	case cty.Number:
		return v.AsBigFloat().Text('f', -1)
	case cty.Bool:
		return strconv.FormatBool(v.True())
	}
	return ""
}

// number returns an int64 for an integral value that fits, else a float64.
func number(f *big.Float) any {
	if f.IsInt() {
		if i, acc := f.Int64(); acc == big.Exact {
			return i
		}
	}
	x, _ := f.Float64()
	return x
}

// getAttr returns the attribute name of an object or map value (unmarked at
// the top), or a null value when absent. A list or tuple of one element (a
// nested block) is looked through.
func getAttr(v cty.Value, name string) cty.Value {
	v, _ = v.Unmark()
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	ty := v.Type()
	switch {
	case ty.IsObjectType():
		if ty.HasAttribute(name) {
			return v.GetAttr(name)
		}
	case ty.IsMapType():
		if v.HasIndex(cty.StringVal(name)).True() {
			return v.Index(cty.StringVal(name))
		}
	case ty.IsListType(), ty.IsTupleType():
		if v.LengthInt() == 1 {
			return getAttr(v.Index(cty.NumberIntVal(0)), name)
		}
	}
	return cty.NullVal(cty.DynamicPseudoType)
}

// isNull reports whether v is absent or null, looking through marks.
func isNull(v cty.Value) bool {
	return v == cty.NilVal || v.IsNull()
}
