package assembly

import (
	"fmt"
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/clockwork-iac/clockwork/internal/ir"
)

// Outputs returns the root module's output values converted like step args:
// a sensitive output is nil, a value known only after apply is the string
// "(known after apply)" (nested values too). A non-sensitive output that
// contains a sensitive value is an error, as in Terraform: mark it sensitive.
func Outputs(cfg *ir.Config) (map[string]any, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	out := make(map[string]any, len(cfg.Outputs))
	for _, o := range cfg.Outputs {
		if o.Sensitive {
			out[o.Name] = nil
			continue
		}
		v, leaked := outputValue(o.Value)
		if leaked {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Output refers to sensitive values",
				Detail: fmt.Sprintf("output %q contains a value derived from a sensitive variable. "+
					"Set sensitive = true in the output block to confirm it may be recorded only as null.", o.Name),
				Subject: rangePtr(o.DeclRange),
			})
			out[o.Name] = nil
			continue
		}
		out[o.Name] = v
	}
	return out, diags
}

// outputValue converts v; leaked reports a sensitive value inside.
func outputValue(v cty.Value) (any, bool) {
	if v == cty.NilVal {
		return nil, false
	}
	uv, marks := v.Unmark()
	if _, s := marks[ir.Sensitive]; s {
		return nil, true
	}
	if !uv.IsKnown() {
		return deferredNote, false
	}
	if uv.IsNull() {
		return nil, false
	}
	ty := uv.Type()
	switch {
	case ty == cty.String:
		return uv.AsString(), false
	case ty == cty.Number:
		return number(uv.AsBigFloat()), false
	case ty == cty.Bool:
		return uv.True(), false
	case ty.IsListType(), ty.IsSetType(), ty.IsTupleType():
		list := make([]any, 0, uv.LengthInt())
		leaked := false
		for it := uv.ElementIterator(); it.Next(); {
			_, e := it.Element()
			x, l := outputValue(e)
			leaked = leaked || l
			list = append(list, x)
		}
		return list, leaked
	case ty.IsMapType(), ty.IsObjectType():
		m := map[string]any{}
		leaked := false
		for it := uv.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if isNull(e) {
				continue
			}
			x, l := outputValue(e)
			leaked = leaked || l
			m[k.AsString()] = x
		}
		return m, leaked
	}
	return strconv.Quote(ty.FriendlyName()), false
}
