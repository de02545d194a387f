package builtin

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

// groupMembers lists the live processes of process group pgid.
func groupMembers(t *testing.T, pgid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc")
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(data)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 2 && fields[0] != "Z" && fields[2] == strconv.Itoa(pgid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitGone waits until process group pgid has no live member.
func waitGone(t *testing.T, pgid int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for len(groupMembers(t, pgid)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still has %v", pgid, groupMembers(t, pgid))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func pidOf(t *testing.T, r result) int {
	t.Helper()
	pid, err := strconv.Atoi(r.outputs["PID"])
	if err != nil {
		t.Fatalf("PID output %q: %v", r.outputs["PID"], err)
	}
	t.Cleanup(func() { syscall.Kill(-pid, syscall.SIGKILL) })
	return pid
}

func TestProcessService(t *testing.T) {
	s := newSandbox(t)
	f := localFacts(t)
	os.Mkdir(filepath.Join(s.root, "wd"), 0o755)
	ensure := func(hash string) (*contract.Bundle, string) {
		st := step("service.bg", contract.StepEnsureService, map[string]any{
			"kind": "process", "name": "bg",
			// A child in the same group, so that stopping must stop the group.
			"command":     []any{"sh", "-c", `sleep 1000 & echo "started $GREETING in $PWD, secret ${TOKEN:+set}, cw ${CW_ROOT:-unset}"; wait`},
			"environment": map[string]any{"GREETING": "hello", "TOKEN": map[string]any{"fromEnv": "CW_SECRET_T"}},
			"workdir":     "wd",
		})
		st.ConfigHash = hash
		return s.compile(t, f, st), st.ID
	}
	remove := step("service.bg", contract.StepRemoveService, map[string]any{"kind": "process", "name": "bg"})
	secret := "CW_SECRET_T=x"
	logfile := filepath.Join(s.state, "services", "bg.log")

	b, id := ensure("sha256:one")
	pid1 := pidOf(t, s.run(t, b, id, secret).ok(t).says(t, "started bg"))
	if members := groupMembers(t, pid1); len(members) < 2 {
		t.Fatalf("process group %d has %v; want the shell and its sleep", pid1, members)
	}
	time.Sleep(100 * time.Millisecond)
	wantLog := "started hello in " + filepath.Join(s.root, "wd") + ", secret set, cw unset"
	if log := mustRead(t, logfile); !strings.Contains(log, wantLog) {
		t.Errorf("log lacks %q:\n%s", wantLog, log)
	}
	if got := strings.TrimSpace(mustRead(t, filepath.Join(s.state, "services", "bg.pid"))); got != strconv.Itoa(pid1) {
		t.Errorf("pid file = %q; want %d", got, pid1)
	}

	// Same configuration: a no-op.
	r := s.run(t, b, id, secret).ok(t).says(t, "already running")
	if pidOf(t, r) != pid1 {
		t.Errorf("second ensure changed the pid")
	}

	// Changed configuration: restarted, the old group stopped.
	b, id = ensure("sha256:two")
	pid2 := pidOf(t, s.run(t, b, id, secret).ok(t).says(t, "configuration changed"))
	if pid2 == pid1 {
		t.Fatalf("not restarted: pid %d", pid2)
	}
	waitGone(t, pid1)

	// Killed behind our back: started again.
	syscall.Kill(-pid2, syscall.SIGKILL)
	waitGone(t, pid2)
	pid3 := pidOf(t, s.run(t, b, id, secret).ok(t).says(t, "is gone): starting bg"))
	if pid3 == pid2 {
		t.Fatalf("not restarted after kill")
	}

	// Remove stops the whole group and forgets it.
	b = s.compile(t, f, remove)
	s.run(t, b, remove.ID).ok(t).says(t, "stopped bg")
	waitGone(t, pid3)
	for _, ext := range []string{"pid", "hash", "start"} {
		if _, err := os.Stat(filepath.Join(s.state, "services", "bg."+ext)); !os.IsNotExist(err) {
			t.Errorf("bg.%s still there: %v", ext, err)
		}
	}
	s.run(t, b, remove.ID).ok(t).says(t, "not running: bg")
}

func TestProcessServiceStopsStubbornGroup(t *testing.T) {
	s := newSandbox(t)
	f := localFacts(t)
	st := step("service.stubborn", contract.StepEnsureService, map[string]any{
		"kind": "process", "name": "stubborn",
		"command": []any{"sh", "-c", `trap "" TERM; sleep 1000 & wait; sleep 1000`},
	})
	b := s.compile(t, f, st)
	pid := pidOf(t, s.run(t, b, st.ID).ok(t))
	remove := step("service.stubborn", contract.StepRemoveService, map[string]any{"kind": "process", "name": "stubborn", "stop_timeout": int64(1)})
	b = s.compile(t, f, remove)
	start := time.Now()
	s.run(t, b, remove.ID).ok(t).says(t, "sending KILL")
	waitGone(t, pid)
	if d := time.Since(start); d < time.Second || d > 4*time.Second {
		t.Errorf("stop took %s; want about 1s (TERM, wait stop_timeout, KILL)", d)
	}
}

func TestProcessServiceFailsFast(t *testing.T) {
	s := newSandbox(t)
	st := step("service.bad", contract.StepEnsureService, map[string]any{
		"kind": "process", "name": "bad",
		"command": []any{"sh", "-c", "echo cannot bind port >&2; exit 3"},
	})
	b := s.compile(t, localFacts(t), st)
	s.run(t, b, st.ID).fails(t, "cannot bind port")
}

// TestWebService is the web example in small: a python3 http.server serving
// a directory, checked by verify_http, then removed.
func TestWebService(t *testing.T) {
	s := newSandbox(t)
	f := localFacts(t)
	port := freePort(t)
	steps := []contract.Step{
		step("file.index", contract.StepEnsureFile, map[string]any{"path": "site/index.html", "mode": "0644", "content": "<h1>clockwork</h1>\n"}),
		step("service.web", contract.StepEnsureService, map[string]any{
			"kind": "process", "name": "web", "workdir": "site",
			"command": []any{"python3", "-m", "http.server", "--bind", "127.0.0.1", strconv.Itoa(port)},
		}),
		step("service.web", contract.StepVerifyHTTP, map[string]any{
			"url": fmt.Sprintf("http://127.0.0.1:%d/", port), "expect_body": "clockwork", "retries": int64(20), "interval": 0.2}),
	}
	b := s.compile(t, f, steps...)
	for _, st := range steps {
		r := s.run(t, b, st.ID).ok(t)
		if st.Name == contract.StepEnsureService {
			pidOf(t, r)
		}
	}
	remove := step("service.web", contract.StepRemoveService, map[string]any{"kind": "process", "name": "web"})
	b = s.compile(t, f, remove)
	s.run(t, b, remove.ID).ok(t).says(t, "stopped web")
}
