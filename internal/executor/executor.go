package executor

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/runner"
	"github.com/clockwork-iac/clockwork/internal/state"
)

// Step result statuses.
const (
	StatusOK       = "ok"        // ran and succeeded
	StatusFailed   = "failed"    // ran and failed (or could not start, or was interrupted)
	StatusTimedOut = "timed_out" // its last attempt hit the timeout
	StatusSkipped  = "skipped"   // a dependency failed
	StatusNotRun   = "not_run"   // the run was cancelled or stopped before it started
	StatusNoop     = "noop"      // not selected: nothing to do
	StatusResumed  = "resumed"   // already recorded ok by an interrupted run
)

// Defaults.
const (
	DefaultParallelism = 10
	DefaultPath        = "/usr/local/bin:/usr/bin:/bin"
	logTailLines       = 20
	logTailBytes       = 4096
)

// Options configure one Execute call.
type Options struct {
	// Root is the configuration directory (CW_ROOT), BuildDir .clockwork/build
	// (CW_BUILD, the working directory of every step), StateDir .clockwork
	// (CW_STATE_DIR). LogDir defaults to <StateDir>/logs/<RunID>.
	Root, BuildDir, StateDir, LogDir string
	// RunID names the run (default: a UTC timestamp).
	RunID string
	// Parallelism is the number of steps running at once (default 10).
	Parallelism int
	// StepTimeout is the default per-step timeout; a bundle step's
	// run.timeout, else the ActionList step's timeout, wins. 0: none.
	StepTimeout time.Duration
	// PassEnv names variables copied from Environ into every step.
	PassEnv []string
	// Environ is the parent environment ("K=V"), read for PATH, HOME and
	// PassEnv only.
	Environ []string
	// Secrets maps environment names to secret values. A step gets the ones
	// its SecretEnv lists; every value is masked in every log and never
	// recorded as an output.
	Secrets map[string]string
	// Select says which steps run; the others count as done at once (nil:
	// all). Apply selects change != noop plus verify_* and process
	// ensure_service; verify selects verify_* only.
	Select func(contract.Step) bool
	// Runner returns the runner for a step's provider ("local" when empty).
	// nil: &runner.Local{} for every provider.
	Runner func(provider string) (runner.Runner, error)
	// Clockwork is the path of the clockwork binary (CW_CLOCKWORK).
	Clockwork string
	// OnStepStart and OnStepDone are called from one goroutine, in
	// dispatch and completion order; OnStepDone is called for every step,
	// including skipped, noop and not_run ones.
	OnStepStart func(contract.Step)
	OnStepDone  func(contract.Step, StepResult)
	// Backoff is the wait before retry number attempt (0 for the first
	// retry). Default: 500ms * 2^attempt, capped at 10s.
	Backoff func(attempt int) time.Duration
	// DeleteSteps are, per resource address, the steps that would delete it;
	// recorded in state when one of its steps succeeds.
	DeleteSteps map[string][]contract.Step
	// DependsOn are, per resource address, the addresses it depends on;
	// recorded in state.
	DependsOn map[string][]string
	// PreventDestroy mirrors lifecycle.prevent_destroy per address; recorded.
	PreventDestroy map[string]bool
	// Now is the clock for recorded times (default time.Now).
	Now func() time.Time
	// Confine, when set, returns the argv put in front of a step's command
	// to confine it (sandbox.Config.Prefix: "clockwork step sandbox
	// --write ... --"). An error fails the step before it runs. nil: steps
	// run unconfined.
	Confine func(contract.Step) ([]string, error)
	// ConfineThread, when set, returns the hook that confines a step in
	// process (sandbox.Config.Thread): the runner calls it on the thread
	// that starts the command, so no extra process runs per step. Steps
	// get TMPDIR=TempDir. An error fails the step before it runs.
	ConfineThread func(contract.Step) (func() error, error)
	// TempDir holds the per-attempt CW_OUTPUT files. Default: the system
	// temporary directory, or <StateDir>/tmp when Confine is set (a
	// confined step may not write the system temporary directory).
	TempDir string
}

// StepResult is how one step ended.
type StepResult struct {
	StepID   string
	Status   string // one of the Status* constants
	ExitCode int
	Attempts int
	Duration time.Duration
	// Outputs the step published (secret values removed).
	Outputs map[string]string
	// Err says why it failed ("exit status 3", "timed out after 5s", ...).
	Err string
	// SkippedBecause is "skipped: <step id> failed" for skipped steps.
	SkippedBecause string
	// LogPath is the step's log file; LogTail its last lines (masked).
	LogPath string
	LogTail string
}

// Report is the outcome of a run.
type Report struct {
	RunID  string
	LogDir string
	// Results in ActionList order.
	Results []StepResult
	// OK counts ok and resumed steps, Failed failed and timed out ones.
	OK, Failed, Skipped, NotRun, Noop int
}

// LogFile is the log file name of a step: its id with "/" as "__".
func LogFile(stepID string) string { return strings.ReplaceAll(stepID, "/", "__") + ".log" }

// ErrCycle is returned when the ActionList's dependencies form a cycle.
var ErrCycle = errors.New("dependency cycle in the action list")

func (o *Options) defaults() {
	if o.Parallelism <= 0 {
		o.Parallelism = DefaultParallelism
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RunID == "" {
		o.RunID = o.Now().UTC().Format("20060102T150405.000000000Z")
	}
	if o.LogDir == "" {
		o.LogDir = filepath.Join(o.StateDir, "logs", o.RunID)
	}
	if o.Backoff == nil {
		o.Backoff = DefaultBackoff
	}
	if o.TempDir == "" && (o.Confine != nil || o.ConfineThread != nil) {
		o.TempDir = filepath.Join(o.StateDir, "tmp")
	}
	if o.Runner == nil {
		local := &runner.Local{}
		o.Runner = func(string) (runner.Runner, error) { return local, nil }
	}
	for _, p := range []*string{&o.Root, &o.BuildDir, &o.StateDir, &o.LogDir, &o.TempDir} {
		if *p != "" {
			if abs, err := filepath.Abs(*p); err == nil {
				*p = abs
			}
		}
	}
}

// DefaultBackoff waits 500ms * 2^attempt, capped at 10s.
func DefaultBackoff(attempt int) time.Duration {
	d := 500 * time.Millisecond
	for range attempt {
		d *= 2
		if d >= 10*time.Second {
			return 10 * time.Second
		}
	}
	return d
}

// node is the walk's bookkeeping of one step; only the walk goroutine
// touches it.
type node struct {
	deps       []int
	dependents []int
	pending    int
	finished   bool
}

// resTrack is the walk's bookkeeping of one resource in this run.
type resTrack struct {
	planned   int  // steps with change != noop in the ActionList
	plannedOK int  // of those, finished ok or resumed in this run
	deletes   int  // delete steps in the ActionList
	deletesOK int  // of those, finished ok
	failed    bool // a step of it failed in this run
}

type doneMsg struct {
	i   int
	res StepResult
}

type walk struct {
	ctx    context.Context
	al     *contract.ActionList
	bundle map[string]*contract.BundleStep
	// baseEnv is what every step's environment starts from: PATH and
	// HOME, pass-env and bundle vars (see env). Read-only once built.
	baseEnv map[string]string
	fp      string
	sess    *state.Session
	opts    Options
	secrets []string // secret values, for masking
	// outDir is a private (0700) directory of this run where each attempt's
	// CW_OUTPUT file is created by the step itself, if it has outputs: no
	// file is created for the many steps that publish nothing.
	outDir string
	outSeq atomic.Int64
	// arts are the bundle's artifacts by purpose, as validated; each step's
	// are compared with the files on disk right before it runs.
	arts map[string][]*contract.Artifact

	runnersMu sync.Mutex
	runners   map[string]runner.Runner // guarded by runnersMu

	// Owned by the walk goroutine.
	nodes    []node
	results  []StepResult
	res      map[string]*resTrack
	nDone    int
	stopping bool
	ready    indexHeap
}

// Execute runs the selected steps of al with the commands of b, recording
// each finished step through sess. Step failures are in the Report; the
// error is non-nil when the run was cancelled (wrapping ctx.Err()), state
// could not be written (the run stops dispatching), the log directory could
// not be made, or the dependencies form a cycle.
func Execute(ctx context.Context, al *contract.ActionList, b *contract.Bundle, sess *state.Session, opts Options) (*Report, error) {
	opts.defaults()
	if err := os.MkdirAll(opts.LogDir, 0o755); err != nil {
		return nil, fmt.Errorf("execute: %w", err)
	}
	if opts.TempDir != "" {
		if err := os.MkdirAll(opts.TempDir, 0o700); err != nil {
			return nil, fmt.Errorf("execute: %w", err)
		}
	}
	outDir, err := os.MkdirTemp(opts.TempDir, "cw-outputs-")
	if err != nil {
		return nil, fmt.Errorf("execute: %w", err)
	}
	defer os.RemoveAll(outDir)
	w := &walk{
		ctx: ctx, al: al, sess: sess, opts: opts, fp: b.Fingerprint, outDir: outDir,
		bundle:  map[string]*contract.BundleStep{},
		runners: map[string]runner.Runner{},
		nodes:   make([]node, len(al.Steps)),
		results: make([]StepResult, len(al.Steps)),
		res:     map[string]*resTrack{},
	}
	for i := range b.Steps {
		w.bundle[b.Steps[i].Purpose] = &b.Steps[i]
	}
	w.arts = map[string][]*contract.Artifact{}
	for i := range b.Artifacts {
		a := &b.Artifacts[i]
		w.arts[a.Purpose] = append(w.arts[a.Purpose], a)
	}
	w.baseEnv = baseEnv(opts, b.Vars)
	for _, k := range sortedKeys(opts.Secrets) {
		w.secrets = append(w.secrets, opts.Secrets[k])
	}
	idx := make(map[string]int, len(al.Steps))
	for i, s := range al.Steps {
		idx[s.ID] = i
		w.results[i] = StepResult{StepID: s.ID}
		rt := w.track(s.Resource)
		if s.Change != contract.ChangeNoop {
			rt.planned++
		}
		if s.Change == contract.ChangeDelete {
			rt.deletes++
		}
	}
	for i, s := range al.Steps {
		for _, d := range s.DependsOn {
			if j, ok := idx[d]; ok && j != i {
				w.nodes[i].deps = append(w.nodes[i].deps, j)
				w.nodes[i].pending++
				w.nodes[j].dependents = append(w.nodes[j].dependents, i)
			}
		}
	}
	return w.run()
}

func (w *walk) track(addr string) *resTrack {
	rt := w.res[addr]
	if rt == nil {
		rt = &resTrack{}
		w.res[addr] = rt
	}
	return rt
}

func (w *walk) run() (*Report, error) {
	done := make(chan doneMsg)
	for i := range w.nodes {
		if w.nodes[i].pending == 0 {
			heap.Push(&w.ready, i)
		}
	}
	var runErr error
	ctxDone := w.ctx.Done()
	running := 0
	for w.nDone < len(w.nodes) {
		for !w.stopping && running < w.opts.Parallelism && w.ready.Len() > 0 {
			if w.ctx.Err() != nil {
				w.stopping = true
				break
			}
			if err := w.sess.Err(); err != nil {
				w.stopping = true
				runErr = fmt.Errorf("execute: stopped: state cannot be recorded: %w", err)
				break
			}
			i := heap.Pop(&w.ready).(int)
			s := w.al.Steps[i]
			if w.opts.Select != nil && !w.opts.Select(s) {
				w.finish(i, StepResult{StepID: s.ID, Status: StatusNoop})
				continue
			}
			if w.resumable(s) {
				w.finish(i, StepResult{StepID: s.ID, Status: StatusResumed})
				continue
			}
			running++
			if w.opts.OnStepStart != nil {
				w.opts.OnStepStart(s)
			}
			go func() { done <- doneMsg{i, w.runStep(i)} }()
		}
		if running == 0 && (w.stopping || w.ready.Len() == 0) {
			break
		}
		select {
		case m := <-done:
			running--
			w.finish(m.i, m.res)
		case <-ctxDone:
			w.stopping = true
			ctxDone = nil
		}
	}
	notRun := false
	for i := range w.nodes {
		if !w.nodes[i].finished {
			notRun = true
			w.finish(i, StepResult{StepID: w.al.Steps[i].ID, Status: StatusNotRun})
		}
	}
	if err := w.sess.Flush(); err != nil && runErr == nil {
		runErr = fmt.Errorf("execute: record state: %w", err)
	}
	rep := &Report{RunID: w.opts.RunID, LogDir: w.opts.LogDir, Results: w.results}
	for _, r := range w.results {
		switch r.Status {
		case StatusOK, StatusResumed:
			rep.OK++
		case StatusFailed, StatusTimedOut:
			rep.Failed++
		case StatusSkipped:
			rep.Skipped++
		case StatusNotRun:
			rep.NotRun++
		case StatusNoop:
			rep.Noop++
		}
	}
	switch {
	case runErr != nil:
		return rep, runErr
	case w.ctx.Err() != nil:
		return rep, fmt.Errorf("execute: interrupted: %w", w.ctx.Err())
	case notRun:
		return rep, fmt.Errorf("execute: %w", ErrCycle)
	}
	return rep, nil
}

// finish records the result of step i, releases or skips its dependents and
// reports it.
func (w *walk) finish(i int, r StepResult) {
	n := &w.nodes[i]
	if n.finished {
		return
	}
	n.finished = true
	w.nDone++
	w.results[i] = r
	s := w.al.Steps[i]
	switch r.Status {
	case StatusOK, StatusFailed, StatusTimedOut, StatusResumed:
		w.record(s, r)
	}
	if w.opts.OnStepDone != nil {
		w.opts.OnStepDone(s, r)
	}
	switch r.Status {
	case StatusOK, StatusNoop, StatusResumed:
		for _, d := range n.dependents {
			w.nodes[d].pending--
			if w.nodes[d].pending == 0 && !w.nodes[d].finished {
				heap.Push(&w.ready, d)
			}
		}
	case StatusFailed, StatusTimedOut, StatusSkipped:
		if w.stopping && r.Status != StatusSkipped {
			return // interrupted: dependents are not_run, not skipped
		}
		reason := r.SkippedBecause
		if reason == "" {
			verb := "failed"
			if r.Status == StatusTimedOut {
				verb = "timed out"
			}
			reason = fmt.Sprintf("skipped: %s %s", s.ID, verb)
		}
		for _, d := range n.dependents {
			if !w.nodes[d].finished {
				w.finish(d, StepResult{StepID: w.al.Steps[d].ID, Status: StatusSkipped, SkippedBecause: reason})
			}
		}
	}
}

// resumable reports whether s was already done by an interrupted run: its
// resource is partial in state and s is recorded ok with the same config
// hash. Verify steps are never resumed.
func (w *walk) resumable(s contract.Step) bool {
	if contract.IsVerify(s.Name) || s.ConfigHash == "" {
		return false
	}
	ok := false
	w.sess.View(func(st *contract.State) {
		r := st.Resource(s.Resource)
		if r == nil || r.Status != contract.StatusPartial {
			return
		}
		rec, found := r.Steps[s.ID]
		ok = found && rec.Status == "ok" && rec.ConfigHash == s.ConfigHash
	})
	return ok
}

// record writes the outcome of a step that ran (or was resumed) into state.
func (w *walk) record(s contract.Step, r StepResult) {
	rt := w.track(s.Resource)
	ok := r.Status == StatusOK || r.Status == StatusResumed
	if r.Err == errInterrupted {
		return
	}
	if ok && s.Change != contract.ChangeNoop {
		rt.plannedOK++
		if s.Change == contract.ChangeDelete {
			rt.deletesOK++
		}
	}
	if !ok {
		rt.failed = true
	}
	resumed := r.Status == StatusResumed // its record is already in state
	now := w.opts.Now().UTC().Truncate(time.Second)
	w.sess.Update(func(st *contract.State) {
		if ok && rt.deletes > 0 && rt.deletesOK == rt.deletes && !rt.failed {
			removeResource(st, s.Resource)
			return
		}
		res := st.Resource(s.Resource)
		isNew := res == nil
		if isNew {
			st.Resources = append(st.Resources, contract.ResourceState{Address: s.Resource, Type: ResourceType(s.Resource), ConfigHash: s.ConfigHash, Status: contract.StatusPartial})
			res = &st.Resources[len(st.Resources)-1]
		}
		res.Provider = s.Provider
		if res.Provider == "" {
			res.Provider = "local"
		}
		if deps, found := w.opts.DependsOn[s.Resource]; found {
			res.DependsOn = append([]string(nil), deps...)
		}
		if pd, found := w.opts.PreventDestroy[s.Resource]; found {
			res.PreventDestroy = pd
		}
		if res.Steps == nil {
			res.Steps = map[string]contract.StepState{}
		}
		rec := contract.StepState{Status: "ok", ConfigHash: s.ConfigHash, Finished: &now}
		if !ok {
			rec.Status = "failed"
			rec.Error = r.Err
		}
		if !resumed {
			res.Steps[s.ID] = rec
		}
		if ok && !resumed {
			for k, v := range r.Outputs {
				if res.Outputs == nil {
					res.Outputs = map[string]string{}
				}
				res.Outputs[k] = v
			}
			if contract.IsVerify(s.Name) {
				res.LastVerified = &now
			}
		}
		// A step that failed may have half-created its resource (a
		// container created but exited): record how to delete it either
		// way, so a later destroy cleans it up.
		if s.Change != contract.ChangeDelete {
			if ds, found := w.opts.DeleteSteps[s.Resource]; found {
				res.DeleteSteps = append([]contract.Step(nil), ds...)
			}
		}
		switch {
		case rt.failed:
			res.Status = contract.StatusFailed
		case rt.planned > 0 && rt.plannedOK == rt.planned:
			res.Status = contract.StatusApplied
			res.ConfigHash = s.ConfigHash
			res.LastApplied = &now
			res.BundleFingerprint = w.fp
		case rt.plannedOK > 0:
			res.Status = contract.StatusPartial
		}
	})
}

func removeResource(st *contract.State, addr string) {
	out := st.Resources[:0]
	for _, r := range st.Resources {
		if r.Address != addr {
			out = append(out, r)
		}
	}
	st.Resources = out
}

// runStep runs one selected step with its retries. It runs on its own
// goroutine and only reads shared data (state through the session).
func (w *walk) runStep(i int) (r StepResult) {
	s := w.al.Steps[i]
	start := time.Now()
	r = StepResult{StepID: s.ID, LogPath: filepath.Join(w.opts.LogDir, LogFile(s.ID))}
	var logf *os.File       // the open log, once created
	var mask io.WriteCloser // the masking writer in front of it, if any
	defer func() {
		if mask != nil {
			_ = mask.Close() // flush held-back bytes before the tail is read
		}
		if logf != nil {
			r.LogTail = logTail(logf)
			_ = logf.Close()
		} else if f, err := os.Open(r.LogPath); err == nil {
			r.LogTail = logTail(f)
			_ = f.Close()
		}
		r.Duration = time.Since(start)
	}()
	fail := func(msg string) StepResult {
		r.Status, r.Err = StatusFailed, msg
		_ = os.WriteFile(r.LogPath, []byte(maskString("clockwork: "+msg+"\n", w.secrets)), 0o600)
		return r
	}
	bs := w.bundle[s.ID]
	if bs == nil || len(bs.Run.Cmd) == 0 {
		return fail("the bundle has no command for this step")
	}
	if err := w.checkArtifacts(s.ID); err != nil {
		return fail(err.Error())
	}
	cmd := bs.Run.Cmd
	if w.opts.Confine != nil {
		prefix, err := w.opts.Confine(s)
		if err != nil {
			return fail(err.Error())
		}
		cmd = append(append([]string(nil), prefix...), cmd...)
	}
	var confine func() error
	if w.opts.ConfineThread != nil {
		hook, err := w.opts.ConfineThread(s)
		if err != nil {
			return fail(err.Error())
		}
		confine = hook
	}
	rn, err := w.runner(s.Provider)
	if err != nil {
		return fail(err.Error())
	}
	env, err := w.env(i, bs)
	if err != nil {
		return fail(err.Error())
	}
	if confine != nil {
		env = append(env, "TMPDIR="+w.opts.TempDir)
	}
	timeout := w.opts.StepTimeout
	switch {
	case bs.Run.Timeout > 0:
		timeout = time.Duration(bs.Run.Timeout) * time.Second
	case s.Timeout > 0:
		timeout = time.Duration(s.Timeout) * time.Second
	}
	retries := s.Retries
	if bs.Run.Retries > 0 {
		retries = bs.Run.Retries
	}

	logf, err = os.OpenFile(r.LogPath, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o600)
	if err != nil {
		logf = nil
		r.Status, r.Err = StatusFailed, fmt.Sprintf("open log: %v", err)
		return r
	}
	// Without secrets the log file is the command's stdout and stderr
	// itself: no pipe, no copying goroutine.
	var mw io.Writer = logf
	if len(w.secrets) > 0 {
		mask = runner.MaskingWriter(logf, w.secrets)
		mw = mask
	}

	for attempt := 0; attempt <= retries; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(w.opts.Backoff(attempt - 1))
			select {
			case <-t.C:
			case <-w.ctx.Done():
				t.Stop()
				r.Status, r.Err = StatusFailed, errInterrupted
				return r
			}
		}
		if retries > 0 {
			fmt.Fprintf(mw, "--- clockwork: attempt %d of %d\n", attempt+1, retries+1)
		}
		r.Attempts = attempt + 1
		outputs, status, exit, msg := w.attempt(rn, cmd, env, timeout, mw, confine)
		r.Status, r.ExitCode, r.Err = status, exit, msg
		if status == StatusOK {
			r.Outputs = w.scrubOutputs(outputs)
			return r
		}
		if msg != "" {
			fmt.Fprintf(mw, "--- clockwork: %s\n", msg)
		}
		if w.ctx.Err() != nil || status == statusFatal {
			break
		}
	}
	if r.Status == statusFatal {
		r.Status = StatusFailed
	}
	return r
}

// errInterrupted is the Err of a step cut short by cancellation; it is not
// recorded in state.
const errInterrupted = "interrupted"

// statusFatal marks an attempt failure that retrying cannot fix.
const statusFatal = "fatal"

// attempt runs the command once.
func (w *walk) attempt(rn runner.Runner, cmd []string, env []string, timeout time.Duration, log io.Writer, confine func() error) (map[string]string, string, int, string) {
	outPath := filepath.Join(w.outDir, strconv.FormatInt(w.outSeq.Add(1), 10))
	defer os.Remove(outPath)
	res, err := rn.Run(w.ctx, runner.Request{
		Cmd:     cmd,
		Dir:     w.opts.BuildDir,
		Env:     append(env, "CW_OUTPUT="+outPath),
		Stdout:  log,
		Stderr:  log,
		Timeout: timeout,
		Confine: confine,
	})
	switch {
	case w.ctx.Err() != nil:
		return nil, StatusFailed, res.ExitCode, errInterrupted
	case err != nil:
		return nil, statusFatal, 0, maskString(err.Error(), w.secrets)
	case res.TimedOut:
		return nil, StatusTimedOut, res.ExitCode, fmt.Sprintf("timed out after %v", timeout)
	case res.ExitCode != 0:
		return nil, StatusFailed, res.ExitCode, fmt.Sprintf("exit status %d", res.ExitCode)
	}
	out, err := os.Open(outPath)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, StatusOK, 0, "" // the step published nothing
	}
	if err != nil {
		return nil, statusFatal, 0, fmt.Sprintf("read outputs: %v", err)
	}
	defer out.Close()
	outputs, err := ParseOutputs(out)
	if err != nil {
		return nil, statusFatal, 0, maskString(err.Error(), w.secrets)
	}
	return outputs, StatusOK, 0, ""
}

// scrubOutputs drops every output value that is or contains a secret.
func (w *walk) scrubOutputs(in map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range in {
		if containsSecret(v, w.secrets) {
			continue
		}
		out[k] = v
	}
	return out
}

func containsSecret(v string, secrets []string) bool {
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if v == s || (len(s) >= runner.MinSecretLen && strings.Contains(v, s)) {
			return true
		}
	}
	return false
}

func maskString(v string, secrets []string) string {
	var b strings.Builder
	mw := runner.MaskingWriter(&b, secrets)
	_, _ = io.WriteString(mw, v)
	_ = mw.Close()
	return b.String()
}

func (w *walk) runner(provider string) (runner.Runner, error) {
	if provider == "" {
		provider = "local"
	}
	w.runnersMu.Lock()
	defer w.runnersMu.Unlock()
	if r, ok := w.runners[provider]; ok {
		return r, nil
	}
	r, err := w.opts.Runner(provider)
	if err != nil {
		return nil, fmt.Errorf("runner %s: %w", provider, err)
	}
	w.runners[provider] = r
	return r, nil
}

// baseEnv returns the part of every step's environment that is the same
// for the whole run, later entries winning: PATH (DefaultPath unless the
// parent's is set) and HOME, pass-env, bundle vars.
func baseEnv(opts Options, vars map[string]any) map[string]string {
	m := map[string]string{"PATH": DefaultPath}
	parent := map[string]string{}
	for _, kv := range opts.Environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			parent[k] = v
		}
	}
	if v, ok := parent["PATH"]; ok && v != "" {
		m["PATH"] = v
	}
	if v, ok := parent["HOME"]; ok {
		m["HOME"] = v
	}
	for _, name := range opts.PassEnv {
		if v, ok := parent[name]; ok {
			m[name] = v
		}
	}
	for k, v := range vars {
		m[k] = stringify(v)
	}
	return m
}

// env builds the step's environment, later entries winning: the run's
// baseEnv (PATH and HOME, pass-env, bundle vars), run.env, outputs of the
// resources the step transitively depends on, its secrets, and the CW_*
// variables.
func (w *walk) env(i int, bs *contract.BundleStep) ([]string, error) {
	s := w.al.Steps[i]
	m := make(map[string]string, len(w.baseEnv)+len(bs.Run.Env)+len(s.SecretEnv)+8)
	maps.Copy(m, w.baseEnv)
	maps.Copy(m, bs.Run.Env)
	w.sess.View(func(st *contract.State) {
		// One pass over state; matches applied in address order so that
		// colliding names resolve the same way every time. The upstream
		// set is computed only when some resource has outputs.
		var with []*contract.ResourceState
		var up map[string]bool
		for j := range st.Resources {
			r := &st.Resources[j]
			if len(r.Outputs) == 0 {
				continue
			}
			if up == nil {
				up = w.upstream(i)
			}
			if up[r.Address] {
				with = append(with, r)
			}
		}
		sort.Slice(with, func(a, b int) bool { return with[a].Address < with[b].Address })
		for _, r := range with {
			for k, v := range r.Outputs {
				m[contract.OutputEnv(r.Address, k)] = v
			}
		}
	})
	for _, name := range s.SecretEnv {
		v, ok := w.opts.Secrets[name]
		if !ok {
			return nil, fmt.Errorf("secret %s is not provided", name)
		}
		m[name] = v
	}
	m["CW_ROOT"] = w.opts.Root
	m["CW_BUILD"] = w.opts.BuildDir
	m["CW_STATE_DIR"] = w.opts.StateDir
	m["CW_STEP_ID"] = s.ID
	m["CW_RESOURCE"] = s.Resource
	m["CW_CHANGE"] = s.Change
	if w.opts.Clockwork != "" {
		m["CW_CLOCKWORK"] = w.opts.Clockwork
	}
	env := make([]string, 0, len(m)+1)
	for _, k := range sortedKeys(m) {
		env = append(env, k+"="+m[k])
	}
	return env, nil
}

// upstream returns the set of addresses of the resources of every step the
// step at idx transitively depends on, including dependencies named by id
// that are not in the ActionList.
func (w *walk) upstream(idx int) map[string]bool {
	seen := map[string]bool{}
	for _, d := range w.al.Steps[idx].DependsOn {
		seen[resourceOfStep(d)] = true
	}
	visited := make([]bool, len(w.al.Steps))
	stack := []int{idx}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, d := range w.nodes[n].deps {
			if !visited[d] {
				visited[d] = true
				seen[w.al.Steps[d].Resource] = true
				stack = append(stack, d)
			}
		}
	}
	return seen
}

func resourceOfStep(id string) string {
	if i := strings.LastIndexByte(id, '/'); i > 0 {
		return id[:i]
	}
	return id
}

// ResourceType returns the type of a resource address: "file" for
// "file.a", `module.m["k"].service.web` -> "service".
func ResourceType(addr string) string {
	parts := splitAddr(addr)
	for len(parts) >= 2 && parts[0] == "module" {
		parts = parts[2:]
	}
	if len(parts) == 0 {
		return addr
	}
	return parts[0]
}

// splitAddr splits an address at dots outside brackets and quotes, and drops
// instance keys ([...]).
func splitAddr(addr string) []string {
	var parts []string
	var cur strings.Builder
	depth, inQuote := 0, false
	for i := 0; i < len(addr); i++ {
		c := addr[i]
		switch {
		case inQuote:
			if c == '\\' && i+1 < len(addr) {
				i++
			} else if c == '"' {
				inQuote = false
			}
		case c == '"':
			inQuote = true
		case c == '[':
			depth++
		case c == ']':
			depth--
		case c == '.' && depth == 0:
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			if depth == 0 {
				cur.WriteByte(c)
			}
		}
	}
	return append(parts, cur.String())
}

// logTail returns the last lines of the log open in f.
func logTail(f *os.File) string {
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(fi.Size()-logTailBytes, 0)
	buf := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(buf), "\n"), "\n")
	if off > 0 && len(lines) > 1 {
		lines = lines[1:] // first line is cut
	}
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	return strings.Join(lines, "\n")
}

func stringify(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case bool:
		return strconv.FormatBool(t)
	case int:
		return strconv.Itoa(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case json.Number:
		return t.String()
	case nil:
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// indexHeap is a min-heap of step indexes: ready steps start in ActionList
// order.
type indexHeap []int

func (h indexHeap) Len() int           { return len(h) }
func (h indexHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h indexHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *indexHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *indexHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// SelectApply is the selection of `clockwork apply`: every step with a
// change, plus verify steps and process ensure_service steps even when noop
// (a dead local process is restarted; health is re-checked).
func SelectApply(s contract.Step) bool {
	if s.Change != contract.ChangeNoop || contract.IsVerify(s.Name) {
		return true
	}
	return s.Name == contract.StepEnsureService && s.Args["kind"] == "process"
}

// SelectVerify is the selection of `clockwork verify`: verify steps only.
func SelectVerify(s contract.Step) bool { return contract.IsVerify(s.Name) }

// checkArtifacts compares the step's artifacts on disk with the validated
// bundle, right before the step runs: an earlier step whose writable paths
// include the build directory (a command working in the configuration
// directory) must not be able to change what a later step runs.
func (w *walk) checkArtifacts(id string) error {
	for _, a := range w.arts[id] {
		p := filepath.Join(w.opts.BuildDir, filepath.FromSlash(a.Path))
		f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
		if err != nil {
			return fmt.Errorf("artifact %s: %w (it changed after validation; run clockwork build)", a.Path, err)
		}
		b, err := io.ReadAll(io.LimitReader(f, int64(len(a.Content))+1))
		f.Close()
		if err != nil {
			return fmt.Errorf("artifact %s: %w", a.Path, err)
		}
		if string(b) != a.Content {
			return fmt.Errorf("artifact %s changed on disk after the bundle was validated; refusing to run it (run clockwork build to validate it again)", a.Path)
		}
	}
	return nil
}
