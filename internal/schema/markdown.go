package schema

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// Markdown renders the reference of every resource type (docs/resources.md).
func Markdown() []byte {
	var b bytes.Buffer
	b.WriteString("# Resource types\n\n")
	b.WriteString("<!-- Generated from internal/schema; do not edit. Rewrite with `go test ./internal/schema -update`. -->\n\n")
	b.WriteString("Every resource block is `resource \"TYPE\" \"NAME\" { ... }`. Besides the attributes below, each accepts the\n")
	b.WriteString("meta-arguments `count`, `for_each`, `depends_on`, `provider`, `retries`, `timeout` (seconds or a duration\n")
	b.WriteString("string such as \"30s\") and a `lifecycle { prevent_destroy, ignore_changes }` block.\n")
	b.WriteString("Relative paths are relative to the configuration directory. A reference to a computed attribute\n")
	b.WriteString("(`image.app.ref`) is known after apply: the step publishes it through `$CW_OUTPUT` under the key shown.\n\n")
	for _, t := range Types() {
		r, _ := Lookup(t)
		fmt.Fprintf(&b, "## %s\n\n%s\n\n", r.Type, r.Description)
		fmt.Fprintf(&b, "Steps: %s. Default provider: %s.\n\n", codeList(r.Steps), providerDoc(r))
		b.WriteString("| attribute | type | required | default | description |\n|---|---|---|---|---|\n")
		for _, a := range r.Attributes {
			writeAttr(&b, a, "")
		}
		b.WriteString("\n| computed attribute | type | $CW_OUTPUT key | description |\n|---|---|---|---|\n")
		for _, c := range r.Computed {
			key := "`" + c.Key + "`"
			if c.Key == "" {
				key = "any"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", c.Name, typeName(c.Type), key, cell(c.Description))
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

func providerDoc(r *Resource) string {
	switch r.Type {
	case "service":
		return "`docker` with `image`, `local` without"
	}
	return "`" + r.DefaultProvider(cty.NullVal(cty.DynamicPseudoType)) + "`"
}

func codeList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = "`" + s + "`"
	}
	return strings.Join(q, ", ")
}

func writeAttr(b *bytes.Buffer, a *Attribute, prefix string) {
	req := "no"
	if a.Required {
		req = "yes"
	}
	d := ""
	if a.Default != cty.NilVal {
		d = "`" + renderDefault(a.Default) + "`"
	}
	desc := a.Description
	if a.Block {
		desc += " May be written as a block."
	}
	if len(a.Enum) > 0 {
		desc += " One of " + quoteList(a.Enum) + "."
	}
	fmt.Fprintf(b, "| `%s%s` | %s | %s | %s | %s |\n", prefix, a.Name, attrTypeName(a), req, d, cell(desc))
	for _, n := range a.Nested {
		p := prefix + a.Name + "."
		if a.Kind == KindObjectList {
			p = prefix + a.Name + "[]."
		}
		writeAttr(b, n, p)
	}
}

func cell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

func renderDefault(v cty.Value) string {
	switch v.Type() {
	case cty.String:
		return fmt.Sprintf("%q", v.AsString())
	case cty.Number:
		return bigText(v.AsBigFloat())
	case cty.Bool:
		return fmt.Sprint(v.True())
	}
	return v.GoString()
}

func attrTypeName(a *Attribute) string {
	switch a.Kind {
	case KindDuration:
		return "duration"
	case KindMode:
		return "string (octal mode)"
	case KindCommand, KindArgv:
		return "string or list(string)"
	case KindAny:
		return "any"
	case KindObject:
		return "object"
	case KindObjectList:
		return "list(object)"
	}
	return typeName(a.Type)
}

func typeName(t cty.Type) string {
	switch {
	case t == cty.String:
		return "string"
	case t == cty.Number:
		return "number"
	case t == cty.Bool:
		return "bool"
	case t.IsListType():
		return "list(" + typeName(t.ElementType()) + ")"
	case t.IsMapType():
		return "map(" + typeName(t.ElementType()) + ")"
	case t.IsSetType():
		return "set(" + typeName(t.ElementType()) + ")"
	}
	return "any"
}
