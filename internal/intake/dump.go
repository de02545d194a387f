package intake

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/clockwork-iac/clockwork/internal/ir"
)

// Dump renders a configuration as stable, human-readable text, for golden
// tests and debugging. Values are HCL-like; a value known only after apply is
// shown as (known after apply: ADDR KEY), a sensitive one as (sensitive)
// without its value. Ranges are FILE:LINE,COL.
func Dump(cfg *ir.Config) []byte {
	var b bytes.Buffer
	for _, v := range cfg.Variables {
		fmt.Fprintf(&b, "variable %q {\n", v.Name)
		fmt.Fprintf(&b, "  type      = %s\n", typeString(v.Type))
		fmt.Fprintf(&b, "  value     = %s\n", dumpValue(v.Value, "  "))
		fmt.Fprintf(&b, "  source    = %q\n", v.Source)
		if v.Sensitive {
			b.WriteString("  sensitive = true\n")
		}
		if v.Description != "" {
			fmt.Fprintf(&b, "  description = %q\n", v.Description)
		}
		fmt.Fprintf(&b, "  decl      = %s\n}\n", rangeString(v.DeclRange))
	}
	for _, p := range cfg.Providers {
		fmt.Fprintf(&b, "provider %q {\n  config = %s\n  decl   = %s\n}\n", p.Ref(), dumpValue(p.Config, "  "), rangeString(p.DeclRange))
	}
	for _, m := range cfg.Modules {
		fmt.Fprintf(&b, "module %q {\n  source = %q\n", m.Path, m.Source)
		if m.Version != "" {
			fmt.Fprintf(&b, "  version = %q\n", m.Version)
		}
		if m.Resolved != "" {
			fmt.Fprintf(&b, "  resolved = %q\n", m.Resolved)
		}
		fmt.Fprintf(&b, "  dir    = %q\n  decl   = %s\n}\n", m.Dir, rangeString(m.DeclRange))
	}
	for _, r := range cfg.Resources {
		fmt.Fprintf(&b, "resource %q {\n", r.Addr)
		if r.Module != "" {
			fmt.Fprintf(&b, "  module     = %q\n", r.Module)
		}
		switch k := r.Key.(type) {
		case int:
			fmt.Fprintf(&b, "  key        = %d\n", k)
		case string:
			fmt.Fprintf(&b, "  key        = %q\n", k)
		}
		fmt.Fprintf(&b, "  provider   = %q\n", r.Provider)
		if r.Retries != 0 {
			fmt.Fprintf(&b, "  retries    = %d\n", r.Retries)
		}
		if r.Timeout != 0 {
			fmt.Fprintf(&b, "  timeout    = %d\n", r.Timeout)
		}
		if r.Lifecycle.PreventDestroy || len(r.Lifecycle.IgnoreChanges) > 0 {
			fmt.Fprintf(&b, "  lifecycle  = { prevent_destroy = %t, ignore_changes = %s }\n", r.Lifecycle.PreventDestroy, quoteAll(r.Lifecycle.IgnoreChanges))
		}
		if len(r.DependsOn) > 0 {
			fmt.Fprintf(&b, "  depends_on = %s\n", quoteAll(r.DependsOn))
		}
		fmt.Fprintf(&b, "  decl       = %s\n", rangeString(r.DeclRange))
		fmt.Fprintf(&b, "  attrs      = %s\n}\n", dumpValue(r.Attrs, "  "))
	}
	for _, o := range cfg.Outputs {
		fmt.Fprintf(&b, "output %q {\n  value = %s\n", o.Name, dumpValue(o.Value, "  "))
		if o.Sensitive {
			b.WriteString("  sensitive = true\n")
		}
		if o.Description != "" {
			fmt.Fprintf(&b, "  description = %q\n", o.Description)
		}
		if len(o.DependsOn) > 0 {
			fmt.Fprintf(&b, "  depends_on = %s\n", quoteAll(o.DependsOn))
		}
		fmt.Fprintf(&b, "  decl  = %s\n}\n", rangeString(o.DeclRange))
	}
	return b.Bytes()
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func rangeString(r hcl.Range) string {
	return fmt.Sprintf("%s:%d,%d", r.Filename, r.Start.Line, r.Start.Column)
}

func dumpValue(v cty.Value, indent string) string {
	if v == cty.NilVal {
		return "(nil)"
	}
	uv, marks := v.Unmark()
	if _, ok := marks[ir.Sensitive]; ok {
		return "(sensitive)"
	}
	if !uv.IsKnown() {
		ds := ir.DeferredOf(v)
		if len(ds) == 0 {
			return "(unknown)"
		}
		var parts []string
		for _, d := range ds {
			parts = append(parts, d.Resource+" "+d.Attr+" "+d.Key)
		}
		return "(known after apply: " + strings.Join(parts, ", ") + ")"
	}
	if uv.IsNull() {
		return "null"
	}
	ty := uv.Type()
	inner := indent + "  "
	switch {
	case ty == cty.String:
		s := strconv.Quote(uv.AsString())
		if len(marks) > 0 {
			return s + " " + marksString(marks)
		}
		return s
	case ty == cty.Number:
		return uv.AsBigFloat().Text('f', -1)
	case ty == cty.Bool:
		return strconv.FormatBool(uv.True())
	case ty.IsListType() || ty.IsTupleType() || ty.IsSetType():
		if uv.LengthInt() == 0 {
			return "[]"
		}
		var b strings.Builder
		b.WriteString("[\n")
		for it := uv.ElementIterator(); it.Next(); {
			_, e := it.Element()
			b.WriteString(inner + dumpValue(e, inner) + ",\n")
		}
		return b.String() + indent + "]"
	case ty.IsMapType() || ty.IsObjectType():
		if uv.LengthInt() == 0 {
			return "{}"
		}
		var keys []string
		vals := map[string]cty.Value{}
		for it := uv.ElementIterator(); it.Next(); {
			k, e := it.Element()
			keys = append(keys, k.AsString())
			vals[k.AsString()] = e
		}
		slices.Sort(keys)
		var b strings.Builder
		b.WriteString("{\n")
		for _, k := range keys {
			name := k
			if !hclIdent(k) {
				name = strconv.Quote(k)
			}
			b.WriteString(inner + name + " = " + dumpValue(vals[k], inner) + "\n")
		}
		return b.String() + indent + "}"
	}
	return uv.GoString()
}

func marksString(marks cty.ValueMarks) string {
	var parts []string
	for m := range marks {
		parts = append(parts, fmt.Sprint(m))
	}
	slices.Sort(parts)
	return "(marks: " + strings.Join(parts, ", ") + ")"
}

func hclIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '-')) {
			return false
		}
	}
	return true
}
