package intake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/clockwork-iac/clockwork/internal/atomicfile"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/clockwork-iac/clockwork/internal/ir"
)

// LockFileName is the module lock in the configuration directory.
const LockFileName = "clockwork.lock"

// maxModuleDepth bounds module nesting (a module that calls itself).
const maxModuleDepth = 16

// lockFile is clockwork.lock: the resolved commit of every git module, by
// module path.
//
//	{
//	  "version": "1",
//	  "modules": {
//	    "module.web": {"source": "git::https://example.com/web.git", "ref": "v1.2", "commit": "3f2a..."}
//	  }
//	}
type lockFile struct {
	Version string                `json:"version"`
	Modules map[string]*lockEntry `json:"modules"`
}

type lockEntry struct {
	Source string `json:"source"` // git::URL (without ?ref)
	Ref    string `json:"ref"`    // tag, branch or commit as written
	Commit string `json:"commit"` // resolved commit
}

func (l *loader) lockPath() string { return filepath.Join(l.opts.Dir, LockFileName) }

func (l *loader) readLock() {
	l.lock = &lockFile{Version: "1", Modules: map[string]*lockEntry{}}
	b, err := os.ReadFile(l.lockPath())
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err == nil {
		var lf lockFile
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err = dec.Decode(&lf); err == nil && lf.Version != "1" {
			err = fmt.Errorf("unsupported version %q", lf.Version)
		}
		if err == nil {
			if lf.Modules != nil {
				l.lock.Modules = lf.Modules
			}
			return
		}
	}
	l.lockBroken = true
	l.errorf(nil, "Invalid lock file", "Reading %s: %v. Fix or delete it and run clockwork init -upgrade.", LockFileName, err)
}

func (l *loader) writeLockIfDirty() {
	if l.upgrade && !l.diags.HasErrors() {
		// Keep exactly the git modules the configuration uses (an entry
		// whose module failed to resolve stays as it was).
		for path := range l.lock.Modules {
			if !l.gitModules[path] {
				delete(l.lock.Modules, path)
				l.lockDirty = true
			}
		}
	}
	if !l.lockDirty || l.lockBroken {
		return
	}
	b, err := json.MarshalIndent(l.lock, "", "  ")
	if err == nil {
		err = atomicfile.Write(l.lockPath(), append(b, '\n'), 0o644)
	}
	if err != nil {
		l.errorf(nil, "Cannot write lock file", "Writing %s: %v.", LockFileName, err)
	}
}

// UpdateLock resolves every git module of the configuration again (the pins
// in the .cw files, not those in clockwork.lock), fetches them into the
// module cache and rewrites clockwork.lock with exactly the modules the
// configuration uses. It is `clockwork init -upgrade`.
func UpdateLock(ctx context.Context, opts Options) hcl.Diagnostics {
	l := newLoader(ctx, opts)
	l.upgrade = true
	l.run()
	_, diags := l.result()
	return diags
}

// evalCall evaluates a module call: its inputs, then the child module.
func (m *modEval) evalCall(n *node) {
	cd := n.call
	cv := &callVal{outputs: map[string]*value{}}
	m.calls[cd.name] = cv
	path := "module." + cd.name
	if m.path != "" {
		path = m.path + "." + path
	}
	if m.l.depth >= maxModuleDepth {
		m.l.errorf(cd.rng.Ptr(), "Module nesting too deep", "Modules are nested more than %d deep at %s; does a module call itself?", maxModuleDepth, path)
		cv.failed = true
		return
	}
	dir, relDir, rec, ok := m.resolveSource(cd, path)
	if !ok {
		cv.failed = true
		return
	}
	dir = filepath.Clean(dir)
	if slices.Contains(m.l.stack, dir) || dir == filepath.Clean(m.l.opts.Dir) {
		m.l.errorf(cd.srcRange.Ptr(), "Module calls itself", "The module %s is already being evaluated in this chain of module calls (%s); a module cannot call itself.", relDir, path)
		cv.failed = true
		return
	}
	m.l.cfg.Modules = append(m.l.cfg.Modules, rec)
	child := m.l.parseModuleDir(dir, relDir, false, cd.srcRange.Ptr())

	vars := map[string]cty.Value{}
	varDeps := map[string][]string{}
	names := make([]string, 0, len(cd.inputs))
	for name := range cd.inputs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		a := cd.inputs[name]
		d, ok := child.variables[name]
		if !ok {
			m.l.errorf(a.NameRange.Ptr(), "Unsupported argument", "An argument named %q is not expected here: module %q (%s) declares no variable %q.", name, cd.name, relDir, name)
			continue
		}
		travs := a.Expr.Variables()
		sv, deps := m.scope(travs, false, false, false)
		v, diags := a.Expr.Value(m.ctx(sv))
		m.l.diags = append(m.l.diags, diags...)
		if diags.HasErrors() {
			v = cty.UnknownVal(d.ty)
		} else if cv, err := convertVar(v, d); err != nil {
			m.l.errorf(a.Expr.Range().Ptr(), "Invalid value for module argument", "The value for variable %q of module %q is not compatible with its type %s: %s.", name, cd.name, typeString(d.ty), err)
			v = cty.UnknownVal(d.ty)
		} else {
			v = cv
		}
		vars[name] = v
		varDeps[name] = uniq(deps)
	}
	for _, name := range child.varOrder {
		d := child.variables[name]
		v, ok := vars[name]
		if !ok {
			if d.def == cty.NilVal {
				m.l.errorf(cd.rng.Ptr(), "Missing required argument", "The module %q needs a value for its variable %q.", cd.name, name)
				v = cty.UnknownVal(d.ty)
			} else {
				v = d.def
			}
		}
		m.l.validateVariable(child, d, v)
		if d.sensitive {
			v = v.Mark(ir.Sensitive)
		}
		vars[name] = v
	}
	ce := newModEval(m.l, child, path, vars, varDeps)
	ce.extraDeps = slices.Clone(m.extraDeps)
	if len(cd.dependsOn) > 0 {
		ce.extraDeps = uniq(append(ce.extraDeps, m.depsOnly(cd.dependsOn)...))
	}
	m.l.depth++
	m.l.stack = append(m.l.stack, dir)
	start := len(m.l.cfg.Resources)
	ce.run()
	m.l.stack = m.l.stack[:len(m.l.stack)-1]
	m.l.depth--
	for _, r := range m.l.cfg.Resources[start:] {
		cv.resources = append(cv.resources, r.Addr)
	}
	for name, o := range ce.childOutputs {
		cv.outputs[name] = o
	}
}

// resolveSource finds the directory of a module call's source: a local
// directory (./ or ../, relative to the calling module) or a git repository
// pinned to a ref, cloned into the module cache and recorded in the lock.
func (m *modEval) resolveSource(cd *callDecl, path string) (dir, relDir string, rec *ir.Module, ok bool) {
	rec = &ir.Module{Path: path, Source: cd.source, Version: cd.version, DeclRange: cd.rng}
	src := cd.source
	switch {
	case strings.HasPrefix(src, "./") || strings.HasPrefix(src, "../"):
		if cd.version != "" {
			m.l.errorf(cd.srcRange.Ptr(), "Version on a local module", "A local module is used as it is on disk; \"version\" is only for git sources.")
		}
		dir = filepath.Join(m.d.dir, filepath.FromSlash(src))
		relDir = m.l.relName(dir)
		st, err := os.Stat(dir)
		if err != nil || !st.IsDir() {
			m.l.errorf(cd.srcRange.Ptr(), "Module not found", "The module directory %s does not exist.", relDir)
			return "", "", nil, false
		}
		rec.Dir = relDir
		return dir, relDir, rec, true
	case strings.HasPrefix(src, "git::"):
		return m.resolveGit(cd, rec)
	}
	m.l.errorf(cd.srcRange.Ptr(), "Unsupported module source", "The module source %q is not supported: use a local directory (\"./modules/web\") or a git repository (\"git::https://host/repo.git?ref=v1.2\").", src)
	return "", "", nil, false
}

// relName names a path on disk in diagnostics: relative to the
// configuration directory, or under ".clockwork/modules" for a module cache
// elsewhere.
func (l *loader) relName(p string) string {
	if rel, err := filepath.Rel(l.opts.Dir, p); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	if rel, err := filepath.Rel(l.opts.ModuleCacheDir, p); err == nil && !strings.HasPrefix(rel, "..") {
		return ".clockwork/modules/" + filepath.ToSlash(rel)
	}
	return filepath.ToSlash(p)
}

// splitGitSource parses "git::URL[//subdir][?ref=REF]".
func splitGitSource(src string) (url, subdir, ref string, err error) {
	s := strings.TrimPrefix(src, "git::")
	if i := strings.Index(s, "?"); i >= 0 {
		q := s[i+1:]
		s = s[:i]
		for _, kv := range strings.Split(q, "&") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "ref":
				ref = v
			case "depth":
			default:
				return "", "", "", fmt.Errorf("unsupported query parameter %q (only ref)", k)
			}
		}
	}
	start := 0
	if i := strings.Index(s, "://"); i >= 0 {
		start = i + 3
	}
	if i := strings.Index(s[start:], "//"); i >= 0 {
		subdir = s[start+i+2:]
		s = s[:start+i]
	}
	if s == "" {
		return "", "", "", fmt.Errorf("no repository URL")
	}
	if strings.HasPrefix(s, "-") || strings.HasPrefix(ref, "-") {
		return "", "", "", fmt.Errorf("URL and ref must not start with \"-\"")
	}
	return s, subdir, ref, nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

func (m *modEval) resolveGit(cd *callDecl, rec *ir.Module) (string, string, *ir.Module, bool) {
	l := m.l
	rng := cd.srcRange.Ptr()
	url, subdir, ref, err := splitGitSource(cd.source)
	if err != nil {
		l.errorf(rng, "Invalid module source", "The git source %q is not valid: %v.", cd.source, err)
		return "", "", nil, false
	}
	if ref != "" && cd.version != "" && ref != cd.version {
		l.errorf(rng, "Conflicting module versions", "The source pins ref %q but version says %q; use one.", ref, cd.version)
		return "", "", nil, false
	}
	if ref == "" {
		ref = cd.version
	}
	if ref == "" {
		l.errorf(rng, "Unpinned git module", "A git module must be pinned to a tag or commit: add ?ref=TAG_OR_COMMIT to the source or set version.")
		return "", "", nil, false
	}
	rec.Version = ref
	l.gitModules[rec.Path] = true
	source := "git::" + url
	if subdir != "" {
		source += "//" + subdir
	}
	entry := l.lock.Modules[rec.Path]
	if entry != nil && !l.upgrade && (entry.Source != source || entry.Ref != ref) {
		l.errorf(rng, "Module pin changed", "%s says %s at %q, but %s pins %s at %q (commit %s). Run clockwork init -upgrade to resolve the new pin and update the lock; Clockwork never follows a changed pin silently.",
			rec.Path, source, ref, LockFileName, entry.Source, entry.Ref, entry.Commit)
		return "", "", nil, false
	}
	name := unsafeName.ReplaceAllString(strings.TrimPrefix(strings.ReplaceAll(rec.Path, ".module.", "."), "module."), "_")
	var commit string
	if entry != nil && !l.upgrade {
		commit = entry.Commit
		dir := filepath.Join(l.opts.ModuleCacheDir, name+"-"+shortCommit(commit))
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			if l.opts.Offline {
				l.errorf(rng, "Module not in cache", "%s (commit %s) is not in the module cache and fetching is off (offline); run clockwork init.", rec.Path, commit)
				return "", "", nil, false
			}
			if _, err := l.fetchGit(url, commit, dir); err != nil {
				l.errorf(rng, "Cannot fetch module", "Fetching %s at commit %s: %v.", url, commit, err)
				return "", "", nil, false
			}
		}
		return l.gitModuleDir(rec, dir, subdir, commit, rng)
	}
	if l.opts.Offline {
		l.errorf(rng, "Module not in lock", "%s is not recorded in %s and fetching is off (offline); run clockwork init.", rec.Path, LockFileName)
		return "", "", nil, false
	}
	if err := os.MkdirAll(l.opts.ModuleCacheDir, 0o755); err != nil {
		l.errorf(rng, "Cannot create module cache", "%v.", err)
		return "", "", nil, false
	}
	tmp, err := os.MkdirTemp(l.opts.ModuleCacheDir, ".fetch-")
	if err != nil {
		l.errorf(rng, "Cannot create module cache", "%v.", err)
		return "", "", nil, false
	}
	defer os.RemoveAll(tmp)
	commit, err = l.fetchGit(url, ref, filepath.Join(tmp, "repo"))
	if err != nil {
		l.errorf(rng, "Cannot fetch module", "Fetching %s at %q: %v.", url, ref, err)
		return "", "", nil, false
	}
	dir := filepath.Join(l.opts.ModuleCacheDir, name+"-"+shortCommit(commit))
	if _, err := os.Stat(dir); err != nil {
		if err := os.Rename(filepath.Join(tmp, "repo"), dir); err != nil {
			l.errorf(rng, "Cannot store module", "%v.", err)
			return "", "", nil, false
		}
	}
	l.lock.Modules[rec.Path] = &lockEntry{Source: source, Ref: ref, Commit: commit}
	l.lockDirty = true
	return l.gitModuleDir(rec, dir, subdir, commit, rng)
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

func (l *loader) gitModuleDir(rec *ir.Module, dir, subdir, commit string, rng *hcl.Range) (string, string, *ir.Module, bool) {
	if subdir != "" {
		dir = filepath.Join(dir, filepath.FromSlash(subdir))
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			l.errorf(rng, "Module not found", "The repository has no directory %q at commit %s.", subdir, commit)
			return "", "", nil, false
		}
	}
	rec.Resolved = commit
	rec.Dir = l.relName(dir)
	return dir, rec.Dir, rec, true
}

// fetchGit clones url into dir, checks out ref (tag, branch or commit) and
// returns the commit.
func (l *loader) fetchGit(url, ref, dir string) (string, error) {
	// A relative local path (git::../repo) is relative to the configuration
	// directory, not to wherever clockwork was started.
	if strings.HasPrefix(url, "./") || strings.HasPrefix(url, "../") {
		if base, err := filepath.Abs(l.opts.Dir); err == nil {
			url = filepath.Join(base, url)
		}
	}
	if err := l.git("", "clone", "--quiet", "--no-checkout", "--", url, dir); err != nil {
		return "", err
	}
	if err := l.git(dir, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", ref, "--"); err != nil {
		if err2 := l.git(dir, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", "origin/"+ref, "--"); err2 != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("ref %q not found: %w", ref, err)
		}
	}
	out, err := l.gitOutput(dir, "rev-parse", "HEAD")
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	os.RemoveAll(filepath.Join(dir, ".git"))
	return strings.TrimSpace(out), nil
}

func (l *loader) git(dir string, args ...string) error {
	_, err := l.gitOutput(dir, args...)
	return err
}

func (l *loader) gitOutput(dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(l.ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(slices.Clone(l.opts.Environ), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=true")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("git %s: %s", args[0], msg)
	}
	return stdout.String(), nil
}
