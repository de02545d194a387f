package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/daemon"
	"github.com/clockwork-iac/clockwork/internal/daemon/policy"
	"github.com/clockwork-iac/clockwork/internal/forge"
)

// fastPolicy shortens backoff and cooldown so a test sees the whole decision
// rule in seconds; the daemon's own synctest tests cover exact timing.
func fastPolicy() policy.Policy {
	p := policy.Default()
	p.BackoffBase, p.BackoffCap = 50*time.Millisecond, 200*time.Millisecond
	p.Cooldown = 100 * time.Millisecond
	p.ReconcileAttempts = 1
	p.HealthyReset = time.Hour
	return p
}

type runningDaemon struct {
	d    *daemon.Daemon
	p    *DaemonPipeline
	dir  string
	stop func()
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startDaemon runs the real daemon over the real pipeline in dir until the
// test ends, with its logs in the test log.
func startDaemon(t *testing.T, dir string, pol policy.Policy, watch bool) *runningDaemon {
	t.Helper()
	p := NewDaemonPipeline(Options{Dir: dir, Environ: os.Environ(), Parallelism: 4, StepTimeout: 30 * time.Second},
		DaemonOptions{RetryBackoff: func(int) time.Duration { return 10 * time.Millisecond }})
	rd := &runningDaemon{p: p, dir: dir, logs: &syncBuffer{}}
	logger := slog.New(slog.NewTextHandler(io.MultiWriter(testWriter{t}, rd.logs), &slog.HandlerOptions{Level: slog.LevelInfo}))
	d := daemon.New(daemon.Config{Dir: dir, Interval: time.Hour, Jitter: -1, Policy: &pol, NoWatch: !watch, Debounce: 50 * time.Millisecond, Mask: p.Mask}, p, nil, logger)
	rd.d = d
	ctx, cancel := context.WithCancel(context.Background())
	p.Watch(ctx, d.Signal)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon.Run: %v", err)
		}
		p.Close()
	}
	rd.stop = stop
	t.Cleanup(func() {
		if ctx.Err() == nil {
			stop()
		}
		killServices(dir)
	})
	return rd
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// killServices kills the process groups of every process service the
// configuration in dir started.
func killServices(dir string) {
	pids, _ := filepath.Glob(filepath.Join(dir, ".clockwork", "services", "*.pid"))
	for _, f := range pids {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
			syscall.Kill(-pid, syscall.SIGKILL)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// waitEvents polls the events file until cond holds or the timeout passes.
func waitEvents(t *testing.T, dir string, timeout time.Duration, what string, cond func([]daemon.Event) bool) []daemon.Event {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		evs, err := daemon.ReadEvents(daemon.EventsPath(dir))
		if err != nil {
			t.Fatal(err)
		}
		if cond(evs) {
			return evs
		}
		if time.Now().After(deadline) {
			for _, e := range evs {
				t.Log(e.String())
			}
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func count(evs []daemon.Event, f func(daemon.Event) bool) int {
	n := 0
	for _, e := range evs {
		if f(e) {
			n++
		}
	}
	return n
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A service whose start keeps failing: reconciles with growing backoff,
// then exactly two automatic artifact patches (retries 0 -> 3 -> 6, written
// to bundle.json and valid), then the budget is spent and a runbook is
// written; the daemon keeps reconciling meanwhile.
func TestDaemonFailingStartBackoffPatchesRunbook(t *testing.T) {
	dir := t.TempDir()
	name := fmt.Sprintf("cw-daemon-bad-%d", os.Getpid())
	writeFile(t, filepath.Join(dir, "main.cw"), `variable "token" {
  type      = string
  default   = "s3cr3t-t0ken-value"
  sensitive = true
}

resource "service" "bad" {
  name    = "`+name+`"
  command = ["sh", "-c", "echo failing on purpose with $TOKEN; exit 3"]

  environment = {
    TOKEN = var.token
  }
}
`)
	pol := fastPolicy()
	rd := startDaemon(t, dir, pol, false)
	evs := waitEvents(t, dir, 40*time.Second, "a runbook", func(evs []daemon.Event) bool {
		return count(evs, func(e daemon.Event) bool { return e.Kind == daemon.EventRunbook }) > 0
	})
	rd.stop()

	fixes := 0
	var descs []string
	reconciles := 0
	for _, e := range evs {
		switch {
		case e.Kind == daemon.EventFix && strings.HasPrefix(e.Result, "applied:"):
			fixes++
			descs = append(descs, e.Result)
		case e.Kind == daemon.EventReconcile && e.Resource == "service.bad":
			if !strings.Contains(e.Result, "failed") {
				t.Errorf("reconcile succeeded for a service that cannot start: %s", e)
			}
			if fixes == 0 {
				reconciles++
			}
		case e.Kind == daemon.EventRunbook && fixes != 2:
			t.Errorf("runbook after %d fixes, want 2: %s", fixes, e)
		}
	}
	if fixes != 2 {
		t.Errorf("%d automatic fixes, want exactly 2 (%q)", fixes, descs)
	}
	if reconciles < pol.ReconcileAttempts {
		t.Errorf("%d reconciles before the first fix, want at least %d", reconciles, pol.ReconcileAttempts)
	}
	wantDescs := []string{"retries 0 -> 3", "retries 3 -> 6"}
	for i, d := range descs {
		if i < len(wantDescs) && !strings.Contains(d, wantDescs[i]) {
			t.Errorf("fix %d = %q, want it to say %q", i+1, d, wantDescs[i])
		}
	}
	if n := count(evs, func(e daemon.Event) bool {
		return e.Kind == daemon.EventBudget && strings.Contains(e.Result, "budget spent")
	}); n != 1 {
		t.Errorf("%d budget-spent events, want 1", n)
	}
	rbs, _ := filepath.Glob(filepath.Join(daemon.RunbooksDir(dir), "*.md"))
	if len(rbs) != 1 {
		t.Fatalf("runbooks %v, want 1", rbs)
	}
	rb, _ := os.ReadFile(rbs[0])
	for _, want := range []string{"service.bad", "failing on purpose with ***", "retries 3 -> 6"} {
		if !strings.Contains(string(rb), want) {
			t.Errorf("runbook lacks %q:\n%s", want, rb)
		}
	}
	// The secret the service printed reaches no event, runbook or log line.
	for _, f := range append(rbs, daemon.EventsPath(dir)) {
		if b, _ := os.ReadFile(f); strings.Contains(string(b), "s3cr3t-t0ken-value") {
			t.Errorf("%s shows the secret", f)
		}
	}
	if strings.Contains(rd.logs.String(), "s3cr3t-t0ken-value") {
		t.Error("the daemon's log shows the secret")
	}
	// The patched bundle is on disk and validates like any bundle.
	p, _, err := Plan(context.Background(), Options{Dir: dir}, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := forge.LoadBuilt(filepath.Join(dir, ".clockwork", "build"), p.Plan.ActionList, forge.DefaultPolicy())
	if err != nil {
		t.Fatalf("patched bundle does not load: %v", err)
	}
	if got := b.StepFor("service.bad/ensure_service").Run.Retries; got != 6 {
		t.Errorf("bundle retries = %d, want 6", got)
	}
}

// PatchArtifact edits bundle.json so forge keeps the edit in a later build
// of a changed plan; a kind the bundle cannot express is ErrNoPatch.
func TestPatchArtifactSurvivesRebuild(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "main.cw"), `resource "file" "a" {
  path    = "a.txt"
  content = "a\n"
}

resource "check" "a" {
  type    = "file_exists"
  path    = "a.txt"
  depends_on = [file.a]
}
`)
	ctx := context.Background()
	o := Options{Dir: dir, Environ: os.Environ()}
	if _, err := Apply(ctx, o); err != nil {
		t.Fatal(err)
	}
	p := NewDaemonPipeline(o, DaemonOptions{})
	if _, err := p.Plan(ctx); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, kind, step, want string
		wantErr                error
	}{
		{name: "retries", kind: policy.KindRetries, step: "file.a/ensure_file", want: "retries 0 -> 3"},
		{name: "retries again", kind: policy.KindRetries, step: "file.a/ensure_file", want: "retries 3 -> 6"},
		{name: "timeout", kind: policy.KindTimeout, step: "file.a/ensure_file", want: "timeout 600s -> 1200s"},
		{name: "logging", kind: policy.KindLogging, step: "file.a/ensure_file", wantErr: daemon.ErrNoPatch},
		{name: "health check without one", kind: policy.KindHealthCheck, step: "file.a/ensure_file", wantErr: daemon.ErrNoPatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			desc, err := p.PatchArtifact(ctx, daemon.ArtifactPatch{Resource: "file.a", StepID: tt.step, Kind: tt.kind})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || !strings.Contains(desc, tt.want) {
				t.Fatalf("PatchArtifact = %q, %v; want %q", desc, err, tt.want)
			}
		})
	}
	// A changed plan rebuilds the bundle; the edited run is kept.
	writeFile(t, filepath.Join(dir, "more.cw"), "resource \"file\" \"b\" {\n  path    = \"b.txt\"\n  content = \"b\\n\"\n}\n")
	res, err := Apply(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Build.Reused {
		t.Fatal("the plan changed but the bundle was reused")
	}
	run := res.Build.Bundle.StepFor("file.a/ensure_file").Run
	if run.Retries != 6 || run.Timeout != 1200 {
		t.Errorf("after rebuild run = %+v, want retries 6 and timeout 1200 kept", run)
	}
	// An edited bundle.json that breaks a rule is never written by a patch:
	// the patch validates with forge and restores the old file.
	bp := filepath.Join(dir, ".clockwork", "build", "bundle.json")
	before, _ := os.ReadFile(bp)
	if _, err := p.Plan(ctx); err != nil {
		t.Fatal(err)
	}
	art := filepath.Join(dir, ".clockwork", "build", res.Build.Bundle.Artifacts[0].Path)
	if err := os.Remove(art); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", art); err != nil { // forge never follows a link
		t.Fatal(err)
	}
	if _, err := p.PatchArtifact(ctx, daemon.ArtifactPatch{Resource: "file.a", StepID: "file.a/ensure_file", Kind: policy.KindRetries}); err == nil {
		t.Error("patch of a bundle whose artifact breaks a rule succeeded")
	}
	after, _ := os.ReadFile(bp)
	if string(before) != string(after) {
		t.Error("bundle.json changed although the patched bundle was rejected")
	}
}

// A port taken by another process: the start fails with "address already in
// use"; the daemon writes a .cw proposal and changes nothing until it is
// approved; after approval the service runs on the new port and a comment
// in the edited .cw survives.
func TestDaemonPortTakenProposal(t *testing.T) {
	dir := t.TempDir()
	squat, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer squat.Close()
	go func() { // answers nothing useful: accept and close
		for {
			c, err := squat.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := squat.Addr().(*net.TCPAddr).Port
	name := fmt.Sprintf("cw-daemon-port-%d", os.Getpid())
	writeFile(t, filepath.Join(dir, "site", "health"), "ok\n")
	cw := fmt.Sprintf(`variable "port" {
  type    = number
  default = %d # the port the site listens on (keep this comment)
}

resource "service" "web" {
  name    = "%s"
  command = ["python3", "-m", "http.server", tostring(var.port), "--bind", "127.0.0.1", "--directory", "site"]
  ports   = [{ external = var.port, internal = var.port }]

  health_check {
    path     = "/health"
    port     = var.port
    interval = "1s"
    retries  = 3
  }
}
`, port, name)
	writeFile(t, filepath.Join(dir, "main.cw"), cw)
	startDaemon(t, dir, fastPolicy(), true)

	evs := waitEvents(t, dir, 30*time.Second, "a proposal", func(evs []daemon.Event) bool {
		return count(evs, func(e daemon.Event) bool { return e.Kind == daemon.EventProposal && e.Ref != "" }) > 0
	})
	var id string
	for _, e := range evs {
		if e.Kind == daemon.EventProposal && e.Ref != "" {
			id = e.Ref
		}
	}
	ps, err := daemon.ListProposals(dir)
	if err != nil || len(ps) != 1 || ps[0].Status != daemon.ProposalPending {
		t.Fatalf("proposals = %+v, %v; want one pending", ps, err)
	}
	if !strings.Contains(ps[0].Diff, strconv.Itoa(port)) {
		t.Errorf("proposal diff does not mention port %d:\n%s", port, ps[0].Diff)
	}
	// Nothing is applied while the proposal waits.
	time.Sleep(500 * time.Millisecond)
	if got, _ := os.ReadFile(filepath.Join(dir, "main.cw")); string(got) != cw {
		t.Fatalf("main.cw changed before approval:\n%s", got)
	}
	p, err := daemon.Approve(dir, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("approved %s: %s", p.ID, strings.TrimSpace(p.Diff))
	got, _ := os.ReadFile(filepath.Join(dir, "main.cw"))
	if !strings.Contains(string(got), "# the port the site listens on (keep this comment)") {
		t.Errorf("the comment did not survive the patch:\n%s", got)
	}
	if strings.Contains(string(got), "default = "+strconv.Itoa(port)) {
		t.Fatalf("port %d still in main.cw after approval:\n%s", port, got)
	}
	newPort := 0
	for _, line := range strings.Split(string(got), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "default" {
			newPort, _ = strconv.Atoi(f[2])
		}
	}
	if newPort == 0 {
		t.Fatalf("no new port in main.cw:\n%s", got)
	}
	// The file watch picks the edit up; the service comes up on the new port.
	url := fmt.Sprintf("http://127.0.0.1:%d/health", newPort)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			evs, _ := daemon.ReadEvents(daemon.EventsPath(dir))
			for _, e := range evs {
				t.Log(e.String())
			}
			t.Fatalf("%s does not answer after approval: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if testing.Verbose() {
		evs, _ := daemon.ReadEvents(daemon.EventsPath(dir))
		for _, e := range evs {
			t.Log(e.String())
		}
	}
}

// The daemon pipeline reports a lock held by a manual apply as ErrBusy.
func TestDaemonApplyBusy(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "main.cw"), "resource \"file\" \"a\" {\n  path    = \"a.txt\"\n  content = \"a\\n\"\n}\n")
	ctx := context.Background()
	o := Options{Dir: dir, Environ: os.Environ()}
	held := make(chan struct{})
	release := make(chan struct{})
	o.OnStepStart = func(contract.Step) { close(held); <-release }
	applyDone := make(chan error, 1)
	go func() {
		_, err := Apply(ctx, o)
		applyDone <- err
	}()
	<-held
	p := NewDaemonPipeline(Options{Dir: dir, Environ: os.Environ()}, DaemonOptions{})
	if _, err := p.Plan(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := p.Apply(ctx, []string{"file.a"})
	close(release)
	if !errors.Is(err, daemon.ErrBusy) {
		t.Errorf("Apply during a manual apply: err = %v, want ErrBusy", err)
	}
	if err := <-applyDone; err != nil {
		t.Fatal(err)
	}
	if _, err := p.Apply(ctx, []string{"file.a"}); err != nil {
		t.Errorf("Apply after the manual apply: %v", err)
	}
}

// A .cw edit with errors: the daemon reports the diagnostics (file:line:col)
// and keeps restoring the last good configuration: a killed service comes
// back from the bundle built for it.
func TestDaemonConfigErrorKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	name := fmt.Sprintf("cw-daemon-lastgood-%d", os.Getpid())
	writeFile(t, filepath.Join(dir, "site", "health"), "ok\n")
	writeFile(t, filepath.Join(dir, "main.cw"), fmt.Sprintf(`resource "service" "web" {
  name    = "%s"
  command = ["python3", "-m", "http.server", "%d", "--bind", "127.0.0.1", "--directory", "site"]

  health_check {
    path     = "/health"
    port     = %d
    interval = "1s"
    retries  = 20
  }
}
`, name, port, port))
	rd := startDaemon(t, dir, fastPolicy(), true)
	url := fmt.Sprintf("http://127.0.0.1:%d/health", port)
	restored := func(n int) func([]daemon.Event) bool {
		return func(evs []daemon.Event) bool {
			return count(evs, func(e daemon.Event) bool {
				return e.Kind == daemon.EventReconcile && e.Resource == "service.web" && e.Result == "ok"
			}) >= n
		}
	}
	waitEvents(t, dir, 20*time.Second, "the first apply", restored(1))

	// Break the configuration; the file watch runs a pass that reports it.
	writeFile(t, filepath.Join(dir, "broken.cw"), "resource \"file\" \"x\" {\n  path = \n}\n")
	waitEvents(t, dir, 10*time.Second, "the diagnostics", func(evs []daemon.Event) bool {
		return count(evs, func(e daemon.Event) bool {
			return e.Kind == daemon.EventDiagnostics && strings.Contains(e.Seen, "broken.cw:2:")
		}) > 0
	})
	if st := rd.d.Status(); len(st.Diagnostics) == 0 {
		t.Error("status shows no diagnostics while the configuration has errors")
	}
	pid := readPIDFile(t, filepath.Join(dir, ".clockwork", "services", name+".pid"))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, dir, 20*time.Second, "the restore under a broken configuration", restored(2))
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("service not restored: %v", err)
	}
	resp.Body.Close()
	if got := readPIDFile(t, filepath.Join(dir, ".clockwork", "services", name+".pid")); got == pid {
		t.Errorf("pid file still names the killed process %d", pid)
	}
}

func readPIDFile(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}
