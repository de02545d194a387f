package intake

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/clockwork-iac/clockwork/internal/schema"
)

// moduleDecl holds the declarations of one module directory.
type moduleDecl struct {
	dir    string // on disk
	relDir string // as named in diagnostics ("." for the root)
	funcs  map[string]function.Function

	variables map[string]*varDecl
	varOrder  []string
	locals    map[string]*localDecl
	outputs   []*outputDecl
	resources map[string]*resourceDecl // by "TYPE.NAME"
	resOrder  []*resourceDecl
	calls     map[string]*callDecl
	callOrder []*callDecl
	providers []*providerDecl
	// badTypes are resource types declared with an unknown type: references
	// to them are not reported again.
	badTypes map[string]bool
}

type varDecl struct {
	name        string
	description string
	ty          cty.Type
	defaults    *typeexpr.Defaults
	def         cty.Value // cty.NilVal when there is no default
	defRange    hcl.Range
	sensitive   bool
	validations []validation
	rng         hcl.Range
}

type validation struct {
	condition hcl.Expression
	message   hcl.Expression
}

type localDecl struct {
	name string
	expr hcl.Expression
	rng  hcl.Range
}

type outputDecl struct {
	name        string
	description string
	expr        hcl.Expression
	sensitive   bool
	dependsOn   []hcl.Traversal
	rng         hcl.Range
}

type resourceDecl struct {
	typ, name string
	key       string // "TYPE.NAME"
	sch       *schema.Resource
	block     *hcl.Block
	attrs     map[string]*hcl.Attribute // schema attributes written as attributes
	blocks    map[string]*hcl.Block     // schema attributes written as blocks
	count     *hcl.Attribute
	forEach   *hcl.Attribute
	retries   *hcl.Attribute
	timeout   *hcl.Attribute
	provider  string
	dependsOn []hcl.Traversal
	lifecycle lifecycleDecl
	// travs are the traversals of every expression of the resource except
	// depends_on, which needs no values.
	travs []hcl.Traversal
}

type lifecycleDecl struct {
	preventDestroy bool
	ignoreChanges  []string
}

type callDecl struct {
	name      string
	source    string
	srcRange  hcl.Range
	version   string
	inputs    map[string]*hcl.Attribute
	dependsOn []hcl.Traversal
	travs     []hcl.Traversal
	rng       hcl.Range
}

type providerDecl struct {
	kind, alias string
	attrs       map[string]*hcl.Attribute
	rng         hcl.Range
}

var providerKinds = []string{"docker", "kubernetes", "local", "ssh"}

var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "output", LabelNames: []string{"name"}},
		{Type: "resource", LabelNames: []string{"type", "name"}},
		{Type: "module", LabelNames: []string{"name"}},
		{Type: "provider", LabelNames: []string{"kind"}},
	},
}

// parseModuleDir reads every *.cw file of dir as one module.
func (l *loader) parseModuleDir(dir, relDir string, isRoot bool, callRange *hcl.Range) *moduleDecl {
	if m, ok := l.modDecls[dir]; ok {
		return m
	}
	m := &moduleDecl{
		dir: dir, relDir: relDir, funcs: functions(dir, relDir),
		variables: map[string]*varDecl{}, locals: map[string]*localDecl{},
		resources: map[string]*resourceDecl{}, calls: map[string]*callDecl{}, badTypes: map[string]bool{},
	}
	l.modDecls[dir] = m
	entries, err := os.ReadDir(dir)
	if err != nil {
		l.diags = append(l.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read configuration directory",
			Detail: fmt.Sprintf("Reading %s: %v.", relDir, unwrapPathErr(err)), Subject: callRange})
		return m
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".cw") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		l.diags = append(l.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No configuration files",
			Detail: fmt.Sprintf("The directory %s contains no .cw files.", relDir), Subject: callRange})
		return m
	}
	// Parse the files in parallel; record them in name order.
	type parsed struct {
		f     *hcl.File
		diags hcl.Diagnostics
	}
	results := make([]parsed, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					results[i] = parsed{diags: hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Internal error in intake",
						Detail: fmt.Sprintf("Parsing %s failed unexpectedly: %v. Please report this.", relJoin(relDir, n), r)}}}
				}
			}()
			results[i].f, results[i].diags = parseFile(filepath.Join(dir, n), relJoin(relDir, n))
		}()
	}
	wg.Wait()
	// Syntax errors come alone: decoding a partly parsed body would add
	// misleading errors (a missing attribute after an unclosed block).
	syntaxErr := false
	for i, n := range names {
		if results[i].diags.HasErrors() {
			syntaxErr = true
			if f := results[i].f; f != nil {
				l.files[relJoin(relDir, n)] = f
			}
		}
	}
	if syntaxErr {
		for i := range names {
			l.diags = append(l.diags, results[i].diags...)
		}
		return m
	}
	var bodies []*hcl.BodyContent
	for i, n := range names {
		f := results[i].f
		l.diags = append(l.diags, results[i].diags...)
		if f == nil {
			continue
		}
		l.files[relJoin(relDir, n)] = f
		content, diags := f.Body.Content(rootSchema)
		l.diags = append(l.diags, diags...)
		bodies = append(bodies, content)
	}
	for _, c := range bodies {
		for _, b := range c.Blocks {
			switch b.Type {
			case "variable":
				m.addVariable(l, b)
			case "locals":
				m.addLocals(l, b)
			case "output":
				m.addOutput(l, b)
			case "resource":
				m.addResource(l, b)
			case "module":
				m.addCall(l, b)
			case "provider":
				if !isRoot {
					l.errorf(b.DefRange.Ptr(), "Provider block in a child module", "Provider blocks are only allowed in the root module; configure %q there.", b.Labels[0])
					continue
				}
				m.addProvider(l, b)
			}
		}
	}
	return m
}

func relJoin(relDir, name string) string {
	if relDir == "." || relDir == "" {
		return name
	}
	return relDir + "/" + name
}

// parseFile parses one .cw file, naming it rel in ranges.
func parseFile(path, rel string) (*hcl.File, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read file",
			Detail: fmt.Sprintf("Reading %s: %v.", rel, unwrapPathErr(err))}}
	}
	if f, ok := parseSplit(src, rel); ok {
		return f, nil
	}
	f, diags := hclsyntax.ParseConfig(src, rel, hcl.InitialPos)
	if f != nil && f.Body == nil {
		return nil, diags
	}
	return f, diags
}

func (l *loader) errorf(subject *hcl.Range, summary, format string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: subject})
}

func (l *loader) warnf(subject *hcl.Range, summary, format string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: subject})
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"}, {Name: "nullable"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "validation"}},
}

var validationSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "condition", Required: true}, {Name: "error_message", Required: true}},
}

func validIdent(l *loader, b *hcl.Block, what string) bool {
	for i, lab := range b.Labels {
		if !validIdentifier(lab) {
			l.errorf(b.LabelRanges[i].Ptr(), "Invalid "+what+" name", "A name must start with a letter or underscore and may contain only letters, digits, underscores, and dashes; %q is not valid.", lab)
			return false
		}
	}
	return true
}

// validIdentifier is hclsyntax.ValidIdentifier without running the lexer:
// a letter or underscore, then letters, digits, underscores and dashes.
func validIdentifier(s string) bool {
	for i, c := range s {
		if !(c == '_' || unicode.IsLetter(c) || i > 0 && (c == '-' || unicode.IsDigit(c))) {
			return false
		}
	}
	return s != ""
}

func (m *moduleDecl) addVariable(l *loader, b *hcl.Block) {
	name := b.Labels[0]
	if !validIdent(l, b, "variable") {
		return
	}
	if prev, ok := m.variables[name]; ok {
		l.errorf(b.DefRange.Ptr(), "Duplicate variable declaration", "A variable named %q was already declared at %s. Variable names must be unique within a module.", name, prev.rng)
		return
	}
	v := &varDecl{name: name, ty: cty.DynamicPseudoType, def: cty.NilVal, rng: b.DefRange}
	m.variables[name] = v
	m.varOrder = append(m.varOrder, name)
	content, diags := b.Body.Content(variableSchema)
	l.diags = append(l.diags, diags...)
	if a, ok := content.Attributes["type"]; ok {
		v.ty, v.defaults = l.typeConstraint(a.Expr)
	}
	if a, ok := content.Attributes["description"]; ok {
		v.description = l.constString(a)
	}
	if a, ok := content.Attributes["sensitive"]; ok {
		v.sensitive = l.constBool(a)
	}
	if a, ok := content.Attributes["default"]; ok {
		val, diags := a.Expr.Value(nil)
		l.diags = append(l.diags, diags...)
		v.defRange = a.Expr.Range()
		if !diags.HasErrors() {
			if cv, err := convertVar(val, v); err != nil {
				l.errorf(a.Expr.Range().Ptr(), "Invalid default value for variable", "The default value of variable %q is not compatible with its type: %s.", name, err)
				v.def = cty.UnknownVal(v.ty)
			} else {
				v.def = cv
			}
		}
	}
	for _, vb := range content.Blocks {
		vc, diags := vb.Body.Content(validationSchema)
		l.diags = append(l.diags, diags...)
		cond, ok1 := vc.Attributes["condition"]
		msg, ok2 := vc.Attributes["error_message"]
		if ok1 && ok2 {
			v.validations = append(v.validations, validation{condition: cond.Expr, message: msg.Expr})
		}
	}
}

// convertVar applies type defaults and converts val to the variable's type.
func convertVar(val cty.Value, v *varDecl) (cty.Value, error) {
	if v.defaults != nil && !val.IsNull() {
		val = v.defaults.Apply(val)
	}
	cv, err := convert.Convert(val, v.ty)
	if err != nil {
		return cty.NilVal, fmt.Errorf("%s", err)
	}
	return cv, nil
}

// typeConstraint reads a type expression, or one of the quoted legacy forms.
func (l *loader) typeConstraint(expr hcl.Expression) (cty.Type, *typeexpr.Defaults) {
	if tmpl, ok := expr.(*hclsyntax.TemplateExpr); ok && tmpl.IsStringLiteral() {
		s, _ := tmpl.Value(nil)
		switch s.AsString() {
		case "string":
			return cty.String, nil
		case "number":
			return cty.Number, nil
		case "bool":
			return cty.Bool, nil
		case "list":
			return cty.List(cty.DynamicPseudoType), nil
		case "map":
			return cty.Map(cty.DynamicPseudoType), nil
		case "any":
			return cty.DynamicPseudoType, nil
		}
		l.errorf(expr.Range().Ptr(), "Invalid type specification", "The quoted type %q is not known; write a type expression such as string, number, bool, list(string) or map(string).", s.AsString())
		return cty.DynamicPseudoType, nil
	}
	ty, defs, diags := typeexpr.TypeConstraintWithDefaults(expr)
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() {
		return cty.DynamicPseudoType, nil
	}
	return ty, defs
}

func (l *loader) constString(a *hcl.Attribute) string {
	v, diags := a.Expr.Value(nil)
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() {
		return ""
	}
	s, err := convert.Convert(v, cty.String)
	if err != nil || s.IsNull() || !s.IsKnown() {
		l.errorf(a.Expr.Range().Ptr(), "Invalid value", "The value of %q must be a constant string.", a.Name)
		return ""
	}
	return s.AsString()
}

func (l *loader) constBool(a *hcl.Attribute) bool {
	v, diags := a.Expr.Value(nil)
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() {
		return false
	}
	s, err := convert.Convert(v, cty.Bool)
	if err != nil || s.IsNull() || !s.IsKnown() {
		l.errorf(a.Expr.Range().Ptr(), "Invalid value", "The value of %q must be true or false.", a.Name)
		return false
	}
	return s.True()
}

func (m *moduleDecl) addLocals(l *loader, b *hcl.Block) {
	attrs, diags := b.Body.JustAttributes()
	l.diags = append(l.diags, diags...)
	for _, a := range sortedAttrs(attrs) {
		if prev, ok := m.locals[a.Name]; ok {
			l.errorf(a.NameRange.Ptr(), "Duplicate local value definition", "A local value named %q was already defined at %s. Local value names must be unique within a module.", a.Name, prev.rng)
			continue
		}
		m.locals[a.Name] = &localDecl{name: a.Name, expr: a.Expr, rng: a.NameRange}
	}
}

func sortedAttrs(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *hcl.Attribute) int { return a.Range.Start.Byte - b.Range.Start.Byte })
	return out
}

var outputSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "value", Required: true}, {Name: "description"}, {Name: "sensitive"}, {Name: "depends_on"}},
}

func (m *moduleDecl) addOutput(l *loader, b *hcl.Block) {
	name := b.Labels[0]
	if !validIdent(l, b, "output") {
		return
	}
	for _, o := range m.outputs {
		if o.name == name {
			l.errorf(b.DefRange.Ptr(), "Duplicate output definition", "An output named %q was already defined at %s. Output names must be unique within a module.", name, o.rng)
			return
		}
	}
	content, diags := b.Body.Content(outputSchema)
	l.diags = append(l.diags, diags...)
	o := &outputDecl{name: name, rng: b.DefRange}
	if a, ok := content.Attributes["value"]; ok {
		o.expr = a.Expr
	} else {
		return
	}
	if a, ok := content.Attributes["description"]; ok {
		o.description = l.constString(a)
	}
	if a, ok := content.Attributes["sensitive"]; ok {
		o.sensitive = l.constBool(a)
	}
	if a, ok := content.Attributes["depends_on"]; ok {
		o.dependsOn = l.dependsOn(a)
	}
	m.outputs = append(m.outputs, o)
}

// dependsOn reads a depends_on list: traversals, or quoted addresses as
// earlier .cw files wrote them ("service.web").
func (l *loader) dependsOn(a *hcl.Attribute) []hcl.Traversal {
	exprs, diags := hcl.ExprList(a.Expr)
	l.diags = append(l.diags, diags...)
	var out []hcl.Traversal
	for _, e := range exprs {
		if tr, d := hcl.AbsTraversalForExpr(e); !d.HasErrors() {
			out = append(out, tr)
			continue
		}
		v, d := e.Value(nil)
		if d.HasErrors() || v.Type() != cty.String || v.IsNull() || !v.IsKnown() {
			l.errorf(e.Range().Ptr(), "Invalid depends_on reference", "Each element of depends_on must name a resource or module, such as service.web, module.m or \"service.web\".")
			continue
		}
		r := e.Range()
		start := r.Start
		if _, ok := e.(*hclsyntax.TemplateExpr); ok {
			start.Column++ // past the opening quote
			start.Byte++
		}
		tr, d := hclsyntax.ParseTraversalAbs([]byte(v.AsString()), r.Filename, start)
		if d.HasErrors() {
			l.errorf(r.Ptr(), "Invalid depends_on reference", "%q is not a resource or module address such as \"service.web\".", v.AsString())
			continue
		}
		out = append(out, tr)
	}
	return out
}

var lifecycleSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "prevent_destroy"}, {Name: "ignore_changes"}, {Name: "create_before_destroy"}},
}

// resourceSchemas caches the hcl body schema per resource type.
func (l *loader) resourceBodySchema(sch *schema.Resource) *hcl.BodySchema {
	if s, ok := l.bodySchemas[sch.Type]; ok {
		return s
	}
	s := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "lifecycle"}}}
	for _, n := range schema.MetaArguments() {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: n})
	}
	for _, a := range sch.Attributes {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: a.Name})
		if a.Block {
			s.Blocks = append(s.Blocks, hcl.BlockHeaderSchema{Type: a.Name})
		}
	}
	l.bodySchemas[sch.Type] = s
	return s
}

func (m *moduleDecl) addResource(l *loader, b *hcl.Block) {
	typ, name := b.Labels[0], b.Labels[1]
	sch, ok := schema.Lookup(typ)
	if !ok {
		m.badTypes[typ] = true
		l.errorf(b.LabelRanges[0].Ptr(), "Unknown resource type", "unknown resource type %q; known types: %s", typ, strings.Join(schema.Types(), ", "))
		return
	}
	if !validIdent(l, b, "resource") {
		return
	}
	key := typ + "." + name
	if prev, ok := m.resources[key]; ok {
		l.errorf(b.DefRange.Ptr(), "Duplicate resource", "A %s resource named %q was already declared at %s. Resource names must be unique per type within a module.", typ, name, prev.block.DefRange)
		return
	}
	r := &resourceDecl{typ: typ, name: name, key: key, sch: sch, block: b,
		attrs: map[string]*hcl.Attribute{}, blocks: map[string]*hcl.Block{}}
	m.resources[key] = r
	m.resOrder = append(m.resOrder, r)
	content, diags := b.Body.Content(l.resourceBodySchema(sch))
	l.diags = append(l.diags, diags...)
	for _, a := range sortedAttrs(content.Attributes) {
		switch a.Name {
		case "count":
			r.count = a
		case "for_each":
			r.forEach = a
		case "retries":
			r.retries = a
		case "timeout":
			r.timeout = a
		case "provider":
			r.provider = l.providerRef(a)
			continue
		case "depends_on":
			r.dependsOn = l.dependsOn(a)
			continue
		default:
			r.attrs[a.Name] = a
		}
		r.travs = append(r.travs, a.Expr.Variables()...)
	}
	if r.count != nil && r.forEach != nil {
		l.errorf(r.forEach.NameRange.Ptr(), "Invalid combination of \"count\" and \"for_each\"", "The \"count\" and \"for_each\" meta-arguments are mutually exclusive; only one may be used.")
	}
	for _, blk := range content.Blocks {
		if blk.Type == "lifecycle" {
			if r.lifecycle.preventDestroy || r.lifecycle.ignoreChanges != nil {
				l.errorf(blk.DefRange.Ptr(), "Duplicate lifecycle block", "Only one lifecycle block is allowed in a resource.")
			}
			r.lifecycle = l.lifecycle(blk, sch)
			continue
		}
		if prev, ok := r.blocks[blk.Type]; ok {
			l.errorf(blk.DefRange.Ptr(), "Duplicate "+blk.Type+" block", "Only one %s block is allowed; another was defined at %s.", blk.Type, prev.DefRange)
			continue
		}
		if a, ok := r.attrs[blk.Type]; ok {
			l.errorf(blk.DefRange.Ptr(), "Duplicate "+blk.Type, "%s is already set as an attribute at %s; use either the attribute or the block.", blk.Type, a.NameRange)
			continue
		}
		attr, _ := sch.Attribute(blk.Type)
		bs := &hcl.BodySchema{}
		for _, n := range attr.Nested {
			bs.Attributes = append(bs.Attributes, hcl.AttributeSchema{Name: n.Name})
		}
		bc, diags := blk.Body.Content(bs)
		l.diags = append(l.diags, diags...)
		for _, a := range bc.Attributes {
			r.travs = append(r.travs, a.Expr.Variables()...)
		}
		r.blocks[blk.Type] = &hcl.Block{Type: blk.Type, Body: attrsBody(bc.Attributes), DefRange: blk.DefRange, TypeRange: blk.TypeRange}
	}
}

// attrsBody wraps decoded attributes so evaluation does not decode twice.
type attrsBody hcl.Attributes

func (b attrsBody) Content(*hcl.BodySchema) (*hcl.BodyContent, hcl.Diagnostics) {
	return &hcl.BodyContent{Attributes: hcl.Attributes(b)}, nil
}
func (b attrsBody) PartialContent(*hcl.BodySchema) (*hcl.BodyContent, hcl.Body, hcl.Diagnostics) {
	return &hcl.BodyContent{Attributes: hcl.Attributes(b)}, b, nil
}
func (b attrsBody) JustAttributes() (hcl.Attributes, hcl.Diagnostics) { return hcl.Attributes(b), nil }
func (b attrsBody) MissingItemRange() hcl.Range                       { return hcl.Range{} }

func (l *loader) providerRef(a *hcl.Attribute) string {
	var ref string
	var rng = a.Expr.Range()
	if tr, d := hcl.AbsTraversalForExpr(a.Expr); !d.HasErrors() {
		parts := []string{tr.RootName()}
		for _, s := range tr[1:] {
			if at, ok := s.(hcl.TraverseAttr); ok {
				parts = append(parts, at.Name)
			} else {
				parts = nil
				break
			}
		}
		ref = strings.Join(parts, ".")
	} else {
		v, d := a.Expr.Value(nil)
		if !d.HasErrors() && v.Type() == cty.String && !v.IsNull() && v.IsKnown() {
			ref = v.AsString()
		}
	}
	parts := strings.Split(ref, ".")
	if ref == "" || len(parts) > 2 {
		l.errorf(rng.Ptr(), "Invalid provider reference", "The provider argument must be a provider kind, optionally with an alias: docker, docker.remote or \"docker.remote\".")
		return ""
	}
	if !slices.Contains(providerKinds, parts[0]) {
		l.errorf(rng.Ptr(), "Unknown provider", "Unknown provider %q; built-in providers are %s.", parts[0], strings.Join(providerKinds, ", "))
		return ""
	}
	l.providerUses = append(l.providerUses, providerUse{ref: ref, rng: rng})
	return ref
}

func (l *loader) lifecycle(b *hcl.Block, sch *schema.Resource) lifecycleDecl {
	var lc lifecycleDecl
	content, diags := b.Body.Content(lifecycleSchema)
	l.diags = append(l.diags, diags...)
	if a, ok := content.Attributes["prevent_destroy"]; ok {
		lc.preventDestroy = l.constBool(a)
	}
	if a, ok := content.Attributes["create_before_destroy"]; ok {
		l.errorf(a.NameRange.Ptr(), "Unsupported lifecycle argument", "create_before_destroy is not supported; Clockwork replaces resources in place.")
	}
	if a, ok := content.Attributes["ignore_changes"]; ok {
		lc.ignoreChanges = []string{}
		if kw := hcl.ExprAsKeyword(a.Expr); kw == "all" {
			lc.ignoreChanges = []string{"all"}
			return lc
		}
		exprs, diags := hcl.ExprList(a.Expr)
		l.diags = append(l.diags, diags...)
		for _, e := range exprs {
			name := hcl.ExprAsKeyword(e)
			if name == "" {
				if v, d := e.Value(nil); !d.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
					name = v.AsString()
				}
			}
			if _, ok := sch.Attribute(name); !ok && name != "all" {
				l.errorf(e.Range().Ptr(), "Invalid ignore_changes entry", "%q is not an attribute of %s resources.", name, sch.Type)
				continue
			}
			lc.ignoreChanges = append(lc.ignoreChanges, name)
		}
		slices.Sort(lc.ignoreChanges)
		lc.ignoreChanges = slices.Compact(lc.ignoreChanges)
	}
	return lc
}

func (m *moduleDecl) addCall(l *loader, b *hcl.Block) {
	name := b.Labels[0]
	if !validIdent(l, b, "module") {
		return
	}
	if prev, ok := m.calls[name]; ok {
		l.errorf(b.DefRange.Ptr(), "Duplicate module call", "A module call named %q was already defined at %s. Module calls must have unique names within a module.", name, prev.rng)
		return
	}
	attrs, diags := b.Body.JustAttributes()
	l.diags = append(l.diags, diags...)
	c := &callDecl{name: name, inputs: map[string]*hcl.Attribute{}, rng: b.DefRange}
	for _, a := range sortedAttrs(attrs) {
		switch a.Name {
		case "source":
			c.source = l.constString(a)
			c.srcRange = a.Expr.Range()
		case "version":
			c.version = l.constString(a)
		case "depends_on":
			c.dependsOn = l.dependsOn(a)
		case "count", "for_each", "providers":
			l.errorf(a.NameRange.Ptr(), "Unsupported module argument", "%q is not supported on module calls.", a.Name)
		default:
			c.inputs[a.Name] = a
			c.travs = append(c.travs, a.Expr.Variables()...)
		}
	}
	if _, ok := attrs["source"]; !ok {
		l.errorf(b.DefRange.Ptr(), "Missing required argument", "The argument \"source\" is required, but no definition was found.")
		return
	}
	m.calls[name] = c
	m.callOrder = append(m.callOrder, c)
}

func (m *moduleDecl) addProvider(l *loader, b *hcl.Block) {
	kind := b.Labels[0]
	if !slices.Contains(providerKinds, kind) {
		l.errorf(b.LabelRanges[0].Ptr(), "Unknown provider", "Unknown provider %q; built-in providers are %s.", kind, strings.Join(providerKinds, ", "))
		return
	}
	attrs, diags := b.Body.JustAttributes()
	l.diags = append(l.diags, diags...)
	p := &providerDecl{kind: kind, attrs: map[string]*hcl.Attribute{}, rng: b.DefRange}
	for _, a := range sortedAttrs(attrs) {
		switch a.Name {
		case "alias":
			p.alias = l.constString(a)
			if p.alias != "" && !hclsyntax.ValidIdentifier(p.alias) {
				l.errorf(a.Expr.Range().Ptr(), "Invalid provider alias", "%q is not a valid alias.", p.alias)
			}
		case "source":
			src := l.constString(a)
			if src != "" && src != kind && src != "clockwork/"+kind {
				l.errorf(a.Expr.Range().Ptr(), "Unknown provider source", "The %s provider is built in; its source is %q or %q, not %q.", kind, kind, "clockwork/"+kind, src)
			}
		case "version":
			l.constString(a)
		default:
			p.attrs[a.Name] = a
		}
	}
	for _, q := range m.providers {
		if q.kind == p.kind && q.alias == p.alias {
			l.errorf(b.DefRange.Ptr(), "Duplicate provider configuration", "A provider %q was already configured at %s; give this one an alias.", providerRefOf(p.kind, p.alias), q.rng)
			return
		}
	}
	m.providers = append(m.providers, p)
}

func providerRefOf(kind, alias string) string {
	if alias == "" {
		return kind
	}
	return kind + "." + alias
}
