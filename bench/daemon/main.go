// Command daemon-bench measures the daemon against a real local service.
//
// It runs the real daemon loop (internal/daemon) over a small Pipeline of its
// own: one real `python3 -m http.server` process, supervised with
// exec.Cmd.Wait (the liveness signal calls Daemon.Signal the moment the
// process exits), plus N-1 real files as cheap resources. It then
//
//  1. kills the service with SIGKILL -kills times, spaced so the backoff has
//     reset (-reset), and measures the time from the kill to the service
//     answering HTTP again (p50, p99, max);
//  2. leaves the daemon idle for -idle with -interval full passes over all
//     resources and measures its CPU share and RSS.
//
// The real pipeline (intake -> assembly -> forge) will be slower per pass
// than this one; the figures bound what the loop itself costs.
//
// With -real it runs the daemon over the real pipeline instead (real.go).
//
// Usage: go run ./bench/daemon [-real] [-kills 50] [-resources 100] [-idle 30s] [-interval 10s] [-json]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/clockwork-iac/clockwork/internal/daemon"
	"github.com/clockwork-iac/clockwork/internal/daemon/policy"
)

func main() {
	kills := flag.Int("kills", 50, "number of kills")
	resources := flag.Int("resources", 100, "resources in the configuration (1 service + files)")
	idle := flag.Duration("idle", 30*time.Second, "idle window for the CPU and RSS measurement")
	interval := flag.Duration("interval", 10*time.Second, "full pass interval")
	reset := flag.Duration("reset", 300*time.Millisecond, "healthy_reset (backoff forgotten after this long healthy)")
	asJSON := flag.Bool("json", false, "print the result as JSON")
	verbose := flag.Bool("v", false, "log daemon events to stderr")
	real := flag.Bool("real", false, "use the real pipeline (intake -> assembly -> forge -> executor) on an examples/web-like configuration")
	flag.Parse()
	if *real {
		if err := runReal(*kills, *resources, *idle, *interval, *reset, *asJSON, *verbose); err != nil {
			fmt.Fprintln(os.Stderr, "daemon-bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*kills, *resources, *idle, *interval, *reset, *asJSON, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "daemon-bench:", err)
		os.Exit(1)
	}
}

type result struct {
	Kills          int     `json:"kills"`
	Resources      int     `json:"resources"`
	DetectP50ms    float64 `json:"kill_to_restart_p50_ms"`
	DetectP99ms    float64 `json:"kill_to_restart_p99_ms"`
	P50ms          float64 `json:"kill_to_http_p50_ms"`
	P90ms          float64 `json:"kill_to_http_p90_ms"`
	P99ms          float64 `json:"kill_to_http_p99_ms"`
	MaxMs          float64 `json:"kill_to_http_max_ms"`
	IdleSeconds    float64 `json:"idle_seconds"`
	IntervalS      float64 `json:"interval_seconds"`
	IdlePasses     int64   `json:"idle_passes"`
	IdleCPUPercent float64 `json:"idle_cpu_percent"`
	RSSMB          float64 `json:"rss_mb"`
	GoVersion      string  `json:"go"`
	CPUs           int     `json:"cpus"`
}

// measureIdle sleeps for idle while the daemon only runs interval passes,
// then returns the figures: the kill latencies (sorted) and idle CPU/RSS.
func measureIdle(d *daemon.Daemon, idle, interval time.Duration, kills, resources int, lat, detect []time.Duration) result {
	runtime.GC()
	passesBefore := d.Status().LastPass.ID
	cpu0, wall0 := cpuTime(), time.Now()
	time.Sleep(idle)
	cpu1, wall1 := cpuTime(), time.Now()
	passes := d.Status().LastPass.ID - passesBefore
	return result{
		Kills: kills, Resources: resources,
		DetectP50ms: ms(pct(detect, 50)), DetectP99ms: ms(pct(detect, 99)),
		P50ms: ms(pct(lat, 50)), P90ms: ms(pct(lat, 90)), P99ms: ms(pct(lat, 99)), MaxMs: ms(lat[len(lat)-1]),
		IdleSeconds: wall1.Sub(wall0).Seconds(), IntervalS: interval.Seconds(), IdlePasses: passes,
		IdleCPUPercent: 100 * (cpu1 - cpu0).Seconds() / wall1.Sub(wall0).Seconds(),
		RSSMB:          rssMB(), GoVersion: runtime.Version(), CPUs: runtime.NumCPU(),
	}
}

func run(kills, resources int, idle, interval, reset time.Duration, asJSON, verbose bool) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "clockwork-daemon-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	py, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		return fmt.Errorf("python3: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	pipe := &procPipeline{dir: dir, python: strings.TrimSpace(string(py)), port: port, files: max(resources-1, 0)}
	pol := policy.Default()
	pol.HealthyReset = reset
	level := slog.LevelWarn + 100
	if verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	d := daemon.New(daemon.Config{Dir: dir, Interval: interval, Listen: "127.0.0.1:0", Policy: &pol}, pipe, nil, logger)
	pipe.d = d
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()

	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	client := &http.Client{Timeout: 200 * time.Millisecond}
	answers := func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	if err := waitUntil(30*time.Second, answers); err != nil {
		return fmt.Errorf("service never answered: %w", err)
	}

	var lat, detect []time.Duration
	for i := range kills {
		time.Sleep(reset + 300*time.Millisecond) // healthy long enough that backoff has reset
		pid := pipe.pid()
		if pid == 0 {
			return fmt.Errorf("kill %d: no service process", i)
		}
		t0 := time.Now()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return fmt.Errorf("kill %d: %w", i, err)
		}
		// Wait until the old process is really gone, then for an answer.
		if err := waitUntil(10*time.Second, func() bool { return pipe.pid() != pid && answers() }); err != nil {
			return fmt.Errorf("kill %d: service did not come back: %w", i, err)
		}
		lat = append(lat, time.Since(t0))
		pipe.mu.Lock()
		detect = append(detect, pipe.startedAt.Sub(t0))
		pipe.mu.Unlock()
	}
	slices.Sort(lat)
	slices.Sort(detect)

	// Idle: nothing happens but interval passes over every resource.
	res := measureIdle(d, idle, interval, kills, resources, lat, detect)
	cancel()
	if err := <-done; err != nil {
		return err
	}
	pipe.stop()
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Printf("kill -> HTTP answering again, %d kills: p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms (target p99 < 2000 ms)\n", res.Kills, res.P50ms, res.P90ms, res.P99ms, res.MaxMs)
	fmt.Printf("  of which kill -> daemon starting the service again (detection + pass): p50 %.1f ms, p99 %.1f ms; the rest is python startup\n", res.DetectP50ms, res.DetectP99ms)
	fmt.Printf("idle with %d resources, %s interval: %.2f%% CPU over %.0f s (%d passes), RSS %.1f MB (targets < 1%%, < 50 MB)\n",
		res.Resources, interval, res.IdleCPUPercent, res.IdleSeconds, res.IdlePasses, res.RSSMB)
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100 // nearest rank
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

func waitUntil(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// cpuTime is this process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rssMB is this process's resident set from /proc/self/status.
func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if kb, err := strconv.ParseFloat(f[0], 64); err == nil {
				return kb / 1024
			}
		}
	}
	return -1
}

// procPipeline is the bench's Pipeline: one supervised process service and
// a number of file resources. It stands in for intake -> assembly -> forge.
type procPipeline struct {
	d      *daemon.Daemon
	dir    string
	python string
	port   int
	files  int

	mu    sync.Mutex // guards cmd, alive and startedAt
	cmd   *exec.Cmd
	alive bool
	// startedAt is when the last ensure_service began.
	startedAt time.Time
}

var _ daemon.Pipeline = (*procPipeline)(nil)

func (p *procPipeline) Plan(ctx context.Context) (*daemon.PlanResult, error) {
	res := &daemon.PlanResult{Fingerprint: "sha256:bench"}
	res.Resources = append(res.Resources, daemon.ResourceInfo{Addr: "service.web", Type: "service", Kind: "process", Ports: []int{p.port}})
	for i := range p.files {
		res.Resources = append(res.Resources, daemon.ResourceInfo{Addr: fmt.Sprintf("file.f%03d", i), Type: "file"})
	}
	return res, nil
}

func (p *procPipeline) filePath(addr string) string {
	return filepath.Join(p.dir, "files", strings.TrimPrefix(addr, "file.")+".txt")
}

func (p *procPipeline) Apply(ctx context.Context, targets []string) (*daemon.ApplyResult, error) {
	res := &daemon.ApplyResult{}
	for _, t := range targets {
		o := daemon.StepOutcome{Resource: t, Status: "ok"}
		if t == "service.web" {
			o.StepID = t + "/ensure_service"
			if err := p.start(ctx); err != nil {
				o.Status, o.Err = "failed", err.Error()
			}
		} else {
			o.StepID = t + "/ensure_file"
			path := p.filePath(t)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				o.Status, o.Err = "failed", err.Error()
			} else if err := os.WriteFile(path, []byte(t+"\n"), 0o644); err != nil {
				o.Status, o.Err = "failed", err.Error()
			}
		}
		res.Results = append(res.Results, o)
	}
	return res, nil
}

// start runs the service (ensure_service) and waits for it to answer
// (verify_http).
func (p *procPipeline) start(ctx context.Context) error {
	p.mu.Lock()
	if p.alive {
		p.mu.Unlock()
		return nil
	}
	p.startedAt = time.Now()
	www := filepath.Join(p.dir, "www")
	os.MkdirAll(www, 0o755)
	cmd := exec.Command(p.python, "-m", "http.server", strconv.Itoa(p.port), "--bind", "127.0.0.1")
	cmd.Dir = www
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("ensure_service: %w", err)
	}
	p.cmd, p.alive = cmd, true
	p.mu.Unlock()
	go func() {
		cmd.Wait()
		p.mu.Lock()
		if p.cmd == cmd {
			p.alive = false
		}
		p.mu.Unlock()
		p.d.Signal("service.web") // liveness: a pass at once
	}()
	url := fmt.Sprintf("http://127.0.0.1:%d/", p.port)
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return errors.New("verify_http: no answer within 10s")
}

func (p *procPipeline) Observe(ctx context.Context) ([]daemon.Observation, error) {
	obs := make([]daemon.Observation, 0, p.files+1)
	p.mu.Lock()
	alive := p.alive
	pid := 0
	if p.cmd != nil && p.cmd.Process != nil {
		pid = p.cmd.Process.Pid
	}
	p.mu.Unlock()
	o := daemon.Observation{Resource: "service.web", Healthy: alive, StepID: "service.web/verify_http"}
	if !alive {
		o.Detail = "service process exited"
	} else {
		o.Detail = fmt.Sprintf("process %d running", pid)
	}
	obs = append(obs, o)
	for i := range p.files {
		addr := fmt.Sprintf("file.f%03d", i)
		_, err := os.Stat(p.filePath(addr))
		o := daemon.Observation{Resource: addr, Healthy: err == nil}
		if err != nil {
			o.Detail = "file missing"
		}
		obs = append(obs, o)
	}
	return obs, nil
}

func (p *procPipeline) PatchArtifact(ctx context.Context, a daemon.ArtifactPatch) (string, error) {
	return "", fmt.Errorf("bench pipeline: %w", daemon.ErrNoPatch)
}

func (p *procPipeline) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.alive || p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

func (p *procPipeline) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Kill()
	}
}
