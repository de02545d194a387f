package facts

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestGatherRealMachine runs Gather against this machine's PATH, where bash,
// sh, python3 and git are installed.
func TestGatherRealMachine(t *testing.T) {
	for _, name := range []string{"bash", "sh", "python3", "git"} {
		if _, err := exec.LookPath(name); err != nil {
			t.Skipf("%s not installed here", name)
		}
	}
	start := time.Now()
	f := Gather(t.Context(), os.Environ())
	elapsed := time.Since(start)
	if elapsed > 2*time.Second {
		t.Errorf("Gather took %s; want well under 2s", elapsed)
	}
	t.Logf("Gather took %s", elapsed)
	for _, name := range []string{"bash", "python3"} {
		rt := f.Runtimes[name]
		if !rt.Present || rt.Version == "" || !filepath.IsAbs(rt.Path) {
			t.Errorf("%s = %+v; want present with a version and an absolute path", name, rt)
		}
		if strings.ContainsAny(rt.Version, " \n") {
			t.Errorf("%s version %q is not a bare version", name, rt.Version)
		}
	}
	if sh := f.Runtimes["sh"]; !sh.Present || sh.Version != "" {
		t.Errorf("sh = %+v; want present without a version", sh)
	}
	if !f.Git.Present || f.Git.Version == "" {
		t.Errorf("git = %+v; want present with a version", f.Git)
	}
	if len(f.Runtimes) != len(AllowedRuntimes()) {
		t.Errorf("runtimes has %d entries; want one per allowlisted runtime (%d)", len(f.Runtimes), len(AllowedRuntimes()))
	}
	if !f.Has("bash") || f.Has("no-such-runtime") {
		t.Errorf("Has is wrong: bash=%v no-such-runtime=%v", f.Has("bash"), f.Has("no-such-runtime"))
	}
}

// TestGatherEmptyPath: with nothing on PATH, every runtime and git are
// absent, although the process's own PATH has them.
func TestGatherEmptyPath(t *testing.T) {
	for _, path := range []string{"", t.TempDir()} {
		t.Run("PATH="+path, func(t *testing.T) {
			f := Gather(t.Context(), []string{"PATH=" + path, "DOCKER_HOST=unix:///nonexistent/docker.sock"})
			for _, name := range AllowedRuntimes() {
				if diff := cmp.Diff(Runtime{}, f.Runtimes[name]); diff != "" {
					t.Errorf("%s (-want +got):\n%s", name, diff)
				}
			}
			if diff := cmp.Diff(Runtime{}, f.Git); diff != "" {
				t.Errorf("git (-want +got):\n%s", diff)
			}
			if f.Engine.Available || f.Engine.Error == "" {
				t.Errorf("engine = %+v; want unavailable with a reason", f.Engine)
			}
		})
	}
}

func writeTool(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestGatherProbes uses tools of our own making on PATH to check version
// parsing, failing probes and the probe timeout.
func TestGatherProbes(t *testing.T) {
	dir := t.TempDir()
	writeTool(t, dir, "python3", `echo "Python 3.99.1"`)
	writeTool(t, dir, "node", `echo v42.1.0`)
	writeTool(t, dir, "deno", `echo "deno 2.0.0 (stable, release, x86_64-unknown-linux-gnu)"; echo "v8 12.9"`)
	writeTool(t, dir, "go", `echo "go version go1.99.2 linux/amd64"`)
	writeTool(t, dir, "bash", `echo "no version configured" >&2; exit 3`)
	writeTool(t, dir, "git", `exec /bin/sleep 5`)
	// sh present but not executable: not a runtime.
	if err := os.WriteFile(filepath.Join(dir, "sh"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g := gatherer{probeTimeout: 300 * time.Millisecond, engineTimeout: 200 * time.Millisecond, sockets: []string{}}
	// Tools need /bin for sleep and sh; the relative entry must be ignored.
	start := time.Now()
	f := g.gather(t.Context(), []string{"PATH=relative:" + dir + ":/nonexistent"})
	if time.Since(start) > 2*time.Second {
		t.Errorf("gather took %s; the git probe should have timed out after 300ms", time.Since(start))
	}
	want := map[string]Runtime{
		"python3": {Present: true, Path: filepath.Join(dir, "python3"), Version: "3.99.1"},
		"node":    {Present: true, Path: filepath.Join(dir, "node"), Version: "42.1.0"},
		"deno":    {Present: true, Path: filepath.Join(dir, "deno"), Version: "2.0.0"},
		"go":      {Present: true, Path: filepath.Join(dir, "go"), Version: "1.99.2"},
		"bash":    {Path: filepath.Join(dir, "bash"), Error: "bash --version: exit status 3: no version configured"},
		"sh":      {},
	}
	if diff := cmp.Diff(want, f.Runtimes); diff != "" {
		t.Errorf("runtimes (-want +got):\n%s", diff)
	}
	if f.Git.Present || !strings.Contains(f.Git.Error, "timed out") {
		t.Errorf("git = %+v; want absent, timed out", f.Git)
	}
	if f.Engine.Available || !strings.Contains(f.Engine.Error, "no container engine socket found") {
		t.Errorf("engine = %+v; want no socket found", f.Engine)
	}
}

// fakeEngine serves the two Engine API endpoints Gather uses on a unix socket.
func fakeEngine(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "engine.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		switch {
		case strings.HasSuffix(r.URL.Path, "/_ping"):
			w.Write([]byte("OK"))
		case strings.HasSuffix(r.URL.Path, "/version"):
			json.NewEncoder(w).Encode(map[string]any{
				"Version": "5.4.2", "ApiVersion": "1.41", "Platform": map[string]string{"Name": "Podman Engine"},
			})
		default:
			http.NotFound(w, r)
		}
	}))
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return sock
}

func TestGatherEngine(t *testing.T) {
	sock := fakeEngine(t)
	dead := filepath.Join(t.TempDir(), "dead.sock")
	ln, err := net.Listen("unix", dead)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // the socket file stays, nobody answers

	tests := []struct {
		name    string
		environ []string
		sockets []string
		want    Engine
		wantErr string
	}{
		{
			name:    "DOCKER_HOST",
			environ: []string{"DOCKER_HOST=unix://" + sock},
			sockets: []string{},
			want:    Engine{Available: true, Host: "unix://" + sock, Version: "5.4.2", Name: "Podman Engine", APIVersion: "1.41"},
		},
		{
			name:    "standard socket after a dead one",
			sockets: []string{"/nonexistent.sock", dead, sock},
			want:    Engine{Available: true, Host: "unix://" + sock, Version: "5.4.2", Name: "Podman Engine", APIVersion: "1.41"},
		},
		{
			name:    "DOCKER_HOST wins over sockets",
			environ: []string{"DOCKER_HOST=unix://" + dead},
			sockets: []string{sock},
			wantErr: "unix://" + dead,
		},
		{
			name:    "nothing",
			sockets: []string{"/nonexistent.sock"},
			wantErr: "no container engine socket found (DOCKER_HOST is not set; looked for /nonexistent.sock)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := gatherer{probeTimeout: time.Second, engineTimeout: time.Second, sockets: tt.sockets}
			got := g.engine(t.Context(), tt.environ)
			if tt.wantErr != "" {
				if got.Available || !strings.Contains(got.Error, tt.wantErr) {
					t.Fatalf("engine = %+v; want unavailable with error containing %q", got, tt.wantErr)
				}
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("engine (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEngineTimeout(t *testing.T) {
	// A socket that accepts but never answers must not hold Gather up.
	sock := filepath.Join(t.TempDir(), "slow.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	g := gatherer{probeTimeout: time.Second, engineTimeout: 200 * time.Millisecond}
	start := time.Now()
	got := g.engine(context.Background(), []string{"DOCKER_HOST=unix://" + sock})
	if got.Available || time.Since(start) > time.Second {
		t.Errorf("engine = %+v after %s; want unavailable within the timeout", got, time.Since(start))
	}
}

func TestJSONAndHuman(t *testing.T) {
	f := &Facts{
		OS: "linux", Arch: "amd64",
		Runtimes: map[string]Runtime{
			"bash":    {Present: true, Path: "/usr/bin/bash", Version: "5.2.15"},
			"sh":      {Present: true, Path: "/usr/bin/sh"},
			"python3": {Path: "/shims/python3", Error: "python3 --version: exit status 1"},
		},
		Git:    Runtime{Present: true, Path: "/usr/bin/git", Version: "2.39.5"},
		Engine: Engine{Error: "no container engine socket found"},
	}
	b, err := f.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back Facts
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f, &back); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
	b2, _ := f.JSON()
	if !bytes.Equal(b, b2) || !bytes.HasSuffix(b, []byte("}\n")) {
		t.Errorf("JSON is not canonical:\n%s", b)
	}

	var buf bytes.Buffer
	Human(&buf, f)
	want := `os       linux
arch     amd64
bash     5.2.15    /usr/bin/bash
sh       present   /usr/bin/sh
python3  unusable  python3 --version: exit status 1
node     missing
deno     missing
go       missing
git      2.39.5  /usr/bin/git
engine   none    no container engine socket found
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("Human (-want +got):\n%s", diff)
	}
}
