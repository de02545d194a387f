package intake

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hcljson "github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/clockwork-iac/clockwork/internal/ir"
)

// rawValue is one value for a variable before conversion.
type rawValue struct {
	val    cty.Value
	source string
	rng    *hcl.Range
}

// rootVariables resolves the root module's variables: default < *.cwvars
// (sorted by name) < CW_VAR_<name> < --var-file < --var.
func (l *loader) rootVariables(root *moduleDecl) map[string]cty.Value {
	vals := map[string]rawValue{}
	declared := func(name string) bool { _, ok := root.variables[name]; return ok }

	// *.cwvars in the directory.
	entries, _ := os.ReadDir(l.opts.Dir)
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".cwvars") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	for _, n := range names {
		l.varsFile(filepath.Join(l.opts.Dir, n), n, n, vals, declared)
	}
	// CW_VAR_<name>.
	for _, kv := range l.opts.Environ {
		k, v, ok := strings.Cut(kv, "=")
		name, isVar := strings.CutPrefix(k, "CW_VAR_")
		if !ok || !isVar {
			continue
		}
		if d, ok := root.variables[name]; ok {
			if val, ok := l.parseRaw(v, d, "environment variable "+k); ok {
				vals[name] = rawValue{val: val, source: "env"}
			}
		}
	}
	// --var-file.
	for _, f := range l.opts.VarFiles {
		p := f
		if !filepath.IsAbs(p) {
			p = filepath.Join(l.opts.Dir, f)
		}
		l.varsFile(p, filepath.ToSlash(f), "--var-file "+f, vals, declared)
	}
	// --var.
	for _, kv := range l.opts.Vars {
		name, v, ok := strings.Cut(kv, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			l.errorf(nil, "Invalid --var option", "The --var option %q is not of the form NAME=VALUE.", kv)
			continue
		}
		d, ok := root.variables[name]
		if !ok {
			l.errorf(nil, "Value for undeclared variable", "A variable named %q was assigned with --var, but the configuration declares no such variable.", name)
			continue
		}
		if val, ok := l.parseRaw(v, d, "--var "+name); ok {
			vals[name] = rawValue{val: val, source: "--var"}
		}
	}

	out := make(map[string]cty.Value, len(root.variables))
	for _, name := range root.varOrder {
		d := root.variables[name]
		rv, has := vals[name]
		v := &ir.Variable{Name: name, Description: d.description, Type: d.ty, Sensitive: d.sensitive, DeclRange: d.rng}
		switch {
		case has:
			cv, err := convertVar(rv.val, d)
			if err != nil {
				subj := rv.rng
				if subj == nil {
					subj = d.rng.Ptr()
				}
				l.errorf(subj, "Invalid value for variable", "The value for variable %q (from %s) is not compatible with its type %s: %s.", name, rv.source, typeString(d.ty), err)
				cv = cty.UnknownVal(d.ty)
			}
			v.Value, v.Source = cv, rv.source
		case d.def != cty.NilVal:
			v.Value, v.Source = d.def, "default"
		case l.opts.Validate:
			v.Value, v.Source = cty.UnknownVal(d.ty), "unset"
		default:
			l.errorf(d.rng.Ptr(), "No value for required variable", "The variable %q is required but has no value; set it with --var %s=VALUE, a .cwvars file, --var-file or CW_VAR_%s.", name, name, name)
			v.Value, v.Source = cty.UnknownVal(d.ty), "unset"
		}
		l.validateVariable(root, d, v.Value)
		if d.sensitive {
			v.Value = v.Value.Mark(ir.Sensitive)
		}
		out[name] = v.Value
		l.cfg.Variables = append(l.cfg.Variables, v)
	}
	slices.SortFunc(l.cfg.Variables, func(a, b *ir.Variable) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func typeString(ty cty.Type) string {
	if ty == cty.DynamicPseudoType {
		return "any"
	}
	return typeexpr.TypeString(ty)
}

// varsFile reads a .cwvars or --var-file: HCL attributes, `variable "x" {
// default = ... }` blocks (as earlier .cw projects wrote them), or JSON when
// the name ends in .json.
func (l *loader) varsFile(path, rel, source string, vals map[string]rawValue, declared func(string) bool) {
	src, err := os.ReadFile(path)
	if err != nil {
		l.errorf(nil, "Cannot read variables file", "Reading %s: %v.", rel, unwrapPathErr(err))
		return
	}
	var f *hcl.File
	var diags hcl.Diagnostics
	if strings.HasSuffix(path, ".json") {
		f, diags = hcljson.Parse(src, rel)
	} else {
		f, diags = hclsyntax.ParseConfig(src, rel, hcl.InitialPos)
	}
	l.diags = append(l.diags, diags...)
	if f == nil || f.Body == nil {
		return
	}
	l.files[rel] = f
	type item struct {
		name string
		expr hcl.Expression
		rng  hcl.Range
	}
	var items []item
	if body, ok := f.Body.(*hclsyntax.Body); ok {
		for _, b := range body.Blocks {
			if b.Type != "variable" || len(b.Labels) != 1 {
				l.errorf(b.TypeRange.Ptr(), "Unexpected block in variables file", "A variables file holds NAME = VALUE lines (or variable \"NAME\" { default = VALUE } blocks), not %s blocks.", b.Type)
				continue
			}
			if a, ok := b.Body.Attributes["default"]; ok {
				items = append(items, item{b.Labels[0], a.Expr, b.DefRange()})
			}
		}
		for _, a := range body.Attributes {
			items = append(items, item{a.Name, a.Expr, a.NameRange})
		}
	} else {
		attrs, diags := f.Body.JustAttributes()
		l.diags = append(l.diags, diags...)
		for _, a := range attrs {
			items = append(items, item{a.Name, a.Expr, a.NameRange})
		}
	}
	slices.SortFunc(items, func(a, b item) int { return a.rng.Start.Byte - b.rng.Start.Byte })
	for _, it := range items {
		if !declared(it.name) {
			l.warnf(it.rng.Ptr(), "Value for undeclared variable", "The file %s assigns %q, but the configuration declares no variable of that name; the value is ignored.", rel, it.name)
			continue
		}
		v, diags := it.expr.Value(nil)
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			continue
		}
		vals[it.name] = rawValue{val: v, source: source, rng: it.expr.Range().Ptr()}
	}
}

// parseRaw turns a string from --var or the environment into a value: taken
// literally for primitive (and "any") types, parsed as an HCL expression for
// collections and structures.
func (l *loader) parseRaw(raw string, d *varDecl, what string) (cty.Value, bool) {
	if d.ty.IsPrimitiveType() || d.ty == cty.DynamicPseudoType {
		return cty.StringVal(raw), true
	}
	expr, diags := hclsyntax.ParseExpression([]byte(raw), what, hcl.InitialPos)
	if !diags.HasErrors() {
		var v cty.Value
		v, diags = expr.Value(nil)
		if !diags.HasErrors() {
			return v, true
		}
	}
	l.errorf(nil, "Invalid value for variable", "The value for variable %q from %s is not a valid %s: %s.", d.name, what, typeString(d.ty), diagsText(diags))
	return cty.NilVal, false
}

// validateVariable evaluates the validation blocks of d against v.
func (l *loader) validateVariable(m *moduleDecl, d *varDecl, v cty.Value) {
	if len(d.validations) == 0 || !v.IsWhollyKnown() {
		return
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{d.name: v})},
		Functions: m.funcs,
	}
	for _, val := range d.validations {
		for _, tr := range val.condition.Variables() {
			if tr.RootName() != "var" || len(tr) < 2 || traverseName(tr[1]) != d.name {
				l.errorf(tr.SourceRange().Ptr(), "Invalid reference in variable validation", "The condition for variable %q can only refer to the variable itself, using var.%s.", d.name, d.name)
				return
			}
		}
		res, diags := val.condition.Value(ctx)
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			continue
		}
		res, _ = res.Unmark()
		res, err := convert.Convert(res, cty.Bool)
		if err != nil || res.IsNull() {
			l.errorf(val.condition.Range().Ptr(), "Invalid validation condition", "The condition must be true or false.")
			continue
		}
		if !res.IsKnown() || res.True() {
			continue
		}
		msg := "The value is not valid."
		if mv, diags := val.message.Value(ctx); !diags.HasErrors() {
			if mv, _ = mv.Unmark(); mv.Type() == cty.String && mv.IsKnown() && !mv.IsNull() {
				msg = mv.AsString()
			}
		}
		l.errorf(val.condition.Range().Ptr(), "Invalid value for variable", "%s\n\nThis was checked by the validation rule of variable %q.", msg, d.name)
	}
}

func traverseName(s hcl.Traverser) string {
	switch t := s.(type) {
	case hcl.TraverseAttr:
		return t.Name
	case hcl.TraverseRoot:
		return t.Name
	}
	return ""
}

var _ = fmt.Sprint
