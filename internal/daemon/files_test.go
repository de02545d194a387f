package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/clockwork-iac/clockwork/internal/daemon/patch"
	"github.com/clockwork-iac/clockwork/internal/daemon/policy"
)

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func writeCW(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Edits to .cw files (real fsnotify, real files) are debounced into one
// pass; other files do not trigger.
func TestWatchDebounce(t *testing.T) {
	dir := t.TempDir()
	writeCW(t, filepath.Join(dir, "main.cw"), "# v0\n")
	p := newFake(web)
	d, stop := startDaemon(t, dir, p, nil, func(c *Config) { c.NoWatch = false; c.Debounce = 150 * time.Millisecond })
	defer stop()
	plans := func() int { p.mu.Lock(); defer p.mu.Unlock(); return p.plans }
	waitFor(t, "the first pass", 5*time.Second, func() bool { return plans() == 1 })

	for i := range 5 {
		writeCW(t, filepath.Join(dir, "main.cw"), fmt.Sprintf("# v%d\n", i+1))
		time.Sleep(20 * time.Millisecond)
	}
	writeCW(t, filepath.Join(dir, "prod.cwvars"), "port = 1\n")
	waitFor(t, "a pass after the edits", 5*time.Second, func() bool { return plans() == 2 })
	time.Sleep(400 * time.Millisecond) // longer than the debounce: nothing more may come
	if n := plans(); n != 2 {
		t.Errorf("%d passes after a burst of edits, want 2", n)
	}
	if lp := d.Status().LastPass; lp == nil || !strings.Contains(strings.Join(lp.Trigger, " "), "main.cw") {
		t.Errorf("last pass trigger = %+v", lp)
	}

	writeCW(t, filepath.Join(dir, "notes.txt"), "x")
	if err := os.MkdirAll(filepath.Join(dir, ".clockwork", "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	if n := plans(); n != 2 {
		t.Errorf("a non-.cw file triggered a pass (%d passes)", n)
	}
}

// A second daemon on the same directory is refused.
func TestOneDaemonPerDirectory(t *testing.T) {
	dir := t.TempDir()
	_, stop := startDaemon(t, dir, newFake(web), nil, nil)
	defer stop()
	waitFor(t, "the lock", 5*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, ".clockwork", "daemon.lock"))
		return len(b) > 0
	})
	err := New(Config{Dir: dir, NoWatch: true}, newFake(web), nil, quietLogger()).Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "another daemon is running") {
		t.Fatalf("second daemon: %v", err)
	}
}

// portPipeline is a fake service that declares one port in a real main.cw
// and starts only when that port is free.
type portPipeline struct {
	*fakePipeline
	dir string
}

func (pp *portPipeline) port(t testing.TB) int {
	src, err := os.ReadFile(filepath.Join(pp.dir, "main.cw"))
	if err != nil {
		return 0
	}
	f, err := patch.Lookup(src, "resource.service.web", []string{"ports", "0", "external"})
	if err != nil || f.Value == cty.NilVal {
		return 0
	}
	n, _ := f.Value.AsBigFloat().Int64()
	return int(n)
}

func (pp *portPipeline) Plan(ctx context.Context) (*PlanResult, error) {
	info := web
	info.File = "main.cw"
	info.Ports = []int{pp.port(nil)}
	pp.mu.Lock()
	pp.resources = []ResourceInfo{info}
	pp.mu.Unlock()
	return &PlanResult{Resources: []ResourceInfo{info}, Fingerprint: "sha256:" + strconv.Itoa(info.Ports[0])}, nil
}

// A port taken by another process: reconciling fails, the daemon proposes a
// .cw patch moving the port, waits, and applies it only after approval; the
// comments of the .cw survive.
func TestPortTakenProposalApprove(t *testing.T) {
	dir := t.TempDir()
	squatter, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()
	taken := squatter.Addr().(*net.TCPAddr).Port
	cw := fmt.Sprintf(`# The shop front. Do not remove this comment.
resource "service" "web" {
  command = ["python3", "-m", "http.server"]
  ports = [{
    external = %d # agreed with ops
    internal = 8000
  }]
}
`, taken)
	writeCW(t, filepath.Join(dir, "main.cw"), cw)
	pp := &portPipeline{fakePipeline: newFake(web), dir: dir}
	pp.kill("service.web", "process exited with code 1")
	pp.apply = func(target string) StepOutcome {
		port := pp.port(t)
		if ln, err := net.Listen("tcp", ":"+strconv.Itoa(port)); err == nil {
			ln.Close()
			return StepOutcome{StepID: target + "/ensure_service", Resource: target, Status: "ok"}
		}
		return StepOutcome{StepID: target + "/ensure_service", Resource: target, Status: "failed", Err: "exit status 1",
			LogTail: fmt.Sprintf("OSError: [Errno 98] Address already in use: ('0.0.0.0', %d)", port)}
	}
	pol := policy.Default()
	pol.BackoffBase, pol.BackoffCap = time.Millisecond, 20*time.Millisecond
	d, stop := startDaemon(t, dir, pp, &pol, nil)
	defer stop()

	var prop Proposal
	waitFor(t, "a proposal", 10*time.Second, func() bool {
		ps, _ := ListProposals(dir)
		if len(ps) == 1 {
			prop = ps[0]
		}
		return len(ps) == 1
	})
	time.Sleep(100 * time.Millisecond) // the daemon keeps reconciling with backoff but changes nothing
	if ps, _ := ListProposals(dir); len(ps) != 1 {
		t.Fatalf("%d proposals, want exactly one while the first is pending", len(ps))
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "main.cw")); string(b) != cw {
		t.Fatalf("main.cw changed before approval:\n%s", b)
	}
	if prop.Status != ProposalPending || prop.Kind != policy.KindPorts || prop.Old != strconv.Itoa(taken) || prop.File != "main.cw" {
		t.Errorf("proposal = %+v", prop)
	}
	if !strings.Contains(prop.Diff, fmt.Sprintf("-    external = %d # agreed with ops", taken)) {
		t.Errorf("diff:\n%s", prop.Diff)
	}
	if _, err := os.Stat(filepath.Join(ProposalsDir(dir), prop.ID+".patch")); err != nil {
		t.Error(err)
	}
	if st := d.Status(); len(st.Proposals) != 1 || st.Resources[0].Proposal != prop.ID {
		t.Errorf("status: proposals %+v, resource %+v", st.Proposals, st.Resources)
	}

	approved, err := Approve(dir, prop.ID)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "main.cw"))
	var newPort int
	fmt.Sscanf(string(approved.New), "%d", &newPort)
	if newPort <= taken {
		t.Fatalf("new port %d", newPort)
	}
	want := strings.Replace(cw, fmt.Sprintf("external = %d #", taken), fmt.Sprintf("external = %d #", newPort), 1)
	if d := cmp.Diff(want, string(after)); d != "" {
		t.Errorf("approved main.cw (-want +got):\n%s", d)
	}
	d.Trigger("test: approved") // the CLI path relies on fsnotify; this test runs without it
	// The fake reads the port at apply time, so a pass already running when
	// the file changed may restore the service before the next pass records
	// the approval; wait for both.
	waitFor(t, "the service healthy on the new port and the approval seen", 10*time.Second, func() bool {
		st := d.Status()
		ev := eventsOf(t, dir, EventProposal, "service.web")
		return len(st.Resources) == 1 && st.Resources[0].Health == HealthHealthy &&
			len(ev) == 2 && ev[1].Seen == "proposal approved" && ev[1].Ref == prop.ID
	})
}

// Rejecting a proposal hands the resource over with a runbook.
func TestPortTakenProposalReject(t *testing.T) {
	dir := t.TempDir()
	squatter, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()
	taken := squatter.Addr().(*net.TCPAddr).Port
	writeCW(t, filepath.Join(dir, "main.cw"), fmt.Sprintf("variable \"port\" {\n  default = %d # ops\n}\nresource \"service\" \"web\" {\n  ports = [{ external = var.port, internal = 80 }]\n}\n", taken))
	writeCW(t, filepath.Join(dir, "prod.cwvars"), fmt.Sprintf("# production\nport = %d\n", taken))
	p := newFake(ResourceInfo{Addr: "service.web", Type: "service", Kind: "container", Ports: []int{taken}})
	p.kill("service.web", "container exited")
	p.apply = func(target string) StepOutcome {
		return StepOutcome{Resource: target, StepID: target + "/ensure_service", Status: "failed", Err: "Error: port is already allocated"}
	}
	pol := policy.Default()
	pol.BackoffBase, pol.BackoffCap = time.Millisecond, 20*time.Millisecond
	_, stop := startDaemon(t, dir, p, &pol, nil)
	defer stop()
	var prop Proposal
	waitFor(t, "a proposal", 10*time.Second, func() bool {
		ps, _ := ListProposals(dir)
		if len(ps) == 1 {
			prop = ps[0]
		}
		return len(ps) == 1
	})
	// The variable is set in prod.cwvars, which wins over the default: that is what to patch.
	if prop.File != "prod.cwvars" || prop.Block != "" || !cmp.Equal(prop.Path, []string{"port"}) {
		t.Errorf("proposal targets %s %q %v, want prod.cwvars port", prop.File, prop.Block, prop.Path)
	}
	if _, err := Reject(dir, prop.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a runbook", 10*time.Second, func() bool { return len(eventsOf(t, dir, EventRunbook, "service.web")) == 1 })
	if _, err := Approve(dir, prop.ID); !errors.Is(err, ErrNotPending) {
		t.Errorf("approve after reject: %v", err)
	}
}

// Approve refuses a proposal whose file changed since, and marks it stale.
func TestApproveStale(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "main.cw")
	writeCW(t, path, "resource \"service\" \"web\" {\n  ports = [{ external = 8080 }] # keep\n}\n")
	p, err := writeProposal(dir, time.Now(), proposalRequest{Resource: "service.web", Kind: "ports", File: "main.cw",
		Block: "resource.service.web", Path: []string{"ports", "0", "external"}, Value: cty.NumberIntVal(8081), Reason: "taken"})
	if err != nil {
		t.Fatal(err)
	}
	writeCW(t, path, "# edited by hand\nresource \"service\" \"web\" {\n  ports = [{ external = 8080 }] # keep\n}\n")
	if _, err := Approve(dir, p.ID); !errors.Is(err, ErrStale) {
		t.Fatalf("approve of a stale proposal: %v", err)
	}
	got, _ := GetProposal(dir, p.ID)
	if got.Status != ProposalStale {
		t.Errorf("status %q, want stale", got.Status)
	}
	if b, _ := os.ReadFile(path); !bytes.HasPrefix(b, []byte("# edited by hand")) || bytes.Contains(b, []byte("8081")) {
		t.Errorf("stale approve wrote the file:\n%s", b)
	}
	if _, err := Approve(dir, "../../etc/passwd"); !errors.Is(err, ErrNoProposal) {
		t.Errorf("hostile id: %v", err)
	}
	if _, err := Reject(dir, "deadbeef"); !errors.Is(err, ErrNoProposal) {
		t.Errorf("unknown id: %v", err)
	}
}

// Follow prints existing lines, then appended ones, whole lines only, and
// starts over after truncation.
func TestFollow(t *testing.T) {
	dir := t.TempDir()
	path := EventsPath(dir)
	rec, err := openRecorder(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	rec.Record(Event{Pass: 1, Kind: EventObserve, Seen: "first"})
	var mu sync.Mutex
	var out bytes.Buffer
	w := writerFunc(func(b []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(b) })
	got := func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- Follow(ctx, path, w) }()
	waitFor(t, "the first line", 5*time.Second, func() bool { return strings.Contains(got(), `"first"`) })
	rec.Record(Event{Pass: 2, Kind: EventDrift, Seen: "second"})
	waitFor(t, "the appended line", 5*time.Second, func() bool { return strings.Contains(got(), `"second"`) })
	// A torn write shows up only when its line is complete.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte(`{"pass":3,"kind":"fix","seen":"thi`))
	time.Sleep(150 * time.Millisecond)
	if strings.Contains(got(), `"thi`) {
		t.Error("a partial line was printed")
	}
	f.Write([]byte("rd\"}\n"))
	f.Close()
	waitFor(t, "the completed line", 5*time.Second, func() bool { return strings.Contains(got(), `"third"`) })
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	rec.Record(Event{Pass: 4, Kind: EventObserve, Seen: "after truncation"})
	waitFor(t, "a line after truncation", 5*time.Second, func() bool { return strings.Contains(got(), "after truncation") })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(got(), "\n"); n != 4 {
		t.Errorf("%d lines, want 4:\n%s", n, got())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
