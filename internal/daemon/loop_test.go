package daemon

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clockwork-iac/clockwork/internal/daemon/policy"
)

var web = ResourceInfo{Addr: "service.web", Type: "service", Kind: "process"}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startDaemon runs a daemon over p in dir until the returned stop is called.
func startDaemon(t *testing.T, dir string, p Pipeline, pol *policy.Policy, tweak func(*Config)) (*Daemon, func()) {
	t.Helper()
	cfg := Config{Dir: dir, Interval: time.Hour, Jitter: -1, NoWatch: true, Policy: pol}
	if tweak != nil {
		tweak(&cfg)
	}
	d := New(cfg, p, nil, quietLogger())
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var runErr error
	wg.Go(func() { runErr = d.Run(ctx) })
	return d, func() {
		cancel()
		wg.Wait()
		if runErr != nil {
			t.Errorf("Run: %v", runErr)
		}
	}
}

func eventsOf(t *testing.T, dir string, kind, resource string) []Event {
	t.Helper()
	all, err := ReadEvents(EventsPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	var out []Event
	for _, e := range all {
		if (kind == "" || e.Kind == kind) && (resource == "" || e.Resource == resource) {
			out = append(out, e)
		}
	}
	return out
}

func gaps(ts []time.Time) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(ts); i++ {
		out = append(out, ts[i].Sub(ts[i-1]).Round(time.Millisecond))
	}
	return out
}

// A service whose start keeps failing: reconciles back off 1s, 2s, 4s; then
// exactly two automatic artifact patches within the hour, the second after
// the cooldown; then a runbook, and reconciling goes on under backoff.
func TestFailingStartBackoffBudgetRunbook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		p := newFake(web)
		p.kill("service.web", "process exited with code 1")
		p.apply = func(target string) StepOutcome {
			return StepOutcome{StepID: target + "/ensure_service", Resource: target, Status: "failed", Err: "exit status 1", LogTail: "ModuleNotFoundError: flask"}
		}
		pol := policy.Default()
		start := time.Now()
		_, stop := startDaemon(t, dir, p, &pol, nil)
		time.Sleep(70 * time.Minute)
		stop()

		applies, applyTimes, patches, patchTimes := p.snapshot()
		if len(applies) < 6 {
			t.Fatalf("only %d applies", len(applies))
		}
		if d := cmp.Diff([]time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, gaps(applyTimes)[:3]); d != "" {
			t.Errorf("backoff between the first reconciles (-want +got):\n%s", d)
		}
		if applyTimes[0] != start {
			t.Errorf("first reconcile after %v, want at once", applyTimes[0].Sub(start))
		}
		for _, g := range gaps(applyTimes) {
			if g > pol.BackoffCap {
				t.Errorf("gap %v exceeds the cap %v", g, pol.BackoffCap)
			}
		}
		if len(patches) != 2 {
			t.Fatalf("%d artifact patches in 70 minutes, want exactly 2: %+v", len(patches), patches)
		}
		if patchTimes[0].Sub(start) != 7*time.Second {
			t.Errorf("first patch after %v, want 7s (three failed reconciles at 0s, 1s, 3s)", patchTimes[0].Sub(start))
		}
		if g := patchTimes[1].Sub(patchTimes[0]); g < pol.Cooldown {
			t.Errorf("second patch %v after the first, within the %v cooldown", g, pol.Cooldown)
		}
		want := ArtifactPatch{Resource: "service.web", StepID: "service.web/ensure_service", Kind: policy.KindRetries,
			Reason: "process exited with code 1; service.web/ensure_service: exit status 1", LogTail: "ModuleNotFoundError: flask"}
		if d := cmp.Diff(want, patches[0]); d != "" {
			t.Errorf("patch (-want +got):\n%s", d)
		}
		runbooks := eventsOf(t, dir, EventRunbook, "service.web")
		if len(runbooks) != 1 {
			t.Fatalf("%d runbook events, want 1", len(runbooks))
		}
		rb, err := os.ReadFile(filepath.Join(RunbooksDir(dir), runbooks[0].Ref+".md"))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"# Runbook", "service.web", "2 automatic fixes within the hour", "ModuleNotFoundError: flask", "artifact patch of service.web/ensure_service"} {
			if !strings.Contains(string(rb), s) {
				t.Errorf("runbook lacks %q:\n%s", s, rb)
			}
		}
		if n := len(eventsOf(t, dir, EventBudget, "")); n < 2 {
			t.Errorf("%d budget events, want a cooldown and an exhaustion", n)
		}
		if last := applyTimes[len(applyTimes)-1]; last.Before(runbookTime(t, dir)) {
			t.Error("reconciling stopped after the runbook; it must go on")
		}
	})
}

func runbookTime(t *testing.T, dir string) time.Time {
	ev := eventsOf(t, dir, EventRunbook, "")
	if len(ev) == 0 {
		t.Fatal("no runbook")
	}
	return ev[0].Time
}

// A killed service is restarted in the same instant the liveness signal
// arrives; a crash loop backs off; backoff is forgotten after HealthyReset.
func TestKillRestartBackoffReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		p := newFake(web)
		pol := policy.Default()
		pol.HealthyReset = time.Minute
		d, stop := startDaemon(t, dir, p, &pol, nil)
		defer stop()
		synctest.Wait()
		t0 := time.Now()
		kill := func() {
			p.kill("service.web", "process exited (signal: killed)")
			d.Signal("service.web")
			synctest.Wait()
		}
		kill() // t0: restarted at once
		time.Sleep(1500 * time.Millisecond)
		kill() // t0+1.5s: healthy only 0.5s; the last attempt's 1s backoff is over: at once
		time.Sleep(500 * time.Millisecond)
		kill() // t0+2s: must wait for the 2s backoff (until t0+3.5s)
		time.Sleep(5 * time.Second)
		time.Sleep(2 * time.Minute)
		kill() // healthy for 2 minutes: backoff forgotten, at once
		time.Sleep(time.Minute)

		_, applyTimes, patches, _ := p.snapshot()
		var rel []time.Duration
		for _, at := range applyTimes {
			rel = append(rel, at.Sub(t0))
		}
		want := []time.Duration{0, 1500 * time.Millisecond, 3500 * time.Millisecond, 2*time.Minute + 7*time.Second}
		if d := cmp.Diff(want, rel); d != "" {
			t.Errorf("apply times after t0 (-want +got):\n%s", d)
		}
		if len(patches) != 0 {
			t.Errorf("restarts that worked produced %d fixes", len(patches))
		}
		drift := eventsOf(t, dir, EventDrift, "service.web")
		if len(drift) != 4 {
			t.Errorf("%d drift events, want 4", len(drift))
		}
		st := d.Status()
		if len(st.Resources) != 1 || st.Resources[0].Health != HealthHealthy {
			t.Errorf("status resources = %+v", st.Resources)
		}
	})
}

// A .cw with errors keeps the last good configuration: no changed resource
// is applied, a dead resource of the last good config is still restored, the
// diagnostics are reported once and cleared when the files are valid again.
func TestConfigErrorsKeepLastGood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		p := newFake(web)
		var mu sync.Mutex
		broken := false
		p.plan = func() (*PlanResult, error) {
			mu.Lock()
			defer mu.Unlock()
			if broken {
				return &PlanResult{Diagnostics: []string{"main.cw:3:5: Unsupported argument: An argument named \"prots\" is not expected here."}}, errors.New("configuration has errors")
			}
			return &PlanResult{Resources: []ResourceInfo{web}, Fingerprint: "sha256:good"}, nil
		}
		d, stop := startDaemon(t, dir, p, nil, nil)
		defer stop()
		synctest.Wait()
		mu.Lock()
		broken = true
		mu.Unlock()
		d.Trigger("edit")
		synctest.Wait()
		d.Trigger("edit again")
		synctest.Wait()
		if n := len(eventsOf(t, dir, EventDiagnostics, "")); n != 1 {
			t.Errorf("%d diagnostics events over two broken passes, want 1", n)
		}
		st := d.Status()
		if len(st.Diagnostics) != 1 || !strings.Contains(st.Diagnostics[0], "prots") {
			t.Errorf("status diagnostics = %q", st.Diagnostics)
		}
		if st.LastPass == nil || st.LastPass.Result != "config_error" {
			t.Errorf("last pass = %+v", st.LastPass)
		}
		applies, _, _, _ := p.snapshot()
		if len(applies) != 0 {
			t.Errorf("applied %v with a broken configuration and healthy resources", applies)
		}
		// The last good configuration is still kept running.
		p.kill("service.web", "process exited")
		d.Signal("service.web")
		synctest.Wait()
		applies, _, _, _ = p.snapshot()
		if d := cmp.Diff([][]string{{"service.web"}}, applies); d != "" {
			t.Errorf("applies (-want +got):\n%s", d)
		}
		mu.Lock()
		broken = false
		mu.Unlock()
		d.Trigger("fixed")
		synctest.Wait()
		if ev := eventsOf(t, dir, EventDiagnostics, ""); len(ev) != 2 || ev[1].Seen != "configuration valid again" {
			t.Errorf("diagnostics events = %+v", ev)
		}
		if st := d.Status(); len(st.Diagnostics) != 0 {
			t.Errorf("diagnostics not cleared: %q", st.Diagnostics)
		}
	})
}

// Triggers arriving during a pass coalesce into one more pass.
func TestTriggersCoalesce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		p := newFake(web)
		release := make(chan struct{})
		var once sync.Once
		p.onPlan = func() { once.Do(func() { <-release }) }
		d, stop := startDaemon(t, dir, p, nil, nil)
		defer stop()
		synctest.Wait() // first pass blocked in Plan
		for range 10 {
			d.Trigger("file changed")
			d.Signal("service.web")
		}
		close(release)
		synctest.Wait()
		p.mu.Lock()
		plans := p.plans
		p.mu.Unlock()
		if plans != 2 {
			t.Errorf("%d passes, want 2 (the blocked one and one for all 20 triggers)", plans)
		}
		if lp := d.Status().LastPass; lp == nil || lp.ID != 2 || !strings.Contains(strings.Join(lp.Trigger, ","), "liveness service.web") {
			t.Errorf("last pass = %+v", lp)
		}
	})
}

// The timer runs a full pass every interval plus jitter.
func TestIntervalPasses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newFake(web)
		_, stop := startDaemon(t, t.TempDir(), p, nil, func(c *Config) { c.Interval = time.Minute; c.Jitter = 0.1 })
		time.Sleep(10*time.Minute + time.Second)
		stop()
		p.mu.Lock()
		defer p.mu.Unlock()
		// 1 at start, then one every 60-66s: 10 minutes hold 9 or 10.
		if p.plans < 10 || p.plans > 11 {
			t.Errorf("%d passes in 10 minutes with a 1m interval", p.plans)
		}
	})
}

// A panic in a pass is recovered, recorded with the pass id, and the next
// pass runs normally.
func TestPanicRecovered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		p := newFake(web)
		var once sync.Once
		p.onPlan = func() { once.Do(func() { panic("boom") }) }
		d, stop := startDaemon(t, dir, p, nil, nil)
		defer stop()
		synctest.Wait()
		d.Trigger("again")
		synctest.Wait()
		errs := eventsOf(t, dir, EventError, "")
		if len(errs) != 1 || errs[0].Pass != 1 || errs[0].Seen != "panic: boom" {
			t.Fatalf("error events = %+v", errs)
		}
		if lp := d.Status().LastPass; lp == nil || lp.ID != 2 || lp.Result != "ok" {
			t.Errorf("last pass = %+v", lp)
		}
	})
}

// A resource the plan deletes is never deleted by the daemon: a runbook says
// to run apply.
func TestDestroyNeverAutomatic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		gone := ResourceInfo{Addr: "file.old", Type: "file", Destroy: true, Changed: true}
		p := newFake(web, gone)
		d, stop := startDaemon(t, dir, p, nil, nil)
		defer stop()
		synctest.Wait()
		d.Trigger("again")
		synctest.Wait()
		applies, _, _, _ := p.snapshot()
		for _, a := range applies {
			for _, target := range a {
				if target == "file.old" {
					t.Fatalf("the daemon applied a destroy: %v", applies)
				}
			}
		}
		rb := eventsOf(t, dir, EventRunbook, "file.old")
		if len(rb) != 1 || !strings.Contains(rb[0].Rule, "destroy") {
			t.Errorf("runbook events = %+v", rb)
		}
	})
}

// A state lock held by a manual apply is waited out, not counted.
func TestBusyNotCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		p := newFake(web)
		p.kill("service.web", "process exited")
		p.applyErr = errors.Join(ErrBusy, errors.New("pid 42 holds .clockwork/state.lock"))
		d, stop := startDaemon(t, dir, p, nil, nil)
		defer stop()
		time.Sleep(10 * time.Second)
		p.mu.Lock()
		p.applyErr = nil
		p.mu.Unlock()
		time.Sleep(3 * time.Second)
		_, _, patches, _ := p.snapshot()
		if len(patches) != 0 {
			t.Errorf("busy state lock led to %d fixes", len(patches))
		}
		st := d.Status()
		if st.Resources[0].Health != HealthHealthy {
			t.Errorf("not restored after the lock was released: %+v", st.Resources[0])
		}
	})
}

// Event text goes through the masker.
func TestMaskedEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		p := newFake(web)
		p.kill("service.web", "connect to db with password hunter2 failed")
		mask := func(s string) string { return strings.ReplaceAll(s, "hunter2", "***") }
		_, stop := startDaemon(t, dir, p, nil, func(c *Config) { c.Mask = mask })
		synctest.Wait()
		stop()
		b, err := os.ReadFile(EventsPath(dir))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "hunter2") || !strings.Contains(string(b), "password ***") {
			t.Errorf("events not masked:\n%s", b)
		}
	})
}

// blockingPipeline's Apply runs until its context is cancelled, then takes a
// while to drain, as the executor does with running steps.
type blockingPipeline struct {
	*fakePipeline
	started chan struct{}
	drained bool
}

func (b *blockingPipeline) Apply(ctx context.Context, targets []string) (*ApplyResult, error) {
	close(b.started)
	<-ctx.Done()
	time.Sleep(3 * time.Second) // draining running steps
	b.mu.Lock()
	b.drained = true
	b.mu.Unlock()
	return &ApplyResult{}, ctx.Err()
}

// Cancelling Run's context waits for the in-flight pass, and its Apply's
// drain, to finish.
func TestShutdownWaitsForPass(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &blockingPipeline{fakePipeline: newFake(web), started: make(chan struct{})}
		p.kill("service.web", "process exited")
		d := New(Config{Dir: t.TempDir(), NoWatch: true, Jitter: -1}, p, nil, quietLogger())
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- d.Run(ctx) }()
		<-p.started
		start := time.Now()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.drained || time.Since(start) != 3*time.Second {
			t.Errorf("Run returned after %v, drained=%v; want after the 3s drain", time.Since(start), p.drained)
		}
	})
}

// The kind of fix follows what was seen; a kind the policy does not make
// automatic gets a runbook instead of a patch.
func TestFixKinds(t *testing.T) {
	tests := []struct {
		name      string
		outcome   StepOutcome
		auto      []string
		wantPatch string // kind, or "" for a runbook
	}{
		{"timeout", StepOutcome{StepID: "service.web/verify_http", Status: "failed", Err: "GET http://127.0.0.1:8080/health: context deadline exceeded"}, nil, policy.KindTimeout},
		{"failing health check", StepOutcome{StepID: "service.web/verify_http", Status: "failed", Err: "status 503, want 200"}, nil, policy.KindHealthCheck},
		{"failing start", StepOutcome{StepID: "service.web/ensure_service", Status: "failed", Err: "exit status 1"}, nil, policy.KindRetries},
		{"retries not automatic", StepOutcome{StepID: "service.web/ensure_service", Status: "failed", Err: "exit status 1"}, []string{policy.KindTimeout}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dir := t.TempDir()
				p := newFake(web)
				p.kill("service.web", "unhealthy")
				p.apply = func(target string) StepOutcome { o := tt.outcome; o.Resource = target; return o }
				pol := policy.Default()
				if tt.auto != nil {
					pol.AutoApply = tt.auto
				}
				_, stop := startDaemon(t, dir, p, &pol, nil)
				time.Sleep(time.Minute)
				stop()
				_, _, patches, _ := p.snapshot()
				runbooks := eventsOf(t, dir, EventRunbook, "service.web")
				if tt.wantPatch == "" {
					if len(patches) != 0 || len(runbooks) != 1 {
						t.Errorf("patches %+v, %d runbooks; want none and 1", patches, len(runbooks))
					}
					return
				}
				if len(patches) != 1 || patches[0].Kind != tt.wantPatch || patches[0].StepID != tt.outcome.StepID {
					t.Errorf("patches = %+v, want one %s patch of %s", patches, tt.wantPatch, tt.outcome.StepID)
				}
			})
		})
	}
}

// With Config.Policy nil the daemon reads clockwork.hcl at every pass; a
// broken file keeps the previous policy and is reported once.
func TestPolicyFromFile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		hclPath := filepath.Join(dir, policy.FileName)
		if err := os.WriteFile(hclPath, []byte("compiler {\n  model = \"m\"\n}\ndaemon {\n  max_fixes_per_hour = 0\n}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		p := newFake(web)
		p.kill("service.web", "process exited")
		p.apply = func(target string) StepOutcome {
			return StepOutcome{StepID: target + "/ensure_service", Resource: target, Status: "failed", Err: "exit status 1"}
		}
		d, stop := startDaemon(t, dir, p, nil, nil)
		defer stop()
		time.Sleep(10 * time.Second)
		_, _, patches, _ := p.snapshot()
		if len(patches) != 0 || len(eventsOf(t, dir, EventRunbook, "service.web")) != 1 {
			t.Errorf("with max_fixes_per_hour = 0: %d patches, want 0 and a runbook", len(patches))
		}
		if err := os.WriteFile(hclPath, []byte("daemon {\n  cooldown = 5\n}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			d.Trigger("test")
			synctest.Wait()
		}
		diags := eventsOf(t, dir, EventDiagnostics, "")
		if len(diags) != 1 || !strings.Contains(diags[0].Seen, "cooldown") {
			t.Errorf("diagnostics events = %+v", diags)
		}
		if err := os.WriteFile(hclPath, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		d.Trigger("test")
		synctest.Wait()
		if diags := eventsOf(t, dir, EventDiagnostics, ""); len(diags) != 2 || !strings.Contains(diags[1].Seen, "valid again") {
			t.Errorf("diagnostics events = %+v", diags)
		}
	})
}
