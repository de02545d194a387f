package forge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/facts"
)

// writeWorkers bounds how many artifacts are written at once.
const writeWorkers = 16

// ErrStaleBundle means the bundle on disk was built for another plan
// (another ActionList fingerprint): build again before running it.
var ErrStaleBundle = errors.New("bundle on disk was built for another plan")

// ErrEditConflict means an artifact the user edited now serves a different
// step in the new bundle, so forge can neither keep the edit nor drop it
// silently. Move the edit, or build with Force.
var ErrEditConflict = errors.New("edited artifact now serves another step")

// ErrNoBuild means the build directory has no bundle.json.
var ErrNoBuild = errors.New("no bundle has been built")

// BuildOptions configure Build.
type BuildOptions struct {
	BuildDir   string // <config>/.clockwork/build
	ActionList *contract.ActionList
	Compiler   Compiler
	Facts      *facts.Facts
	Policy     Policy // zero fields take the defaults (see Policy)
	// Force regenerates and overwrites user-edited artifacts and runs.
	Force bool

	// beforeWrite, when set, runs after every check and before the first
	// byte is written (tests use it to swap in a symlink).
	beforeWrite func()
}

// BuildResult reports what Build did.
type BuildResult struct {
	// Bundle as it stands on disk after the build, user edits included.
	Bundle *contract.Bundle
	// Reused: the plan fingerprint and compiler settings match the manifest;
	// the compiler was not called and nothing was written.
	Reused bool
	// Written lists the artifact paths written, sorted.
	Written []string
	// Kept lists user-edited artifacts that were kept, sorted: artifacts of
	// the new bundle (their edited content is in Bundle) and orphaned
	// artifacts of the old bundle that the new one no longer has.
	Kept []string
	// KeptSteps lists the purposes of bundle steps whose run the user edited
	// in bundle.json and that were kept, sorted.
	KeptSteps []string
	// Removed lists artifacts of the old bundle no longer in the new one.
	Removed []string
}

// Build compiles the ActionList (or reuses the build on disk), validates the
// bundle and writes the build directory. A bundle that breaks a rule, or a
// build directory with a link where forge would read or write, writes
// nothing: the error is a *ValidationError.
//
// User edits: an artifact whose content or mode on disk differs from the
// manifest's generated one is the user's; it is kept (reported in Kept),
// replaces the generated artifact in the bundle, and is validated like
// everything else. The same holds for a bundle step's run edited in
// bundle.json. Force overwrites both. Artifacts are matched by path: if the
// new bundle puts an artifact of another step at the path of an edited one,
// Build fails with ErrEditConflict rather than run the edit for the wrong
// step. Files on disk that no manifest recorded are treated as the user's.
func Build(ctx context.Context, opts BuildOptions) (*BuildResult, error) {
	al := opts.ActionList
	switch {
	case opts.BuildDir == "":
		return nil, errors.New("build: no build directory")
	case al == nil:
		return nil, errors.New("build: no action list")
	case opts.Compiler == nil:
		return nil, errors.New("build: no compiler")
	}
	p := opts.Policy.withDefaults()
	name, settings := opts.Compiler.Name(), opts.Compiler.Settings()

	fsys, err := openBuildDir(opts.BuildDir, false)
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	defer fsys.Close()

	var old *Manifest
	if fsys != nil {
		old, err = fsys.readManifest()
		if err != nil {
			if !opts.Force {
				return nil, fmt.Errorf("build: %w (fix it, or build with --force to regenerate everything)", err)
			}
			var ve *ValidationError
			if errors.As(err, &ve) { // a link at manifest.json: never write through it
				return nil, fmt.Errorf("build: %w", err)
			}
			old = nil
		}
	}

	if old != nil && !opts.Force && old.Fingerprint == al.Fingerprint && old.Compiler == name && old.Settings == settings {
		ok, err := fsys.allPresent(old)
		if err != nil {
			return nil, fmt.Errorf("build: %w", err)
		}
		if ok {
			lb, err := loadBuilt(fsys, al, p, old)
			if err != nil {
				return nil, fmt.Errorf("build: reuse %s: %w", opts.BuildDir, err)
			}
			return &BuildResult{Bundle: lb.bundle, Reused: true, Kept: lb.kept, KeptSteps: lb.keptSteps}, nil
		}
	}

	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	compiled, err := opts.Compiler.Compile(ctx, al, opts.Facts)
	if err != nil {
		return nil, fmt.Errorf("build: compile with %s: %w", name, err)
	}
	if compiled == nil {
		return nil, fmt.Errorf("build: compiler %s returned no bundle", name)
	}
	gen := cloneBundle(compiled)
	gen.Fingerprint, gen.Compiler = al.Fingerprint, name
	if err := Validate(gen, al, p); err != nil {
		return nil, fmt.Errorf("build: bundle from compiler %s: %w", name, err)
	}

	plan, err := planWrite(fsys, old, gen, p, opts.Force)
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	if err := Validate(plan.final, al, p); err != nil {
		return nil, fmt.Errorf("build: bundle with your edits kept (%s): %w", strings.Join(append(plan.kept, plan.keptSteps...), ", "), err)
	}

	if opts.beforeWrite != nil {
		opts.beforeWrite()
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	created := false
	if fsys == nil {
		if fsys, err = openBuildDir(opts.BuildDir, true); err != nil {
			return nil, fmt.Errorf("build: %w", err)
		}
		defer fsys.Close()
		created = true
	}
	dirs := map[string]bool{".": true}
	byPath := map[string]*contract.Artifact{}
	for i := range plan.final.Artifacts {
		byPath[plan.final.Artifacts[i].Path] = &plan.final.Artifacts[i]
	}
	var newDirs []string // made by this build, deepest last
	for _, ap := range plan.write {
		if d := path.Dir(ap); !dirs[d] {
			if exists, _, _ := fsys.inspect(d); !exists {
				newDirs = append(newDirs, d)
			}
			if err := fsys.mkdirAll(d); err != nil {
				return nil, fmt.Errorf("build: %w", err)
			}
			dirs[d] = true
		}
	}
	// The artifacts are written to temporary files while the metadata is
	// encoded; nothing is renamed into place before everything is encoded.
	files := make([]fileWrite, 0, len(plan.write))
	for _, ap := range plan.write {
		a := byPath[ap]
		m, _ := strconv.ParseUint(a.Mode, 8, 32)
		files = append(files, fileWrite{path: ap, data: []byte(a.Content), mode: fs.FileMode(m) & 0o755})
	}
	type stageResult struct {
		s   *staged
		err error
	}
	stagec := make(chan stageResult, 1)
	go func() {
		s, err := fsys.stage(files)
		stagec <- stageResult{s, err}
	}()
	f := opts.Facts
	if f == nil {
		f = &facts.Facts{}
	}
	meta := []struct {
		name string
		enc  func() ([]byte, error)
	}{
		{actionListFile, func() ([]byte, error) { return contract.MarshalValidated(contract.SchemaActionList, al) }},
		{factsFile, func() ([]byte, error) { return contract.Marshal(f) }},
		{bundleFile, func() ([]byte, error) { return contract.MarshalValidated(contract.SchemaBundle, plan.final) }},
		{manifestFile, func() ([]byte, error) { return contract.Marshal(newManifest(gen, settings)) }},
	}
	// The bundle takes most of the time; the others encode beside it.
	metaData := make([][]byte, len(meta))
	encErrs := make([]error, len(meta))
	var wg sync.WaitGroup
	for i, m := range meta {
		wg.Go(func() { metaData[i], encErrs[i] = m.enc() })
	}
	wg.Wait()
	var encErr error
	for i, e := range encErrs {
		if e != nil {
			encErr = fmt.Errorf("build: encode %s: %w", meta[i].name, e)
			break
		}
	}
	sr := <-stagec
	if encErr != nil || sr.err != nil {
		if sr.s != nil {
			sr.s.abort()
		}
		// Leave no directory this build made for nothing (only empty ones
		// can go).
		for i := len(newDirs) - 1; i >= 0; i-- {
			_ = fsys.root.Remove(newDirs[i])
		}
		if created {
			_ = os.Remove(opts.BuildDir)
		}
		if encErr != nil {
			return nil, encErr
		}
		return nil, fmt.Errorf("build: %w", sr.err)
	}
	// Every file is on disk before it is renamed into place (commit).
	if err := sr.s.commit(); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	for _, ap := range plan.remove {
		if err := fsys.remove(ap); err != nil {
			return nil, fmt.Errorf("build: %w", err)
		}
		dirs[path.Dir(ap)] = true
	}
	for d := range dirs {
		if err := fsys.syncDir(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("build: %w", err)
		}
	}
	// manifest.json last: it is the commit point of the build.
	for i, m := range meta {
		if err := fsys.write(m.name, metaData[i], 0o644); err != nil {
			return nil, fmt.Errorf("build: %w", err)
		}
	}
	if err := fsys.syncDir("."); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	return &BuildResult{
		Bundle:    plan.final,
		Written:   plan.write,
		Kept:      plan.kept,
		KeptSteps: plan.keptSteps,
		Removed:   plan.remove,
	}, nil
}

// fileWrite is one file for buildFS.writeAll.
type fileWrite struct {
	path string
	data []byte
	mode fs.FileMode
}

// writePlan is what a build will do to the directory.
type writePlan struct {
	final     *contract.Bundle // generated bundle with kept user edits
	write     []string         // artifact paths to (re)write
	remove    []string         // old artifact paths to delete
	kept      []string
	keptSteps []string
}

// planWrite compares the generated bundle with the directory and the old
// manifest. It reads the disk only through buildFS (no links followed) and
// fails with a *ValidationError if any path it would touch is a link.
func planWrite(fsys *buildFS, old *Manifest, gen *contract.Bundle, p Policy, force bool) (*writePlan, error) {
	plan := &writePlan{final: cloneBundle(gen)}
	if fsys == nil { // nothing on disk yet
		for _, a := range gen.Artifacts {
			plan.write = append(plan.write, a.Path)
		}
		sort.Strings(plan.write)
		return plan, nil
	}
	oldArts := map[string]ManifestArtifact{}
	if old != nil {
		oldArts = old.Artifacts
	}
	newPaths := map[string]bool{}
	check := []string{manifestFile, bundleFile, actionListFile, factsFile}
	for _, a := range gen.Artifacts {
		newPaths[a.Path] = true
		check = append(check, a.Path)
	}
	var orphans []string
	for op := range oldArts {
		if !newPaths[op] {
			orphans = append(orphans, op)
			check = append(check, op)
		}
	}
	sort.Strings(orphans)
	vs, err := fsys.precheck(check)
	if err != nil {
		return nil, err
	}
	if err := vs.err(); err != nil {
		return nil, err
	}

	var conflicts []string
	for i := range plan.final.Artifacts {
		a := &plan.final.Artifacts[i]
		df, err := fsys.read(a.Path, p.MaxArtifactSize)
		if err != nil {
			return nil, err
		}
		if df.problem != "" && !(force && df.rule == RuleSize) {
			vs.add(df.rule, a.Path, "", "%s", df.problem)
			continue
		}
		if !df.exists || df.problem != "" {
			plan.write = append(plan.write, a.Path)
			continue
		}
		diskHash := hashBytes(df.content)
		if diskHash == hashBytes([]byte(a.Content)) && df.mode == normMode(a.Mode) {
			continue // already as generated
		}
		oe, known := oldArts[a.Path]
		edited := !known || diskHash != oe.SHA256 || df.mode != oe.Mode
		if !edited || force {
			plan.write = append(plan.write, a.Path)
			continue
		}
		if known && oe.Purpose != a.Purpose {
			conflicts = append(conflicts, fmt.Sprintf("%s was edited for step %s but now belongs to step %s", a.Path, oe.Purpose, a.Purpose))
			continue
		}
		a.Content, a.Mode = string(df.content), df.mode
		plan.kept = append(plan.kept, a.Path)
	}
	for _, op := range orphans {
		df, err := fsys.read(op, p.MaxArtifactSize)
		if err != nil {
			return nil, err
		}
		switch {
		case df.problem != "" && df.rule == RuleSize:
			// Larger than any generated artifact: the user's. Keep it.
			plan.kept = append(plan.kept, op)
			continue
		case df.problem != "":
			vs.add(df.rule, op, "", "%s", df.problem)
			continue
		case !df.exists:
			continue
		}
		oe := oldArts[op]
		if !force && (hashBytes(df.content) != oe.SHA256 || df.mode != oe.Mode) {
			plan.kept = append(plan.kept, op)
			continue
		}
		plan.remove = append(plan.remove, op)
	}
	if err := vs.err(); err != nil {
		return nil, err
	}
	if len(conflicts) > 0 {
		return nil, fmt.Errorf("%w: %s; move your edits or build with --force", ErrEditConflict, strings.Join(conflicts, "; "))
	}
	if !force && old != nil {
		edits, err := fsys.editedRuns(old)
		if err != nil {
			return nil, err
		}
		for i := range plan.final.Steps {
			s := &plan.final.Steps[i]
			if r, ok := edits[s.Purpose]; ok && hashRun(r) != hashRun(s.Run) {
				s.Run = r
				plan.keptSteps = append(plan.keptSteps, s.Purpose)
			}
		}
	}
	sort.Strings(plan.write)
	sort.Strings(plan.kept)
	sort.Strings(plan.keptSteps)
	sort.Strings(plan.remove)
	return plan, nil
}

// editedRuns returns, by purpose, the runs in bundle.json on disk that
// differ from what the manifest says was generated.
func (b *buildFS) editedRuns(old *Manifest) (map[string]contract.Run, error) {
	df, err := b.read(bundleFile, maxMetaSize)
	if err != nil {
		return nil, err
	}
	if df.problem != "" {
		return nil, &ValidationError{Violations: []Violation{{Rule: df.rule, Artifact: bundleFile, Message: df.problem}}}
	}
	if !df.exists {
		return nil, nil
	}
	ob, err := contract.ParseBundle(df.content)
	if err != nil {
		return nil, fmt.Errorf("%s on disk was edited and no longer parses (fix it, or build with --force): %w", bundleFile, err)
	}
	out := map[string]contract.Run{}
	for _, s := range ob.Steps {
		if gh, ok := old.Steps[s.Purpose]; ok && gh != hashRun(s.Run) {
			out[s.Purpose] = s.Run
		}
	}
	return out, nil
}

// allPresent reports whether bundle.json and every artifact the manifest
// lists exist (as anything: links are caught when they are read).
func (b *buildFS) allPresent(m *Manifest) (bool, error) {
	paths := []string{bundleFile}
	for p := range m.Artifacts {
		paths = append(paths, p)
	}
	for _, p := range paths {
		exists, problem, err := b.inspect(p)
		if err != nil {
			return false, err
		}
		if !exists && problem == "" {
			return false, nil
		}
	}
	return true, nil
}

// LoadBuilt reads the bundle in buildDir for the ActionList al: bundle.json,
// with every artifact's content and mode taken from the files on disk (a
// script the user edited runs as edited), and validates it all again. A
// bundle built for another plan fails with ErrStaleBundle; a missing build
// with ErrNoBuild; a rule broken on disk (a link, a setuid bit, a run.cmd
// that is not allowlisted) with a *ValidationError.
func LoadBuilt(buildDir string, al *contract.ActionList, p Policy) (*contract.Bundle, error) {
	if al == nil {
		return nil, errors.New("load build: no action list")
	}
	fsys, err := openBuildDir(buildDir, false)
	if err != nil {
		return nil, fmt.Errorf("load build: %w", err)
	}
	if fsys == nil {
		return nil, fmt.Errorf("load build: %s: %w", buildDir, ErrNoBuild)
	}
	defer fsys.Close()
	lb, err := loadBuilt(fsys, al, p.withDefaults(), nil)
	if err != nil {
		return nil, fmt.Errorf("load build: %w", err)
	}
	return lb.bundle, nil
}

type loaded struct {
	bundle          *contract.Bundle
	kept, keptSteps []string
}

// loadBuilt reads and validates the bundle on disk; with a manifest it also
// reports which artifacts and runs the user edited.
func loadBuilt(fsys *buildFS, al *contract.ActionList, p Policy, m *Manifest) (*loaded, error) {
	df, err := fsys.read(bundleFile, 6*p.MaxTotalSize+1<<20)
	if err != nil {
		return nil, err
	}
	if df.problem != "" {
		return nil, &ValidationError{Violations: []Violation{{Rule: df.rule, Artifact: bundleFile, Message: df.problem}}}
	}
	if !df.exists {
		return nil, ErrNoBuild
	}
	b, err := decodeBundle(df.content, p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", bundleFile, err)
	}
	if b.Fingerprint != al.Fingerprint {
		return nil, fmt.Errorf("%w: %s is for plan %s, the current plan is %s; build again", ErrStaleBundle, bundleFile, b.Fingerprint, al.Fingerprint)
	}
	// Never touch the disk with a path that fails the path rules.
	var vs violations
	for _, a := range b.Artifacts {
		if len(pathProblems(a.Path)) > 0 {
			return nil, Validate(b, al, p)
		}
	}
	out := &loaded{bundle: b}
	for i := range b.Artifacts {
		a := &b.Artifacts[i]
		df, err := fsys.read(a.Path, p.MaxArtifactSize)
		if err != nil {
			return nil, err
		}
		switch {
		case df.problem != "":
			vs.add(df.rule, a.Path, "", "%s", df.problem)
			continue
		case !df.exists:
			vs.add(RulePath, a.Path, "", "artifact is missing on disk; build again")
			continue
		}
		a.Content, a.Mode = string(df.content), df.mode
		if m != nil {
			if oe, ok := m.Artifacts[a.Path]; !ok || oe.SHA256 != hashBytes(df.content) || oe.Mode != df.mode {
				out.kept = append(out.kept, a.Path)
			}
		}
	}
	if m != nil {
		for _, s := range b.Steps {
			if gh, ok := m.Steps[s.Purpose]; !ok || gh != hashRun(s.Run) {
				out.keptSteps = append(out.keptSteps, s.Purpose)
			}
		}
	}
	if err := Validate(b, al, p); err != nil {
		var ve *ValidationError
		if !errors.As(err, &ve) {
			return nil, err
		}
		vs = append(vs, ve.Violations...)
	}
	if err := vs.err(); err != nil {
		return nil, err
	}
	sort.Strings(out.kept)
	sort.Strings(out.keptSteps)
	return out, nil
}

// decodeBundle is the encoding and schema half of ValidateBundleJSON.
func decodeBundle(data []byte, p Policy) (*contract.Bundle, error) {
	var vs violations
	if limit := 6*p.MaxTotalSize + 1<<20; int64(len(data)) > limit {
		vs.add(RuleSize, "", "", "bundle JSON is %d bytes, at most %d allowed", len(data), limit)
		return nil, vs.err()
	}
	if !utf8.Valid(data) {
		vs.add(RuleContent, "", "", "bundle JSON is not valid UTF-8")
	}
	if loneSurrogate(data) {
		vs.add(RuleContent, "", "", "bundle JSON has a lone UTF-16 surrogate escape (\\ud800-\\udfff)")
	}
	if len(vs) > 0 {
		return nil, vs.err()
	}
	b, err := parseBundleNoPanic(data)
	if err != nil {
		var se *contract.SchemaError
		if errors.As(err, &se) {
			for _, prob := range se.Problems {
				vs.add(RuleSchema, "", "", "%s", prob)
			}
		} else {
			vs.add(RuleSchema, "", "", "%v", err)
		}
		return nil, vs.err()
	}
	return b, nil
}

// parseBundleNoPanic is contract.ParseBundle, except that a panic in the
// schema checker (jsonschema's messages panic for some keywords when given
// no printer) falls back to a strict decode: Validate then checks every
// bound the schema has. Hostile input must be rejected, never crash.
func parseBundleNoPanic(data []byte) (*contract.Bundle, error) {
	b, err, panicked := tryParseBundle(data)
	if !panicked {
		return b, err
	}
	var sb contract.Bundle
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sb); err != nil {
		return nil, fmt.Errorf("decode bundle: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode bundle: trailing data after JSON value")
	}
	return &sb, nil
}

func tryParseBundle(data []byte) (b *contract.Bundle, err error, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			b, err, panicked = nil, nil, true
		}
	}()
	b, err = contract.ParseBundle(data)
	return b, err, false
}

// cloneBundle deep-copies a bundle so forge never mutates a compiler's value.
func cloneBundle(b *contract.Bundle) *contract.Bundle {
	c := *b
	c.Artifacts = append([]contract.Artifact(nil), b.Artifacts...)
	c.Steps = make([]contract.BundleStep, len(b.Steps))
	for i, s := range b.Steps {
		s.Run.Cmd = append([]string(nil), s.Run.Cmd...)
		if s.Run.Env != nil {
			env := make(map[string]string, len(s.Run.Env))
			for k, v := range s.Run.Env {
				env[k] = v
			}
			s.Run.Env = env
		}
		c.Steps[i] = s
	}
	if b.Vars != nil {
		c.Vars = make(map[string]any, len(b.Vars))
		for k, v := range b.Vars {
			c.Vars[k] = v
		}
	}
	return &c
}
