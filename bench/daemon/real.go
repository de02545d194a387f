package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/clockwork-iac/clockwork/internal/daemon"
	"github.com/clockwork-iac/clockwork/internal/daemon/policy"
	"github.com/clockwork-iac/clockwork/internal/pipeline"
)

// runReal is -real: the daemon over the real pipeline (intake -> assembly
// -> forge -> executor, pipeline.NewDaemonPipeline) on a configuration like
// examples/web (a python3 http.server process service with a health check)
// plus resources-1 file resources. The service is restarted by its real
// ensure_service and verify_http steps; its death is seen through the pidfd
// watch. CPU is this process's own (passes run in-process; steps are child
// processes and only run on a reconcile).
func runReal(kills, resources int, idle, interval, reset time.Duration, asJSON, verbose bool) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "clockwork-daemon-bench-real-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	port, err := freePort()
	if err != nil {
		return err
	}
	var cw strings.Builder
	fmt.Fprintf(&cw, `resource "file" "health" {
  path    = "site/health"
  content = "ok\n"
}

resource "service" "web" {
  name    = "clockwork-bench-web-%d"
  command = ["python3", "-m", "http.server", "%d", "--bind", "127.0.0.1", "--directory", "site"]

  health_check {
    path     = "/health"
    port     = %d
    interval = "1s"
    retries  = 20
  }

  depends_on = [file.health]
}
`, os.Getpid(), port, port)
	for i := range max(resources-2, 0) {
		fmt.Fprintf(&cw, "\nresource \"file\" \"f%03d\" {\n  path    = \"files/f%03d.txt\"\n  content = \"%d\\n\"\n}\n", i, i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.cw"), []byte(cw.String()), 0o644); err != nil {
		return err
	}
	pol := policy.Default()
	pol.HealthyReset = reset
	level := slog.LevelWarn + 100
	if verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	pipe := pipeline.NewDaemonPipeline(pipeline.Options{Dir: dir, Environ: os.Environ(), Logger: logger}, pipeline.DaemonOptions{})
	defer pipe.Close()
	d := daemon.New(daemon.Config{Dir: dir, Interval: interval, Listen: "127.0.0.1:0", Policy: &pol, NoWatch: false}, pipe, nil, logger)
	pipe.Watch(ctx, d.Signal)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	pidFile := filepath.Join(dir, ".clockwork", "services", fmt.Sprintf("clockwork-bench-web-%d.pid", os.Getpid()))
	defer func() {
		if pid := readPID(pidFile); pid > 1 {
			syscall.Kill(-pid, syscall.SIGKILL)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}()

	url := fmt.Sprintf("http://127.0.0.1:%d/health", port)
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
	// settled: the last pass is over and nothing is unhealthy.
	settled := func() bool {
		st := d.Status()
		if st.LastPass == nil {
			return false
		}
		for _, r := range st.Resources {
			if r.Health == daemon.HealthUnhealthy {
				return false
			}
		}
		return answers()
	}
	if err := waitUntil(60*time.Second, settled); err != nil {
		return fmt.Errorf("service never answered: %w", err)
	}

	var lat, detect []time.Duration
	for i := range kills {
		time.Sleep(reset + 300*time.Millisecond) // healthy long enough that backoff has reset
		if err := waitUntil(30*time.Second, settled); err != nil {
			return fmt.Errorf("kill %d: not settled: %w", i, err)
		}
		pid := readPID(pidFile)
		if pid <= 1 {
			return fmt.Errorf("kill %d: no service process", i)
		}
		t0 := time.Now()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return fmt.Errorf("kill %d: %w", i, err)
		}
		if err := waitUntil(30*time.Second, func() bool { return readPID(pidFile) != pid && answers() }); err != nil {
			return fmt.Errorf("kill %d: service did not come back: %w", i, err)
		}
		lat = append(lat, time.Since(t0))
		// The reconcile's own health check finishes after the first answer:
		// wait for it so the next kill does not land inside it.
		if err := waitUntil(30*time.Second, func() bool { return restores(dir) > i }); err != nil {
			return fmt.Errorf("kill %d: reconcile not recorded: %w", i, err)
		}
		if at, ok := driftAfter(dir, t0); ok {
			detect = append(detect, at.Sub(t0))
		}
		if verbose {
			fmt.Fprintf(os.Stderr, "kill %d: %s\n", i+1, lat[len(lat)-1].Round(time.Millisecond))
		}
	}
	slices.Sort(lat)
	slices.Sort(detect)

	if err := waitUntil(30*time.Second, settled); err != nil {
		return fmt.Errorf("not settled before idle: %w", err)
	}
	res := measureIdle(d, idle, interval, kills, resources, lat, detect)
	cancel()
	if err := <-done; err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Printf("real pipeline: kill -> HTTP answering again, %d kills: p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms (target p99 < 2000 ms)\n", res.Kills, res.P50ms, res.P90ms, res.P99ms, res.MaxMs)
	fmt.Printf("  of which kill -> drift recorded by a pass (pidfd signal + plan + observe): p50 %.0f ms, p99 %.0f ms; the rest is the ensure_service and verify_http steps\n", res.DetectP50ms, res.DetectP99ms)
	fmt.Printf("idle with %d resources, %s interval: %.2f%% CPU over %.0f s (%d passes), RSS %.1f MB (targets < 1%%, < 50 MB)\n",
		res.Resources, interval, res.IdleCPUPercent, res.IdleSeconds, res.IdlePasses, res.RSSMB)
	return nil
}

func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// restores counts the daemon's successful reconciles of service.web after a
// drift.
func restores(dir string) int {
	evs, _ := daemon.ReadEvents(daemon.EventsPath(dir))
	n := 0
	for _, e := range evs {
		if e.Kind == daemon.EventReconcile && e.Resource == "service.web" && e.Result == "ok" && strings.Contains(e.Seen, "not running") {
			n++
		}
	}
	return n
}

// driftAfter returns when the daemon recorded service.web's drift after t0.
func driftAfter(dir string, t0 time.Time) (time.Time, bool) {
	evs, _ := daemon.ReadEvents(daemon.EventsPath(dir))
	for _, e := range evs {
		if e.Kind == daemon.EventDrift && e.Resource == "service.web" && e.Time.After(t0) {
			return e.Time, true
		}
	}
	return time.Time{}, false
}
