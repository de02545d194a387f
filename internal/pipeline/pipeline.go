package pipeline

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/clockwork-iac/clockwork/internal/assembly"
	"github.com/clockwork-iac/clockwork/internal/compiler/builtin"
	"github.com/clockwork-iac/clockwork/internal/container"
	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/executor"
	"github.com/clockwork-iac/clockwork/internal/facts"
	"github.com/clockwork-iac/clockwork/internal/forge"
	"github.com/clockwork-iac/clockwork/internal/intake"
	"github.com/clockwork-iac/clockwork/internal/ir"
	"github.com/clockwork-iac/clockwork/internal/runner"
	"github.com/clockwork-iac/clockwork/internal/sandbox"
	"github.com/clockwork-iac/clockwork/internal/state"
)

// Options configure one run of the pipeline on one directory.
type Options struct {
	Dir      string
	Vars     []string
	VarFiles []string
	Environ  []string
	Targets  []string
	// Compiler proposes bundles; nil means the built-in compiler.
	Compiler forge.Compiler
	Policy   forge.Policy
	Force    bool
	// Parallelism is the number of steps run at once (default 10).
	Parallelism int
	StepTimeout time.Duration
	PassEnv     []string
	// Clockwork is the path of this binary, given to steps as CW_CLOCKWORK.
	Clockwork string
	Logger    *slog.Logger
	Offline   bool
	// OnStepStart and OnStepDone report progress (in completion order).
	OnStepStart func(contract.Step)
	OnStepDone  func(contract.Step, executor.StepResult)
	// SavedPlan, when set (`clockwork apply PLANFILE`), is a plan saved by
	// `clockwork plan --out`: apply refuses it when state changed since
	// (stale) or when planning now gives another plan.
	SavedPlan *contract.ActionList
	// NoConfine runs steps without Landlock confinement (--no-confine).
	NoConfine bool
	// Select overrides which steps Apply runs (the daemon reconciles one
	// resource's steps); nil means ApplySelect.
	Select func(contract.Step) bool
}

// StateDir is <dir>/.clockwork.
func (o *Options) StateDir() string { return filepath.Join(o.Dir, ".clockwork") }

// BuildDir is <dir>/.clockwork/build.
func (o *Options) BuildDir() string { return filepath.Join(o.StateDir(), "build") }

func (o *Options) compiler() forge.Compiler {
	if o.Compiler != nil {
		return o.Compiler
	}
	return builtin.New()
}

func (o *Options) policy() forge.Policy {
	if o.Policy.Allowlist == nil {
		return forge.DefaultPolicy()
	}
	return o.Policy
}

// checkStateDir refuses a .clockwork that is a symbolic link: builds, logs
// and state would be written wherever it points.
func (o *Options) checkStateDir() error {
	fi, err := os.Lstat(o.StateDir())
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		return nil
	}
	return fmt.Errorf("%s is a symbolic link; Clockwork writes its build, logs and state only into a real directory", o.StateDir())
}

// Planned is the result of intake and assembly.
type Planned struct {
	Intake *intake.Result
	Config *ir.Config
	State  *contract.State // nil when no state exists yet
	Plan   *assembly.Plan
}

// Files returns the parsed files for diagnostic rendering.
func (p *Planned) Files() map[string]*hcl.File {
	if p == nil || p.Intake == nil {
		return nil
	}
	return p.Intake.Files
}

// DiagError carries configuration diagnostics out of a stage.
type DiagError struct {
	Diags hcl.Diagnostics
	Files map[string]*hcl.File
}

func (e *DiagError) Error() string {
	var parts []string
	for _, d := range e.Diags {
		if d.Severity == hcl.DiagError {
			parts = append(parts, d.Error())
		}
	}
	return strings.Join(parts, "; ")
}

// Load runs intake only (validate).
func Load(ctx context.Context, o Options, validate bool, st *contract.State) (*intake.Result, hcl.Diagnostics) {
	return intake.Load(ctx, intake.Options{
		Dir:          o.Dir,
		Vars:         o.Vars,
		VarFiles:     o.VarFiles,
		Environ:      o.Environ,
		StateOutputs: stateOutputs(st),
		Validate:     validate,
		Offline:      o.Offline,
	})
}

// Plan runs intake and assembly against the state on disk. It writes nothing.
func Plan(ctx context.Context, o Options, destroy bool) (*Planned, hcl.Diagnostics, error) {
	st, err := state.Open(o.StateDir()).Load()
	if err != nil {
		return nil, nil, err
	}
	return planWith(ctx, o, st, destroy)
}

func planWith(ctx context.Context, o Options, st *contract.State, destroy bool) (*Planned, hcl.Diagnostics, error) {
	res, diags := Load(ctx, o, false, st)
	p := &Planned{Intake: res, State: st}
	if diags.HasErrors() || res == nil || res.Config == nil {
		return p, diags, nil
	}
	p.Config = res.Config
	plan, adiags := assembly.Build(res.Config, st, assembly.Options{
		Targets:      o.Targets,
		Destroy:      destroy,
		ContentHash:  contentHasher(o.Dir),
		SecretDigest: secretDigest(o.StateDir()),
	})
	diags = append(diags, adiags...)
	p.Plan = plan
	return p, diags, nil
}

// BuildResult is what Build did.
type BuildResult struct {
	Planned *Planned
	Facts   *facts.Facts
	Build   *forge.BuildResult
}

// Build plans, gathers facts, compiles (or reuses) and writes the bundle.
// Nothing is executed.
func Build(ctx context.Context, o Options) (*BuildResult, error) {
	p, diags, err := Plan(ctx, o, false)
	if err != nil {
		return nil, err
	}
	if diags.HasErrors() {
		return &BuildResult{Planned: p}, &DiagError{Diags: diags, Files: p.Files()}
	}
	return buildPlanned(ctx, o, p, nil)
}

// buildPlanned builds p's bundle. gathered, when not nil, delivers the
// facts of o.Environ (gathered while planning); otherwise they are gathered
// here.
func buildPlanned(ctx context.Context, o Options, p *Planned, gathered <-chan *facts.Facts) (*BuildResult, error) {
	if err := o.checkStateDir(); err != nil {
		return nil, err
	}
	var f *facts.Facts
	if gathered != nil {
		f = <-gathered
	} else {
		f = facts.Gather(ctx, o.Environ)
	}
	br, err := forge.Build(ctx, forge.BuildOptions{
		BuildDir:   o.BuildDir(),
		ActionList: p.Plan.ActionList,
		Compiler:   factsKeyed{Compiler: o.compiler(), facts: f},
		Facts:      f,
		Policy:     o.policy(),
		Force:      o.Force,
	})
	if err != nil {
		return &BuildResult{Planned: p, Facts: f}, fmt.Errorf("build: %w", err)
	}
	return &BuildResult{Planned: p, Facts: f, Build: br}, nil
}

// ApplyResult is what Apply did.
type ApplyResult struct {
	*BuildResult
	Report  *executor.Report
	RunID   string
	LogDir  string
	Outputs map[string]any
	// PriorOutputs are each resource's recorded outputs before the run (the
	// state the plan was made against is updated in place as steps finish).
	PriorOutputs map[string]map[string]string
	// Drifted are the unchanged resources apply found drifted on disk and
	// ran again, with what was seen.
	Drifted map[string]string
	// Sensitive names outputs whose value is hidden.
	Sensitive map[string]bool
}

// ApplySelect is the default step selection of apply: every step that
// changes something, plus the ensure step of every unchanged service: it is
// idempotent and cheap (a pid or container check), and restarts what died,
// so apply repairs a dead service without a config change. Verify steps of
// unchanged resources are left to `clockwork verify`.
func ApplySelect(s contract.Step) bool {
	if s.Change != contract.ChangeNoop {
		return true
	}
	return s.Name == contract.StepEnsureService
}

// VerifySelect selects only verify steps.
func VerifySelect(s contract.Step) bool { return contract.IsVerify(s.Name) }

// Apply plans, builds if needed, executes and records state.
func Apply(ctx context.Context, o Options) (*ApplyResult, error) {
	return run(ctx, o, runSpec{op: "apply"})
}

// Destroy plans deletes for everything in state and runs them.
func Destroy(ctx context.Context, o Options) (*ApplyResult, error) {
	return run(ctx, o, runSpec{op: "destroy", destroy: true})
}

// Verify runs only the verify steps of the current configuration.
func Verify(ctx context.Context, o Options) (*ApplyResult, error) {
	o.Select = VerifySelect
	return run(ctx, o, runSpec{op: "verify"})
}

// runSpec says what one locked run does.
type runSpec struct {
	op      string // recorded in the lock; "verify" records no outputs
	destroy bool
	// lastGood, when set, is the plan run while the .cw has errors: its
	// bundle as it is on disk (the daemon keeps its last good config).
	lastGood *Planned
	// backoff overrides the executor's retry backoff (tests of the daemon).
	backoff func(int) time.Duration
}

// run is the one path every operation takes: the state lock, plan, build
// (or the last good bundle), execute, record state and outputs.
func run(ctx context.Context, o Options, spec runSpec) (*ApplyResult, error) {
	if err := o.checkStateDir(); err != nil {
		return nil, err
	}
	store := state.Open(o.StateDir())
	if err := os.MkdirAll(o.StateDir(), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", o.StateDir(), err)
	}
	lock, err := store.Lock(ctx, spec.op)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	if err := ensureDigestKey(o.StateDir()); err != nil {
		return nil, err
	}

	// Facts (runtime versions, the container engine) depend only on the
	// environment: gather them while state loads and the plan is made.
	gathered := make(chan *facts.Facts, 1)
	go func() { gathered <- facts.Gather(ctx, o.Environ) }()

	st, err := store.Load()
	if err != nil {
		return nil, err
	}
	if o.SavedPlan != nil {
		if err := state.CheckPlan(st, o.SavedPlan.StateLineage, o.SavedPlan.StateSerial); err != nil {
			return nil, fmt.Errorf("saved plan: %w", err)
		}
	}
	p, diags, err := planWith(ctx, o, st, spec.destroy)
	if err != nil {
		return nil, err
	}
	configOK := !diags.HasErrors()
	if o.SavedPlan != nil && configOK && p.Plan.ActionList.Fingerprint != o.SavedPlan.Fingerprint {
		return &ApplyResult{BuildResult: &BuildResult{Planned: p}}, fmt.Errorf("saved plan: the configuration or its inputs changed since the plan was saved (plan %s, now %s); plan again",
			o.SavedPlan.Fingerprint, p.Plan.ActionList.Fingerprint)
	}
	var br *BuildResult
	switch {
	case configOK:
		if br, err = buildPlanned(ctx, o, p, gathered); err != nil {
			return &ApplyResult{BuildResult: br}, err
		}
	case spec.lastGood != nil:
		p = spec.lastGood
		b, err := forge.LoadBuilt(o.BuildDir(), p.Plan.ActionList, o.policy())
		if err != nil {
			return nil, fmt.Errorf("last good bundle: %w", err)
		}
		br = &BuildResult{Planned: p, Build: &forge.BuildResult{Bundle: b, Reused: true}}
	default:
		return &ApplyResult{BuildResult: &BuildResult{Planned: p}}, &DiagError{Diags: diags, Files: p.Files()}
	}
	if st == nil {
		st = state.New()
	}
	runID := newRunID()
	logDir := filepath.Join(o.StateDir(), "logs", runID)
	sel := o.Select
	var drift map[string]string
	if sel == nil {
		sel = ApplySelect
		if spec.op == "apply" {
			drift = Refresh(o.Dir, p.Plan.ActionList)
			if len(drift) > 0 {
				sel = func(s contract.Step) bool { return ApplySelect(s) || drift[s.Resource] != "" }
			}
		}
	}
	prior := map[string]map[string]string{}
	for addr, outs := range stateOutputs(st) {
		prior[addr] = maps.Clone(outs)
	}
	sess := store.Begin(st)
	rep, execErr := executor.Execute(ctx, p.Plan.ActionList, br.Build.Bundle, sess, executor.Options{
		Root:           absDir(o.Dir),
		BuildDir:       absDir(o.BuildDir()),
		StateDir:       absDir(o.StateDir()),
		LogDir:         absDir(logDir),
		RunID:          runID,
		Parallelism:    o.Parallelism,
		StepTimeout:    o.StepTimeout,
		PassEnv:        passEnv(o.PassEnv),
		Environ:        o.Environ,
		Secrets:        p.Plan.Secrets,
		Select:         sel,
		Runner:         runners(p.Config),
		ConfineThread:  o.confine(),
		Clockwork:      o.Clockwork,
		OnStepStart:    o.OnStepStart,
		OnStepDone:     o.OnStepDone,
		Backoff:        spec.backoff,
		DeleteSteps:    p.Plan.DeleteSteps,
		DependsOn:      dependsOn(p.Config),
		PreventDestroy: preventDestroy(p.Plan),
	})
	// prevent_destroy is not part of a resource's config hash, so changing
	// only it plans no step: record it for every resource still declared.
	if configOK && !spec.destroy {
		pd := preventDestroy(p.Plan)
		decl := declared(p.Config)
		sess.Update(func(st *contract.State) {
			for i := range st.Resources {
				if v, ok := pd[st.Resources[i].Address]; ok && decl[st.Resources[i].Address] {
					st.Resources[i].PreventDestroy = v
				}
			}
		})
	}
	if len(p.Plan.Forget) > 0 && execErr == nil {
		// Removed resources without a delete step (checks, tasks, commands
		// without on_destroy) leave state without running anything.
		forget := p.Plan.Forget
		sess.Update(func(st *contract.State) {
			kept := st.Resources[:0]
			for _, r := range st.Resources {
				if !slices.Contains(forget, r.Address) {
					kept = append(kept, r)
				}
			}
			st.Resources = kept
		})
	}
	// With no output block declared (or a destroy) and none in state,
	// recording outputs would load state and the configuration again to
	// write nothing.
	outputsToRecord := !spec.destroy && p.Config != nil && len(p.Config.Outputs) > 0
	if !outputsToRecord {
		sess.View(func(st *contract.State) { outputsToRecord = len(st.Outputs) > 0 })
	}
	closeErr := sess.Close()
	pruneLogs(filepath.Join(o.StateDir(), "logs"), keepLogRuns)
	ar := &ApplyResult{BuildResult: br, Report: rep, RunID: runID, LogDir: logDir, PriorOutputs: prior, Drifted: drift}
	if execErr != nil {
		return ar, errors.Join(execErr, closeErr)
	}
	if closeErr != nil {
		return ar, closeErr
	}
	if spec.op != "verify" && configOK {
		if !outputsToRecord {
			ar.Outputs, ar.Sensitive = map[string]any{}, map[string]bool{}
			return ar, nil
		}
		if err := ar.recordOutputs(ctx, o, store, spec.destroy); err != nil {
			return ar, err
		}
	}
	return ar, nil
}

// keepLogRuns is how many runs' logs .clockwork/logs keeps (the daemon
// starts a run on every reconcile).
const keepLogRuns = 50

// pruneLogs removes all but the newest keep run directories. Run ids are
// UTC timestamps, so lexical order is age order.
func pruneLogs(dir string, keep int) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	var runs []string
	for _, e := range entries {
		if e.IsDir() {
			runs = append(runs, e.Name())
		}
	}
	if len(runs) <= keep {
		return
	}
	slices.Sort(runs)
	for _, r := range runs[:len(runs)-keep] {
		_ = os.RemoveAll(filepath.Join(dir, r))
	}
}

// recordOutputs evaluates output blocks with the outputs steps published and
// records the non-sensitive ones in state.
func (ar *ApplyResult) recordOutputs(ctx context.Context, o Options, store *state.Store, destroy bool) error {
	st, err := store.Load()
	if err != nil || st == nil {
		return err
	}
	outs := map[string]any{}
	sens := map[string]bool{}
	if !destroy {
		res, diags := Load(ctx, o, false, st)
		if !diags.HasErrors() && res != nil && res.Config != nil {
			vals, _ := assembly.Outputs(res.Config)
			for k, v := range vals {
				outs[k] = v
			}
			for _, out := range res.Config.Outputs {
				if out.Sensitive {
					sens[out.Name] = true
				}
			}
		}
	}
	ar.Outputs, ar.Sensitive = outs, sens
	if len(outs) == 0 && len(st.Outputs) == 0 {
		return nil
	}
	st.Outputs = outs
	return store.Save(st)
}

func dependsOn(cfg *ir.Config) map[string][]string {
	out := map[string][]string{}
	if cfg == nil {
		return out
	}
	for _, r := range cfg.Resources {
		out[r.Addr] = r.DependsOn
	}
	return out
}

// preventDestroy is lifecycle.prevent_destroy of every planned resource,
// false included, so lifting it is recorded too.
func preventDestroy(p *assembly.Plan) map[string]bool {
	out := map[string]bool{}
	for addr, r := range p.Resources {
		out[addr] = r.PreventDestroy
	}
	return out
}

// declared is the set of resource addresses the configuration declares.
func declared(cfg *ir.Config) map[string]bool {
	out := map[string]bool{}
	if cfg == nil {
		return out
	}
	for _, r := range cfg.Resources {
		out[r.Addr] = true
	}
	return out
}

// passEnv adds the container engine's settings to what steps receive, so
// `clockwork step docker` finds the same engine as the user's shell.
func passEnv(user []string) []string {
	out := append([]string{}, user...)
	for _, k := range []string{"DOCKER_HOST", "CONTAINERS_CONF", "XDG_RUNTIME_DIR"} {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// contentHasher hashes what a plan depends on beyond the .cw text: an image
// build context the way the engine sees it (honouring .dockerignore), and a
// file resource's source.
func contentHasher(dir string) func(string) (string, error) {
	plain := assembly.FSHasher(dir)
	return func(p string) (string, error) {
		full := p
		if !filepath.IsAbs(full) {
			full = filepath.Join(dir, p)
		}
		if fi, err := os.Stat(full); err == nil && fi.IsDir() {
			if _, err := os.Stat(filepath.Join(full, "Dockerfile")); err == nil {
				h, err := container.ContextHash(full, "Dockerfile")
				return strings.TrimPrefix(h, "sha256:"), err
			}
		}
		return plain(p)
	}
}

// runners returns the executor's runner lookup. Every step runs on this
// machine; container steps reach their engine through `clockwork step
// docker`, so a docker provider with a host gives its steps that DOCKER_HOST.
func runners(cfg *ir.Config) func(string) (runner.Runner, error) {
	hosts := map[string]string{}
	if cfg != nil {
		for _, p := range cfg.Providers {
			if p.Kind != "docker" || p.Config.IsNull() || !p.Config.IsKnown() || !p.Config.Type().IsObjectType() {
				continue
			}
			if !p.Config.Type().HasAttribute("host") {
				continue
			}
			h := p.Config.GetAttr("host")
			if h.IsKnown() && !h.IsNull() && h.Type() == cty.String {
				hosts[p.Ref()] = h.AsString()
			}
		}
	}
	return func(provider string) (runner.Runner, error) {
		kind, _, _ := strings.Cut(provider, ".")
		switch kind {
		case "", "local":
			return &runner.Local{}, nil
		case "docker":
			if h, ok := hosts[provider]; ok {
				return envRunner{Runner: &runner.Local{}, set: map[string]string{"DOCKER_HOST": h}}, nil
			}
			return &runner.Local{}, nil
		}
		return nil, fmt.Errorf("provider %q has no runner in this build (available: local, docker)", provider)
	}
}

// confine returns the executor's Confine (docs/confinement.md): each step
// may write only inside .clockwork/ and the paths its resource declares. Nil
// with --no-confine, an unknown binary, or no Landlock (ConfineSummary says
// which).
func (o *Options) confine() func(contract.Step) (func() error, error) {
	if o.NoConfine || o.Clockwork == "" {
		return nil
	}
	if _, ok, _ := sandbox.Status(); !ok {
		return nil
	}
	c := &sandbox.Config{Clockwork: o.Clockwork, Root: absDir(o.Dir), StateDir: absDir(o.StateDir())}
	return c.Thread
}

// ConfineSummary says whether steps of a run with these options are
// confined, for apply's output.
func (o *Options) ConfineSummary() string {
	if o.NoConfine {
		return "steps run unconfined (--no-confine)"
	}
	return sandbox.Summary()
}

// envRunner runs steps with some environment variables set or replaced.
type envRunner struct {
	runner.Runner
	set map[string]string
}

func (r envRunner) Run(ctx context.Context, req runner.Request) (runner.Result, error) {
	env := make([]string, 0, len(req.Env)+len(r.set))
	for _, kv := range req.Env {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := r.set[k]; !ok {
			env = append(env, kv)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(r.set)) {
		env = append(env, k+"="+r.set[k])
	}
	req.Env = env
	return r.Runner.Run(ctx, req)
}

func stateOutputs(st *contract.State) map[string]map[string]string {
	if st == nil {
		return nil
	}
	out := map[string]map[string]string{}
	for _, r := range st.Resources {
		if len(r.Outputs) > 0 {
			out[r.Address] = r.Outputs
		}
	}
	return out
}

func absDir(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

func newRunID() string {
	return time.Now().UTC().Format("20060102T150405.000000000Z")
}

// factsKeyed makes the bundle cache depend on the runtimes present: the
// built-in compiler generates python3 or bash depending on them.
type factsKeyed struct {
	forge.Compiler
	facts *facts.Facts
}

func (c factsKeyed) Settings() string {
	return c.Compiler.Settings() + "|" + builtin.RuntimeKey(c.facts)
}

// digestKeyFile holds the random key of the secret digests that config
// hashes cover (see assembly.Options.SecretDigest). It is not a secret of
// the user's, but without it state alone cannot be used to test guesses.
const digestKeyFile = "secret-digest.key"

// ensureDigestKey creates the digest key on the first run that writes state.
func ensureDigestKey(stateDir string) error {
	p := filepath.Join(stateDir, digestKeyFile)
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("create %s: %w", p, err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", p, err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", p, err)
	}
	return f.Close()
}

// secretDigest returns HMAC-SHA256 under the digest key, or nil when there
// is no key yet (nothing was applied, so there is nothing to compare with).
func secretDigest(stateDir string) func(string) string {
	key, err := os.ReadFile(filepath.Join(stateDir, digestKeyFile))
	if err != nil || len(key) == 0 {
		return nil
	}
	return func(v string) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(v))
		return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
	}
}

// observeLocal reports whether what an ensure_file or ensure_directory step
// ensures holds on disk now (the file exists with the planned content, the
// directory exists), and if not what was seen. Other steps hold.
func observeLocal(dir string, s contract.Step) (string, bool) {
	path := argString(s.Args, "path")
	if path == "" {
		return "", true
	}
	full := path
	if !filepath.IsAbs(full) {
		full = filepath.Join(dir, full)
	}
	switch s.Name {
	case contract.StepEnsureFile:
		data, err := os.ReadFile(full)
		if err != nil {
			return fmt.Sprintf("file %s: %v", path, errors.Unwrap(err)), false
		}
		if want := argString(s.Args, "sha256"); want != "" {
			sum := sha256.Sum256(data)
			if got := hex.EncodeToString(sum[:]); got != want {
				return fmt.Sprintf("file %s: content changed (sha256 %.12s, want %.12s)", path, got, want), false
			}
		}
	case contract.StepEnsureDirectory:
		if fi, err := os.Stat(full); err != nil || !fi.IsDir() {
			return fmt.Sprintf("directory %s is missing", path), false
		}
	}
	return "", true
}

// Refresh finds the unchanged files and directories that drifted on disk
// (deleted, or edited by hand): apply runs their steps again, as Terraform's
// refresh would, for the resources that can be observed cheaply; plan only
// reports them, so the ActionList stays a function of .cw and state.
func Refresh(dir string, al *contract.ActionList) map[string]string {
	drift := map[string]string{}
	for _, s := range al.Steps {
		if s.Change != contract.ChangeNoop || (s.Name != contract.StepEnsureFile && s.Name != contract.StepEnsureDirectory) {
			continue
		}
		if why, ok := observeLocal(dir, s); !ok {
			drift[s.Resource] = why
		}
	}
	return drift
}
