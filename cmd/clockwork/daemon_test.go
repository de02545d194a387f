package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/clockwork-iac/clockwork/internal/daemon"
	"github.com/clockwork-iac/clockwork/internal/state"
)

// daemonProc is a `clockwork daemon` started by a test.
type daemonProc struct {
	cmd    *exec.Cmd
	dir    string
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan error
}

func (d *daemonProc) log() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stderr.String()
}

type lockedWriter struct{ d *daemonProc }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.d.mu.Lock()
	defer w.d.mu.Unlock()
	return w.d.stderr.Write(b)
}

// startDaemonBin runs the real binary's daemon on dir until the test ends.
// A short policy in clockwork.hcl keeps backoff and cooldown in
// milliseconds.
func startDaemonBin(t *testing.T, dir string, args ...string) *daemonProc {
	t.Helper()
	bin := clockworkBinary(t)
	d := &daemonProc{dir: dir, done: make(chan error, 1)}
	d.cmd = exec.Command(bin, append([]string{"daemon", "--chdir", dir, "--listen", "127.0.0.1:0", "--interval", "1m", "--retry-backoff", "20ms"}, args...)...)
	d.cmd.Stderr = lockedWriter{d}
	d.cmd.Stdout = lockedWriter{d}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		d.stop(t)
		killServicesIn(dir)
		if t.Failed() {
			t.Logf("daemon log:\n%s", d.log())
			logs, _ := filepath.Glob(filepath.Join(dir, ".clockwork", "logs", "*", "*"))
			for _, l := range logs {
				if b, err := os.ReadFile(l); err == nil {
					t.Logf("%s:\n%s", l, b)
				}
			}
			if evs, err := daemon.ReadEvents(daemon.EventsPath(dir)); err == nil {
				for _, e := range evs {
					t.Log(e.String())
				}
			}
		}
	})
	return d
}

// stop sends SIGTERM and waits for a clean exit (status 0).
func (d *daemonProc) stop(t *testing.T) {
	t.Helper()
	if d.cmd.ProcessState != nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("daemon exited with %v after SIGTERM", err)
		}
	case <-time.After(20 * time.Second):
		_ = d.cmd.Process.Kill()
		t.Errorf("daemon did not stop within 20s of SIGTERM")
		<-d.done
	}
}

func killServicesIn(dir string) {
	pids, _ := filepath.Glob(filepath.Join(dir, ".clockwork", "services", "*.pid"))
	for _, f := range pids {
		if pid := readPID(f); pid > 1 {
			syscall.Kill(-pid, syscall.SIGKILL)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func pickPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitHTTP waits until url answers 200 and returns when it did.
func waitHTTP(t *testing.T, url string, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	c := &http.Client{Timeout: time.Second}
	for {
		resp, err := c.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return time.Now()
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer 200 within %s (last error %v)", url, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitRestored waits until the daemon has recorded n successful applies or
// reconciles of resource, so a kill does not land in the middle of one.
func waitRestored(t *testing.T, dir, resource string, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		evs, _ := daemon.ReadEvents(daemon.EventsPath(dir))
		ok := 0
		for _, e := range evs {
			if e.Kind == daemon.EventReconcile && e.Resource == resource && e.Result == "ok" {
				ok++
			}
		}
		if ok >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon did not finish reconcile %d of %s", n, resource)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fastPolicyHCL(t *testing.T, dir string) {
	t.Helper()
	must(t, os.WriteFile(filepath.Join(dir, "clockwork.hcl"), []byte(`daemon {
  backoff_base       = "50ms"
  backoff_cap        = "200ms"
  cooldown           = "100ms"
  healthy_reset      = "100ms"
}
`), 0o644))
}

// webConfig copies examples/web into a temporary directory.
func webConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"main.cw", "index.html.tpl"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "web", f))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	fastPolicyHCL(t, dir)
	return dir
}

// The example web service is killed (SIGKILL) twice; each time the daemon
// hears of it through the PID watch, restarts it with its unchanged steps,
// and HTTP answers again. SIGTERM stops the daemon cleanly.
func TestDaemonRestartsKilledWebService(t *testing.T) {
	dir := webConfig(t)
	port := pickPort(t)
	d := startDaemonBin(t, dir, "--var", fmt.Sprintf("port=%d", port))
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	waitHTTP(t, url, 20*time.Second)
	pidFile := filepath.Join(dir, ".clockwork", "services", "clockwork-example-web.pid")
	for i := range 2 {
		waitRestored(t, dir, "service.web", i+1)
		time.Sleep(300 * time.Millisecond) // healthy_reset: backoff forgotten
		old := readPID(pidFile)
		must(t, syscall.Kill(old, syscall.SIGKILL))
		killed := time.Now()
		back := waitHTTP(t, url, 10*time.Second)
		if pid := readPID(pidFile); pid == old {
			t.Fatalf("kill %d: pid file still names the killed process %d", i+1, old)
		}
		t.Logf("kill %d: answering again after %s", i+1, back.Sub(killed).Round(time.Millisecond))
	}
	waitRestored(t, dir, "service.web", 3)
	evs, err := daemon.ReadEvents(daemon.EventsPath(dir))
	must(t, err)
	drift, restored := 0, 0
	for _, e := range evs {
		if e.Resource != "service.web" {
			continue
		}
		if e.Kind == daemon.EventDrift {
			drift++
		}
		if e.Kind == daemon.EventReconcile && e.Result == "ok" && strings.Contains(e.Seen, "not running") {
			restored++
		}
	}
	if drift < 2 || restored < 2 {
		t.Errorf("events: %d drifts and %d restoring reconciles of service.web, want 2 each", drift, restored)
	}
	d.stop(t)
	if !strings.Contains(d.log(), "daemon stopped") {
		t.Errorf("no clean stop in the daemon's log:\n%s", d.log())
	}
	// The CLI reads what the daemon recorded.
	out, err := exec.Command(clockworkBinary(t), "events", "--chdir", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "drift service.web") {
		t.Errorf("clockwork events: %v\n%s", err, out)
	}
}

// The same with a container through the Podman engine: the container is
// removed behind the daemon's back; the engine's event (or the next pass)
// makes the daemon recreate it, and HTTP answers again.
func TestDaemonRecreatesContainer(t *testing.T) {
	if os.Getenv("DOCKER_HOST") == "" {
		if os.Getenv("CW_REQUIRE_ENGINE") == "1" {
			t.Fatal("CW_REQUIRE_ENGINE=1 but DOCKER_HOST is unset: run eval \"$(scripts/setup-podman.sh)\"")
		}
		t.Skip("no container engine: DOCKER_HOST is unset (eval \"$(scripts/setup-podman.sh)\" to run this)")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker CLI to remove the container with")
	}
	dir := t.TempDir()
	fastPolicyHCL(t, dir)
	name := fmt.Sprintf("cw-daemon-test-%d", os.Getpid())
	rm := func() { exec.Command("docker", "rm", "-f", name).Run() }
	rm()
	t.Cleanup(rm)
	port := pickPort(t)
	must(t, os.WriteFile(filepath.Join(dir, "main.cw"), fmt.Appendf(nil, `resource "service" "web" {
  name    = %q
  image   = "localhost/clockwork-busybox:latest"
  command = ["sh", "-c", "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 80 -h /www"]
  ports   = [{ external = %d, internal = 80 }]

  health_check {
    path     = "/"
    interval = "1s"
    retries  = 15
  }
}
`, name, port), 0o644))
	startDaemonBin(t, dir)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	waitHTTP(t, url, 60*time.Second)
	waitRestored(t, dir, "service.web", 1)
	id1, err := exec.Command("docker", "inspect", "-f", "{{.Id}}", name).Output()
	must(t, err)
	time.Sleep(300 * time.Millisecond)
	if out, err := exec.Command("docker", "rm", "-f", name).CombinedOutput(); err != nil {
		t.Fatalf("docker rm: %v\n%s", err, out)
	}
	removed := time.Now()
	back := waitHTTP(t, url, 30*time.Second)
	t.Logf("container answering again %s after it was removed", back.Sub(removed).Round(time.Millisecond))
	id2, err := exec.Command("docker", "inspect", "-f", "{{.Id}}", name).Output()
	must(t, err)
	if bytes.Equal(id1, id2) {
		t.Errorf("container id unchanged (%s): it was not recreated", id1)
	}
	evs, _ := daemon.ReadEvents(daemon.EventsPath(dir))
	found := false
	for _, e := range evs {
		if e.Kind == daemon.EventDrift && e.Resource == "service.web" && strings.Contains(e.Seen, "container "+name) {
			found = true
		}
	}
	if !found {
		t.Error("no drift event about the container")
	}
}

// The daemon and a manual `clockwork apply` never run at the same time:
// while the daemon restores the service, `clockwork apply` fails at once
// naming the lock; while an apply holds the lock, the daemon records that
// it waits and restores the service only after the lock is released.
func TestDaemonAndApplyNeverOverlap(t *testing.T) {
	dir := t.TempDir()
	fastPolicyHCL(t, dir)
	port := pickPort(t)
	must(t, os.MkdirAll(filepath.Join(dir, "site"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "site", "index.html"), []byte("ok\n"), 0o644))
	// The service needs a second to answer, so a restore holds the lock
	// that long.
	must(t, os.WriteFile(filepath.Join(dir, "main.cw"), fmt.Appendf(nil, `resource "service" "slow" {
  name    = "cw-daemon-slow-%d"
  command = ["sh", "-c", "sleep 1; exec python3 -m http.server %d --bind 127.0.0.1 --directory site"]

  health_check {
    port     = %d
    interval = "1s"
    retries  = 10
  }
}
`, os.Getpid(), port, port), 0o644))
	bin := clockworkBinary(t)
	startDaemonBin(t, dir)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	waitHTTP(t, url, 20*time.Second)
	pidFile := filepath.Join(dir, ".clockwork", "services", fmt.Sprintf("cw-daemon-slow-%d.pid", os.Getpid()))
	lockFile := filepath.Join(dir, ".clockwork", state.LockFile)

	// 1. The daemon restores; a manual apply meanwhile is refused at once.
	waitRestored(t, dir, "service.slow", 1)
	time.Sleep(300 * time.Millisecond)
	must(t, syscall.Kill(readPID(pidFile), syscall.SIGKILL))
	deadline := time.Now().Add(10 * time.Second)
	for {
		var info state.LockInfo
		if b, err := os.ReadFile(lockFile); err == nil && json.Unmarshal(b, &info) == nil && info.Operation == "daemon" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the daemon never took the state lock to restore the service")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var stderr bytes.Buffer
	apply := exec.Command(bin, "apply", "--chdir", dir)
	apply.Stderr = &stderr
	t0 := time.Now()
	if err := apply.Run(); err == nil {
		t.Fatal("clockwork apply ran while the daemon held the state lock")
	}
	if !strings.Contains(stderr.String(), "lock") || time.Since(t0) > 3*time.Second {
		t.Errorf("apply beside the daemon: want an immediate lock error, got after %s:\n%s", time.Since(t0), stderr.String())
	}
	waitHTTP(t, url, 10*time.Second)

	// 2. A manual apply holds the lock (the same lock `clockwork apply`
	// takes); the service dies; the daemon waits for the lock.
	waitRestored(t, dir, "service.slow", 2)
	time.Sleep(300 * time.Millisecond)
	var lock *state.Lock
	for deadline := time.Now().Add(10 * time.Second); ; {
		var err error
		if lock, err = state.Open(filepath.Join(dir, ".clockwork")).Lock(context.Background(), "apply"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cannot take the state lock: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	must(t, syscall.Kill(readPID(pidFile), syscall.SIGKILL))
	evDeadline := time.Now().Add(10 * time.Second)
	for {
		evs, _ := daemon.ReadEvents(daemon.EventsPath(dir))
		busy := false
		for _, e := range evs {
			if e.Kind == daemon.EventError && strings.Contains(e.Rule, "never run beside a manual apply") {
				busy = true
			}
		}
		if busy {
			break
		}
		if time.Now().After(evDeadline) {
			lock.Unlock()
			t.Fatal("the daemon never reported the state lock held by the apply")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if c, err := (&http.Client{Timeout: 500 * time.Millisecond}).Get(url); err == nil {
		c.Body.Close()
		lock.Unlock()
		t.Fatal("the service answers although the daemon could not have restored it under the held lock")
	}
	must(t, lock.Unlock())
	waitHTTP(t, url, 15*time.Second)
}

// A port taken by another process: the daemon proposes a .cw patch and
// applies nothing until `clockwork approve ID`; then the service runs on
// the new port and the comment in the edited .cw is still there.
func TestDaemonPortProposalApprovedByCLI(t *testing.T) {
	dir := t.TempDir()
	fastPolicyHCL(t, dir)
	squat, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer squat.Close()
	port := squat.Addr().(*net.TCPAddr).Port
	must(t, os.MkdirAll(filepath.Join(dir, "site"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "site", "health"), []byte("ok\n"), 0o644))
	cw := fmt.Sprintf(`variable "port" {
  type    = number
  default = %d # chosen by ops: keep this comment
}

resource "service" "web" {
  name    = "cw-daemon-cliport-%d"
  command = ["python3", "-m", "http.server", tostring(var.port), "--bind", "127.0.0.1", "--directory", "site"]
  ports   = [{ external = var.port, internal = var.port }]

  health_check {
    path     = "/health"
    port     = var.port
    interval = "1s"
    retries  = 3
  }
}
`, port, os.Getpid())
	must(t, os.WriteFile(filepath.Join(dir, "main.cw"), []byte(cw), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "clockwork.hcl"), []byte("daemon {\n  backoff_base = \"50ms\"\n  backoff_cap = \"200ms\"\n  reconcile_attempts = 1\n}\n"), 0o644))
	bin := clockworkBinary(t)
	startDaemonBin(t, dir)

	var id string
	for deadline := time.Now().Add(30 * time.Second); id == ""; {
		out, err := exec.Command(bin, "proposals", "--chdir", dir, "--json").Output()
		must(t, err)
		var ps []daemon.Proposal
		must(t, json.Unmarshal(out, &ps))
		if len(ps) > 0 {
			id = ps[0].ID
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no proposal within 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if got, _ := os.ReadFile(filepath.Join(dir, "main.cw")); string(got) != cw {
		t.Fatalf("main.cw changed before approval:\n%s", got)
	}
	out, err := exec.Command(bin, "approve", id, "--chdir", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("clockwork approve: %v\n%s", err, out)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "main.cw"))
	if !strings.Contains(string(got), "# chosen by ops: keep this comment") {
		t.Errorf("the comment did not survive:\n%s", got)
	}
	newPort := 0
	for _, line := range strings.Split(string(got), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "default" {
			newPort, _ = strconv.Atoi(f[2])
		}
	}
	if newPort == 0 || newPort == port {
		t.Fatalf("port not moved in main.cw:\n%s", got)
	}
	waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/health", newPort), 20*time.Second)
	if out, err := exec.Command(bin, "approve", id, "--chdir", dir).CombinedOutput(); err == nil {
		t.Errorf("approving twice succeeded:\n%s", out)
	}
}
