package intake

import (
	"cmp"
	"context"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/clockwork-iac/clockwork/internal/ir"
)

// Options says what to load and with which values.
type Options struct {
	Dir      string   // configuration directory
	Vars     []string // --var "k=v", in command-line order
	VarFiles []string // --var-file paths, in order (relative to Dir unless absolute)
	// Environ is the environment ("K=V"), scanned for CW_VAR_<name>. Intake
	// never reads os.Environ itself.
	Environ []string
	// StateOutputs maps a resource address to its recorded $CW_OUTPUT
	// values; used only when evaluating output blocks.
	StateOutputs map[string]map[string]string
	// Validate: missing required variables are unknown values, not errors.
	Validate bool
	// ModuleCacheDir is where git modules are cloned; default
	// <Dir>/.clockwork/modules.
	ModuleCacheDir string
	// Offline: do not fetch git modules; use the cache and lock only.
	Offline bool
}

// Result is a loaded configuration.
type Result struct {
	Config *ir.Config
	// Files holds every parsed file by the name used in diagnostic ranges
	// (relative to Options.Dir), for hcl's diagnostic writer.
	Files map[string]*hcl.File
	// Secrets is not set by intake (assembly computes secret env).
	Secrets map[string]string
}

// loader is the state of one Load call.
type loader struct {
	ctx          context.Context
	opts         Options
	files        map[string]*hcl.File
	diags        hcl.Diagnostics
	modDecls     map[string]*moduleDecl
	bodySchemas  map[string]*hcl.BodySchema
	providerUses []providerUse
	cfg          *ir.Config
	lock         *lockFile
	lockDirty    bool
	lockBroken   bool // clockwork.lock could not be read: never overwrite it
	upgrade      bool
	gitModules   map[string]bool // paths of the git module calls seen
	// depth and stack (directories of the module calls being evaluated)
	// stop a module that calls itself.
	depth int
	stack []string
}

type providerUse struct {
	ref string
	rng hcl.Range
}

// Load reads the configuration in opts.Dir and evaluates it into IR. It
// reports every problem it finds at once; Config is nil only when nothing
// could be read. Diagnostics are sorted by file and offset.
func Load(ctx context.Context, opts Options) (*Result, hcl.Diagnostics) {
	l := newLoader(ctx, opts)
	l.run()
	return l.result()
}

func newLoader(ctx context.Context, opts Options) *loader {
	if opts.Dir == "" {
		opts.Dir = "."
	}
	if opts.ModuleCacheDir == "" {
		opts.ModuleCacheDir = filepath.Join(opts.Dir, ".clockwork", "modules")
	}
	return &loader{
		ctx: ctx, opts: opts,
		files:       map[string]*hcl.File{},
		modDecls:    map[string]*moduleDecl{},
		bodySchemas: map[string]*hcl.BodySchema{},
		gitModules:  map[string]bool{},
		cfg:         &ir.Config{Dir: opts.Dir},
	}
}

func (l *loader) run() {
	defer func() {
		// Never panic on any input: a bug becomes a diagnostic.
		if r := recover(); r != nil {
			l.errorf(nil, "Internal error in intake", "Loading the configuration failed unexpectedly: %v. Please report this.", r)
		}
	}()
	l.readLock()
	root := l.parseModuleDir(l.opts.Dir, ".", true, nil)
	vars := l.rootVariables(root)
	l.providers(root)
	me := newModEval(l, root, "", vars, nil)
	me.run()
	l.outputs(me)
	l.writeLockIfDirty()
}

func (l *loader) result() (*Result, hcl.Diagnostics) {
	cfg := l.cfg
	slices.SortFunc(cfg.Resources, func(a, b *ir.Resource) int { return strings.Compare(a.Addr, b.Addr) })
	slices.SortFunc(cfg.Modules, func(a, b *ir.Module) int { return strings.Compare(a.Path, b.Path) })
	return &Result{Config: cfg, Files: l.files}, sortDiags(l.diags)
}

// sortDiags orders diagnostics by file, offset, severity and text, and drops
// exact duplicates (instances of one resource report the same problem once).
func sortDiags(diags hcl.Diagnostics) hcl.Diagnostics {
	key := func(d *hcl.Diagnostic) (string, int, int) {
		if d.Subject == nil {
			return "", -1, -1
		}
		return d.Subject.Filename, d.Subject.Start.Byte, d.Subject.End.Byte
	}
	slices.SortStableFunc(diags, func(a, b *hcl.Diagnostic) int {
		af, ao, ae := key(a)
		bf, bo, be := key(b)
		return cmp.Or(strings.Compare(af, bf), cmp.Compare(ao, bo), cmp.Compare(ae, be),
			cmp.Compare(a.Severity, b.Severity), strings.Compare(a.Summary, b.Summary), strings.Compare(a.Detail, b.Detail))
	})
	out := diags[:0]
	for i, d := range diags {
		if i > 0 {
			p := out[len(out)-1]
			pf, po, pe := key(p)
			df, do, de := key(d)
			if pf == df && po == do && pe == de && p.Severity == d.Severity && p.Summary == d.Summary && p.Detail == d.Detail {
				continue
			}
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (l *loader) providers(root *moduleDecl) {
	declared := map[string]bool{}
	for _, p := range root.providers {
		ctx := &hcl.EvalContext{Functions: root.funcs, Variables: map[string]cty.Value{}}
		vals := map[string]cty.Value{}
		for name, a := range p.attrs {
			travs := a.Expr.Variables()
			for _, tr := range travs {
				if tr.RootName() != "var" {
					l.errorf(tr.SourceRange().Ptr(), "Invalid provider setting", "Provider settings may refer only to variables, not %q.", tr.RootName())
				}
			}
			v, d := a.Expr.Value(l.varsContext(ctx))
			l.diags = append(l.diags, d...)
			vals[name] = v
		}
		cfgv := cty.EmptyObjectVal
		if len(vals) > 0 {
			cfgv = cty.ObjectVal(vals)
		}
		l.cfg.Providers = append(l.cfg.Providers, &ir.Provider{Kind: p.kind, Alias: p.alias, Config: cfgv, DeclRange: p.rng})
		declared[providerRefOf(p.kind, p.alias)] = true
	}
	slices.SortFunc(l.cfg.Providers, func(a, b *ir.Provider) int { return strings.Compare(a.Ref(), b.Ref()) })
	for _, u := range l.providerUses {
		if strings.Contains(u.ref, ".") && !declared[u.ref] {
			kind, alias, _ := strings.Cut(u.ref, ".")
			l.errorf(u.rng.Ptr(), "Reference to undeclared provider", "No provider %q is configured; add provider %q { alias = %q } to the root module.", u.ref, kind, alias)
		}
	}
}

// varsContext returns ctx with the root variables set as "var".
func (l *loader) varsContext(ctx *hcl.EvalContext) *hcl.EvalContext {
	m := map[string]cty.Value{}
	for _, v := range l.cfg.Variables {
		m[v.Name] = v.Value
	}
	ctx.Variables["var"] = cty.ObjectVal(m)
	return ctx
}

func (l *loader) outputs(me *modEval) {
	for _, o := range me.rootOutputs {
		l.cfg.Outputs = append(l.cfg.Outputs, o)
	}
	slices.SortFunc(l.cfg.Outputs, func(a, b *ir.Output) int { return strings.Compare(a.Name, b.Name) })
}
