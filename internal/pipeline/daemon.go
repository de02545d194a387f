package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/clockwork-iac/clockwork/internal/atomicfile"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/moby/moby/client"

	"github.com/clockwork-iac/clockwork/internal/container"
	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/daemon"
	"github.com/clockwork-iac/clockwork/internal/daemon/liveness"
	"github.com/clockwork-iac/clockwork/internal/daemon/policy"
	"github.com/clockwork-iac/clockwork/internal/executor"
	"github.com/clockwork-iac/clockwork/internal/forge"
	"github.com/clockwork-iac/clockwork/internal/state"
)

// DaemonOptions tune the daemon's pipeline beyond Options.
type DaemonOptions struct {
	// RetryBackoff is the wait before a step's retry number attempt (default
	// executor.DefaultBackoff); tests and benchmarks shorten it.
	RetryBackoff func(attempt int) time.Duration
	// ProbeTimeout bounds one HTTP or TCP probe of Observe (default 2s).
	ProbeTimeout time.Duration
}

// DaemonPipeline is daemon.Pipeline over the real stages: Plan is intake and
// assembly, Apply runs the steps of the target resources of the current
// bundle (building it when the plan changed) under the state lock, Observe
// probes services, containers, files and checks directly (no step runs),
// and PatchArtifact edits bundle.json the way a person would, so forge keeps
// the edit across later builds.
//
// Its methods other than Watch and Close are called from the daemon's pass
// goroutine only.
type DaemonPipeline struct {
	o  Options
	do DaemonOptions

	// good is the last plan without errors; Apply falls back to it (and the
	// bundle on disk) while the .cw has errors.
	good *Planned

	eng    *container.Engine
	engErr error

	mu sync.Mutex // guards the fields below (read by Watch's goroutines)
	// containers maps a container name to its resource address.
	containers map[string]string
	// hashes is the config-hash label each container had after the daemon
	// last applied it: a different one later is drift.
	hashes map[string]string
	live   *liveness.Watcher
	signal func(resource string)
	// secrets are the sensitive values of the last good plan, for Mask.
	secrets []string
}

var _ daemon.Pipeline = (*DaemonPipeline)(nil)

// NewDaemonPipeline returns the daemon's pipeline over o.Dir. o.Targets and
// o.Select are ignored: the daemon chooses per Apply.
func NewDaemonPipeline(o Options, do DaemonOptions) *DaemonPipeline {
	o.Targets, o.Select = nil, nil
	if do.ProbeTimeout <= 0 {
		do.ProbeTimeout = 2 * time.Second
	}
	return &DaemonPipeline{o: o, do: do, containers: map[string]string{}, hashes: map[string]string{}}
}

// Watch starts the cheap liveness signals until ctx is done: the death of a
// process service's published PID (pidfd) and the container engine's die
// and oom events for managed containers. signal is typically
// (*daemon.Daemon).Signal. Without a reachable engine only PIDs are watched;
// the interval pass still observes containers.
func (p *DaemonPipeline) Watch(ctx context.Context, signal func(resource string)) {
	p.mu.Lock()
	p.live = liveness.New(signal)
	p.signal = signal
	p.mu.Unlock()
	go func() {
		<-ctx.Done()
		p.mu.Lock()
		w := p.live
		p.live, p.signal = nil, nil
		p.mu.Unlock()
		w.Close()
	}()
	go p.watchEngine(ctx, signal)
}

// Close releases the engine connection.
func (p *DaemonPipeline) Close() error {
	if p.eng != nil {
		return p.eng.Close()
	}
	return nil
}

// Plan runs intake and assembly; it writes nothing.
func (p *DaemonPipeline) Plan(ctx context.Context) (*daemon.PlanResult, error) {
	pl, diags, err := Plan(ctx, p.o, false)
	if err != nil {
		return nil, err
	}
	res := &daemon.PlanResult{Diagnostics: diagStrings(p.o.Dir, diags)}
	if diags.HasErrors() || pl == nil || pl.Plan == nil {
		return res, &DiagError{Diags: diags, Files: pl.Files()}
	}
	p.good = pl
	var secrets []string
	for _, v := range pl.Plan.Secrets {
		if len(v) >= 4 { // shorter values would mask ordinary words
			secrets = append(secrets, v)
		}
	}
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	res.Fingerprint = pl.Plan.ActionList.Fingerprint
	res.Resources = resourceInfos(p.o.Dir, pl)
	p.mu.Lock()
	p.secrets = secrets
	for _, s := range pl.Plan.ActionList.Steps {
		if s.Name == contract.StepEnsureService && argString(s.Args, "kind") == "container" {
			p.containers[argString(s.Args, "name")] = s.Resource
		}
	}
	p.mu.Unlock()
	return res, nil
}

// Mask replaces the sensitive values of the configuration with "***"; pass
// it as daemon.Config.Mask so no event, log line or runbook shows one (a
// service's log tail or an error message may quote a secret).
func (p *DaemonPipeline) Mask(s string) string {
	p.mu.Lock()
	secrets := p.secrets
	p.mu.Unlock()
	for _, v := range secrets {
		s = strings.ReplaceAll(s, v, "***")
	}
	return s
}

// diagStrings renders diagnostics as "file:line:col: summary: detail".
func diagStrings(dir string, diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		var b strings.Builder
		if d.Subject != nil {
			name := d.Subject.Filename
			if rel, err := filepath.Rel(dir, name); err == nil && !strings.HasPrefix(rel, "..") {
				name = rel
			}
			fmt.Fprintf(&b, "%s:%d:%d: ", name, d.Subject.Start.Line, d.Subject.Start.Column)
		}
		if d.Severity == hcl.DiagWarning {
			b.WriteString("warning: ")
		}
		b.WriteString(d.Summary)
		if d.Detail != "" {
			b.WriteString(": " + d.Detail)
		}
		out = append(out, b.String())
	}
	return out
}

func resourceInfos(dir string, pl *Planned) []daemon.ResourceInfo {
	files := map[string]string{}
	if pl.Config != nil {
		for _, r := range pl.Config.Resources {
			name := r.DeclRange.Filename
			if rel, err := filepath.Rel(dir, name); err == nil && !strings.HasPrefix(rel, "..") {
				name = rel
			}
			files[r.Addr] = filepath.ToSlash(name)
		}
	}
	byAddr := map[string]*daemon.ResourceInfo{}
	var out []*daemon.ResourceInfo
	for _, s := range pl.Plan.ActionList.Steps {
		ri := byAddr[s.Resource]
		if ri == nil {
			ri = &daemon.ResourceInfo{Addr: s.Resource, File: files[s.Resource]}
			if ai, ok := pl.Plan.Resources[s.Resource]; ok {
				ri.Type = ai.Type
				ri.Changed = ai.Change == contract.ChangeCreate || ai.Change == contract.ChangeUpdate
				ri.Destroy = ai.Change == contract.ChangeDelete
			}
			byAddr[s.Resource] = ri
			out = append(out, ri)
		}
		switch s.Name {
		case contract.StepEnsureService:
			ri.Kind = argString(s.Args, "kind")
			for _, pt := range argList(s.Args["ports"]) {
				if m, ok := pt.(map[string]any); ok {
					if n, ok := argInt(m["external"]); ok && !slices.Contains(ri.Ports, n) {
						ri.Ports = append(ri.Ports, n)
					}
				}
			}
		case contract.StepVerifyHTTP:
			if u, err := url.Parse(argString(s.Args, "url")); err == nil {
				if n, err := strconv.Atoi(u.Port()); err == nil && !slices.Contains(ri.Ports, n) {
					ri.Ports = append(ri.Ports, n)
				}
			}
		}
	}
	res := make([]daemon.ResourceInfo, len(out))
	for i, r := range out {
		res[i] = *r
	}
	return res
}

// Apply runs every step of the target resources, noop or not (an ensure
// re-run restores what drifted), on the current bundle. While the .cw has
// errors it runs the last good plan's bundle as it is on disk.
func (p *DaemonPipeline) Apply(ctx context.Context, targets []string) (*daemon.ApplyResult, error) {
	want := map[string]bool{}
	for _, t := range targets {
		want[t] = true
	}
	ar, err := p.run(ctx, func(s contract.Step) bool { return want[s.Resource] })
	var le *state.LockedError
	if errors.As(err, &le) {
		return nil, fmt.Errorf("%w: %v", daemon.ErrBusy, le)
	}
	out := &daemon.ApplyResult{}
	if ar != nil && ar.Report != nil && ar.Planned != nil && ar.Planned.Plan != nil {
		steps := ar.Planned.Plan.ActionList.Steps
		for i, r := range ar.Report.Results {
			if i >= len(steps) || !want[steps[i].Resource] {
				continue
			}
			o := daemon.StepOutcome{StepID: r.StepID, Resource: steps[i].Resource, Err: r.Err, LogTail: r.LogTail}
			switch r.Status {
			case executor.StatusOK, executor.StatusResumed, executor.StatusNoop:
				o.Status = "ok"
			case executor.StatusFailed, executor.StatusTimedOut:
				o.Status = "failed"
				if o.Err == "" {
					o.Err = r.Status
				}
			default:
				o.Status = "skipped"
			}
			out.Results = append(out.Results, o)
		}
	}
	p.afterApply(ctx, targets)
	if err != nil {
		return out, err
	}
	return out, nil
}

// run is the package's one run path with the daemon's settings: its lock
// operation, the last good plan while the .cw has errors, its backoff.
func (p *DaemonPipeline) run(ctx context.Context, sel func(contract.Step) bool) (*ApplyResult, error) {
	o := p.o
	o.Select = sel
	return run(ctx, o, runSpec{op: "daemon", lastGood: p.good, backoff: p.do.RetryBackoff})
}

// afterApply watches the new PIDs of the target process services and takes
// the config hash of the target containers as the expected one.
func (p *DaemonPipeline) afterApply(ctx context.Context, targets []string) {
	if p.good == nil {
		return
	}
	for _, s := range p.good.Plan.ActionList.Steps {
		if s.Name != contract.StepEnsureService || !slices.Contains(targets, s.Resource) {
			continue
		}
		name := argString(s.Args, "name")
		switch argString(s.Args, "kind") {
		case "process":
			if pid, ok := p.alivePID(name); ok {
				p.watchPID(s.Resource, pid)
			} else if sig := p.signalFunc(); sig != nil {
				// It died between its health check and now: look again at
				// once rather than at the next interval.
				sig(s.Resource)
			}
		case "container":
			if eng := p.engine(ctx); eng != nil {
				if cs, err := eng.Inspect(ctx, name); err == nil && cs.Exists && cs.Running {
					p.mu.Lock()
					p.hashes[name] = cs.ConfigHash
					p.mu.Unlock()
				}
			}
		}
	}
}

func (p *DaemonPipeline) signalFunc() func(string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.signal
}

func (p *DaemonPipeline) watchPID(resource string, pid int) {
	p.mu.Lock()
	w := p.live
	p.mu.Unlock()
	if w == nil {
		return
	}
	if err := w.Watch(resource, pid); err != nil {
		p.logger().Warn("cannot watch service process", "resource", resource, "pid", pid, "err", err)
		return
	}
	p.logger().Debug("watching service process", "resource", resource, "pid", pid)
}

func (p *DaemonPipeline) logger() *slog.Logger {
	if p.o.Logger != nil {
		return p.o.Logger
	}
	return slog.Default()
}

// Observe probes every resource of the last good plan: a process service's
// pid file (alive, not a zombie, the same process by start time), a
// container (exists, running, the expected config hash), then the
// resource's HTTP or TCP checks once; a file's existence and content hash;
// a directory's existence. verify_command checks are left to Apply.
func (p *DaemonPipeline) Observe(ctx context.Context) ([]daemon.Observation, error) {
	if p.good == nil {
		return nil, nil
	}
	// A resource not in state yet was never created: the daemon applies it
	// as a change, not as drift. (The plan's own create/noop is not used: it
	// may be the last good plan, made against an older state.)
	st, err := state.Open(p.o.StateDir()).Load()
	if err != nil {
		return nil, err
	}
	inState := map[string]bool{}
	if st != nil {
		for _, r := range st.Resources {
			inState[r.Address] = true
		}
	}
	var out []daemon.Observation
	done := map[string]bool{}
	for _, s := range p.good.Plan.ActionList.Steps {
		if !inState[s.Resource] {
			done[s.Resource] = true
		}
		if done[s.Resource] || s.Change == contract.ChangeDelete {
			continue
		}
		if detail, ok := p.observeStep(ctx, s); !ok {
			done[s.Resource] = true
			o := daemon.Observation{Resource: s.Resource, Detail: detail}
			if contract.IsVerify(s.Name) {
				o.StepID = s.ID
			}
			out = append(out, o)
		}
	}
	seen := map[string]bool{}
	for _, s := range p.good.Plan.ActionList.Steps {
		if s.Change == contract.ChangeDelete || seen[s.Resource] || done[s.Resource] {
			continue
		}
		seen[s.Resource] = true
		out = append(out, daemon.Observation{Resource: s.Resource, Healthy: true})
	}
	return out, nil
}

// observeStep reports whether what step s ensures holds now, and if not
// what was seen.
func (p *DaemonPipeline) observeStep(ctx context.Context, s contract.Step) (string, bool) {
	switch s.Name {
	case contract.StepEnsureService:
		name := argString(s.Args, "name")
		if argString(s.Args, "kind") == "container" {
			return p.observeContainer(ctx, s.Resource, name)
		}
		pid, ok := p.alivePID(name)
		if !ok {
			return p.deadProcess(name, pid), false
		}
		p.watchPID(s.Resource, pid)
	case contract.StepEnsureFile, contract.StepEnsureDirectory:
		return observeLocal(p.o.Dir, s)
	case contract.StepVerifyHTTP:
		return p.probeHTTP(ctx, s.Args)
	case contract.StepVerifyTCP:
		addr := argString(s.Args, "address")
		if addr == "" {
			return "", true
		}
		c, err := net.DialTimeout("tcp", addr, p.do.ProbeTimeout)
		if err != nil {
			return fmt.Sprintf("tcp %s: %v", addr, err), false
		}
		c.Close()
	case contract.StepVerifyFile:
		if path := argString(s.Args, "path"); path != "" {
			if _, err := os.Stat(p.path(path)); err != nil {
				return fmt.Sprintf("file %s does not exist", path), false
			}
		}
	}
	return "", true
}

func (p *DaemonPipeline) path(rel string) string {
	if filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(p.o.Dir, rel)
}

func (p *DaemonPipeline) probeHTTP(ctx context.Context, args map[string]any) (string, bool) {
	u := argString(args, "url")
	if u == "" {
		return "", true // known only at apply time
	}
	ctx, cancel := context.WithTimeout(ctx, p.do.ProbeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", true
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Sprintf("GET %s: %v", u, err), false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	want := 200
	if n, ok := argInt(args["expect_status"]); ok {
		want = n
	}
	if resp.StatusCode != want {
		return fmt.Sprintf("GET %s: status %d, want %d", u, resp.StatusCode, want), false
	}
	if eb := argString(args, "expect_body"); eb != "" && !bytes.Contains(body, []byte(eb)) {
		return fmt.Sprintf("GET %s: body lacks %q", u, eb), false
	}
	return "", true
}

// serviceFile is <dir>/.clockwork/services/<name><ext>.
func (p *DaemonPipeline) serviceFile(name, ext string) string {
	return filepath.Join(p.o.StateDir(), "services", name+ext)
}

// alivePID reads the service's pid file and reports whether that process
// runs: not a zombie, and started when the .start file says (not a newer
// process that reused the number). The PID is returned either way.
func (p *DaemonPipeline) alivePID(name string) (int, bool) {
	data, err := os.ReadFile(p.serviceFile(name, ".pid"))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return pid, false
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return pid, false
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 20 || fields[0] == "Z" || fields[0] == "X" {
		return pid, false
	}
	if rec, err := os.ReadFile(p.serviceFile(name, ".start")); err == nil {
		if r := strings.TrimSpace(string(rec)); r != "" && r != fields[19] {
			return pid, false
		}
	}
	return pid, true
}

// deadProcess says what is known about a service that is not running,
// including the end of its log (a port already in use shows there).
func (p *DaemonPipeline) deadProcess(name string, pid int) string {
	msg := fmt.Sprintf("process service %s is not running", name)
	if pid > 0 {
		msg = fmt.Sprintf("process service %s (pid %d) is not running", name, pid)
	}
	if tail := logTail(p.serviceFile(name, ".log"), 2); tail != "" {
		msg += "; its log ends: " + tail
	}
	return msg
}

// logTail returns the last n non-empty lines of the file (at most 4 KiB
// read), joined with " | ".
func logTail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(fi.Size()-4096, 0)
	buf := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return ""
	}
	// Only what the last start wrote.
	if i := bytes.LastIndex(buf, []byte("--- clockwork: starting")); i >= 0 {
		if j := bytes.IndexByte(buf[i:], '\n'); j >= 0 {
			buf = buf[i+j+1:]
		} else {
			buf = nil
		}
	}
	var lines []string
	for _, l := range strings.Split(string(buf), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

func (p *DaemonPipeline) engine(ctx context.Context) *container.Engine {
	if p.eng != nil {
		return p.eng
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	p.eng, p.engErr = container.Connect(cctx, envValue(p.o.Environ, "DOCKER_HOST"))
	return p.eng
}

func (p *DaemonPipeline) observeContainer(ctx context.Context, resource, name string) (string, bool) {
	eng := p.engine(ctx)
	if eng == nil {
		err := p.engErr
		p.eng, p.engErr = nil, nil // try again next pass
		return fmt.Sprintf("container %s: engine unreachable: %v", name, err), false
	}
	cs, err := eng.Inspect(ctx, name)
	if err != nil {
		return fmt.Sprintf("container %s: inspect: %v", name, err), false
	}
	switch {
	case !cs.Exists:
		return fmt.Sprintf("container %s does not exist", name), false
	case !cs.Running:
		return fmt.Sprintf("container %s is %s (exit code %d)", name, cs.Status, cs.ExitCode), false
	}
	p.mu.Lock()
	want, ok := p.hashes[name]
	if !ok {
		p.hashes[name] = cs.ConfigHash // first sight: the applied one
	}
	p.mu.Unlock()
	if ok && want != cs.ConfigHash {
		return fmt.Sprintf("container %s runs with config hash %.19s, want %.19s (changed outside clockwork)", name, cs.ConfigHash, want), false
	}
	return "", true
}

// watchEngine turns the engine's die, oom, stop and remove events of the
// plan's containers into signals, reconnecting with a pause after an error.
func (p *DaemonPipeline) watchEngine(ctx context.Context, signal func(string)) {
	for ctx.Err() == nil {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		eng, err := container.Connect(cctx, envValue(p.o.Environ, "DOCKER_HOST"))
		cancel()
		if err == nil {
			p.streamEvents(ctx, eng, signal)
			eng.Close()
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
		}
	}
}

func (p *DaemonPipeline) streamEvents(ctx context.Context, eng *container.Engine, signal func(string)) {
	// Only the type is filtered by the engine: Podman's compatible API does
	// not apply every event and label filter the same way as Docker.
	f := client.Filters{}
	f.Add("type", "container")
	ev := eng.Client().Events(ctx, client.EventsListOptions{Filters: f})
	for {
		select {
		case <-ctx.Done():
			return
		case <-ev.Err:
			return
		case m := <-ev.Messages:
			switch m.Action {
			case "die", "oom", "stop", "kill", "destroy", "remove":
			default:
				continue
			}
			name := m.Actor.Attributes["name"]
			p.mu.Lock()
			res, ok := p.containers[name]
			p.mu.Unlock()
			if ok {
				signal(res)
			}
		}
	}
}

// PatchArtifact edits the run of one step in bundle.json: raises retries,
// doubles the timeout, or doubles a health check's retries. The result is
// validated the way forge validates any bundle on disk (forge.LoadBuilt,
// artifacts as they are on disk) and written atomically; if it does not
// validate the old bundle.json is put back. Forge keeps such an edit in later
// builds (it is a user edit of bundle.json), until `clockwork build --force`.
func (p *DaemonPipeline) PatchArtifact(ctx context.Context, ap daemon.ArtifactPatch) (string, error) {
	if p.good == nil {
		return "", fmt.Errorf("%w: no valid plan yet", daemon.ErrNoPatch)
	}
	al := p.good.Plan.ActionList
	path := filepath.Join(p.o.BuildDir(), "bundle.json")
	// Never follow a link on the way: .clockwork, build/ and bundle.json
	// must be real, as forge's own writer requires.
	for _, d := range []string{p.o.StateDir(), p.o.BuildDir()} {
		if fi, err := os.Lstat(d); err != nil || !fi.IsDir() {
			return "", fmt.Errorf("patch bundle: %s is not a real directory", d)
		}
	}
	if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("patch %s: not a regular file", path)
	}
	old, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("patch bundle: %w", err)
	}
	b, err := contract.ParseBundle(old)
	if err != nil {
		return "", fmt.Errorf("patch bundle: %w", err)
	}
	if b.Fingerprint != al.Fingerprint {
		return "", fmt.Errorf("%w: the bundle on disk is for another plan; the next apply rebuilds it", daemon.ErrNoPatch)
	}
	stepID := p.patchTarget(al, ap)
	bs := b.StepFor(stepID)
	var step *contract.Step
	for i := range al.Steps {
		if al.Steps[i].ID == stepID {
			step = &al.Steps[i]
		}
	}
	if bs == nil || step == nil {
		return "", fmt.Errorf("%w: no step %q for %s in the bundle", daemon.ErrNoPatch, stepID, ap.Resource)
	}
	desc, err := p.patchRun(&bs.Run, step, ap.Kind)
	if err != nil {
		return "", err
	}
	data, err := contract.MarshalValidated(contract.SchemaBundle, b)
	if err != nil {
		return "", fmt.Errorf("patch bundle: %w", err)
	}
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return "", fmt.Errorf("patch bundle: %w", err)
	}
	if _, err := forge.LoadBuilt(p.o.BuildDir(), al, p.o.policy()); err != nil {
		if rerr := atomicfile.Write(path, old, 0o644); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return "", fmt.Errorf("patched bundle rejected, old one restored: %w", err)
	}
	return stepID + ": " + desc, nil
}

// patchTarget picks the step to patch: the failing one when known; for a
// health check the resource's verify step; else the resource's first step.
func (p *DaemonPipeline) patchTarget(al *contract.ActionList, ap daemon.ArtifactPatch) string {
	var first, verify string
	for _, s := range al.Steps {
		if s.Resource != ap.Resource || s.Change == contract.ChangeDelete {
			continue
		}
		if s.ID == ap.StepID {
			return s.ID
		}
		if first == "" {
			first = s.ID
		}
		if verify == "" && contract.IsVerify(s.Name) {
			verify = s.ID
		}
	}
	if ap.Kind == policy.KindHealthCheck && verify != "" {
		return verify
	}
	return first
}

// Bounds of automatic artifact patches.
const (
	maxPatchRetries = 10
	maxPatchTimeout = 3600
)

func (p *DaemonPipeline) patchRun(r *contract.Run, s *contract.Step, kind string) (string, error) {
	switch kind {
	case policy.KindRetries:
		cur := r.Retries
		if cur == 0 {
			cur = s.Retries
		}
		if cur >= maxPatchRetries {
			return "", fmt.Errorf("%w: retries already %d (the daemon stops at %d)", daemon.ErrNoPatch, cur, maxPatchRetries)
		}
		r.Retries = min(max(3, 2*cur), maxPatchRetries)
		return fmt.Sprintf("retries %d -> %d", cur, r.Retries), nil
	case policy.KindTimeout:
		cur := r.Timeout
		if cur == 0 {
			cur = s.Timeout
		}
		if cur == 0 {
			cur = int(p.o.StepTimeout / time.Second)
		}
		if cur == 0 {
			cur = 600
		}
		if cur >= maxPatchTimeout {
			return "", fmt.Errorf("%w: timeout already %ds (the daemon stops at %ds)", daemon.ErrNoPatch, cur, maxPatchTimeout)
		}
		r.Timeout = min(2*cur, maxPatchTimeout)
		return fmt.Sprintf("timeout %ds -> %ds", cur, r.Timeout), nil
	case policy.KindHealthCheck:
		if !contract.IsVerify(s.Name) {
			return "", fmt.Errorf("%w: %s has no health check", daemon.ErrNoPatch, s.Resource)
		}
		for _, k := range []string{"HTTP_RETRIES", "TCP_RETRIES"} {
			if v, ok := r.Env[k]; ok {
				n, err := strconv.Atoi(v)
				if err != nil {
					break
				}
				if n >= 600 {
					return "", fmt.Errorf("%w: %s already %d", daemon.ErrNoPatch, k, n)
				}
				r.Env[k] = strconv.Itoa(max(2*n, 1))
				return fmt.Sprintf("%s %d -> %s (health check grace doubled)", k, n, r.Env[k]), nil
			}
		}
		cur := r.Retries
		if cur >= maxPatchRetries {
			return "", fmt.Errorf("%w: health check retries already %d", daemon.ErrNoPatch, cur)
		}
		r.Retries = min(max(2, 2*cur), maxPatchRetries)
		return fmt.Sprintf("health check retries %d -> %d", cur, r.Retries), nil
	default:
		return "", fmt.Errorf("%w: the bundle has no %s setting to change", daemon.ErrNoPatch, kind)
	}
}

func argString(args map[string]any, k string) string {
	s, _ := args[k].(string)
	return s
}

func argList(v any) []any {
	switch l := v.(type) {
	case []any:
		return l
	case []map[string]any:
		out := make([]any, len(l))
		for i, m := range l {
			out[i] = m
		}
		return out
	}
	return nil
}

func argInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		return int(n), n == float64(int(n))
	case string:
		i, err := strconv.Atoi(n)
		return i, err == nil
	}
	return 0, false
}

func envValue(environ []string, key string) string {
	for i := len(environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(environ[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}
