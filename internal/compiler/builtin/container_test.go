package builtin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clockwork-iac/clockwork/internal/container"
	"github.com/clockwork-iac/clockwork/internal/contract"
)

func TestContainerCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		step contract.Step
		want string
	}{
		{"no image", step("service.web", contract.StepEnsureService, map[string]any{"kind": "container", "name": "web"}), `missing arg "image"`},
		{"bad port", step("service.web", contract.StepEnsureService, map[string]any{"kind": "container", "name": "web", "image": "x",
			"ports": []any{map[string]any{"external": int64(8080), "internal": int64(0)}}}), "ports[0].internal must be a port number"},
		{"bad protocol", step("service.web", contract.StepEnsureService, map[string]any{"kind": "container", "name": "web", "image": "x",
			"ports": []any{map[string]any{"external": int64(8080), "internal": int64(80), "protocol": "sctp"}}}), `ports[0].protocol must be "tcp" or "udp"`},
		{"bad host_ip", step("service.web", contract.StepEnsureService, map[string]any{"kind": "container", "name": "web", "image": "x",
			"ports": []any{map[string]any{"external": int64(8080), "internal": int64(80), "host_ip": "$(reboot)"}}}), "host_ip must be an IP address"},
		{"bad name", step("service.web", contract.StepEnsureService, map[string]any{"kind": "container", "name": "web/../x", "image": "x"}), `arg "name" must be a service name`},
		{"bad logging", step("service.web", contract.StepEnsureService, map[string]any{"kind": "container", "name": "web", "image": "x", "logging": "json"}), `arg "logging" must be an object`},
		{"network without name", step("network.n", contract.StepEnsureNetwork, map[string]any{}), `missing arg "name"`},
		{"tags not a list", step("image.app", contract.StepBuildImage, map[string]any{"tags": "x"}), `arg "tags" must be a list`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New().Compile(t.Context(), actionList(t, tc.step), nil)
			var ce *CompileError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want a CompileError with %q", err, tc.want)
			}
		})
	}
}

func TestContainerDefaultTag(t *testing.T) {
	b, err := New().Compile(t.Context(), actionList(t,
		step("image.app", contract.StepBuildImage, map[string]any{"context": "app"}),
		step(`image.each["Blue"]`, contract.StepRemoveImage, map[string]any{}),
	), nil)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{
		"image.app/build_image":           "localhost/clockwork-app:latest",
		`image.each["Blue"]/remove_image`: "localhost/clockwork-each_blue:latest",
	} {
		if got := b.StepFor(id).Run.Env["IMAGE_TAG_0"]; got != want {
			t.Errorf("%s: default tag %q, want %q", id, got, want)
		}
	}
}

// ctrStepBinary builds a stand-in for the clockwork binary that runs
// `step docker` (internal/container/testdata/stepbin).
func ctrStepBinary(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	out := filepath.Join(t.TempDir(), "clockwork")
	cmd := exec.Command(goBin, "build", "-o", out, "github.com/clockwork-iac/clockwork/internal/container/testdata/stepbin")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build stepbin: %v\n%s", err, b)
	}
	return out
}

// TestContainerScripts runs the generated scripts against the real engine:
// image build -> network, volume -> service up -> 200 -> unchanged on a
// second run -> replaced on an env change -> everything removed.
func TestContainerScripts(t *testing.T) {
	ctx := t.Context()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	eng, err := container.Connect(cctx, "")
	if err != nil {
		if os.Getenv("CW_REQUIRE_ENGINE") == "1" {
			t.Fatalf("CW_REQUIRE_ENGINE=1 but no container engine: %v", err)
		}
		t.Skipf("no container engine: run scripts/setup-podman.sh and export DOCKER_HOST (%v)", err)
	}
	defer eng.Close()
	f := localFacts(t)
	bin := ctrStepBinary(t)

	rb := make([]byte, 4)
	rand.Read(rb)
	id := hex.EncodeToString(rb)
	name := func(s string) string { return "cwb-" + id + "-" + s }
	tag := "localhost/" + name("app") + ":latest"
	web, netName, volName := name("web"), name("net"), name("vol")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		e, err := container.Connect(ctx, "")
		if err != nil {
			return
		}
		defer e.Close()
		e.StopTimeout = time.Second
		e.RemoveContainer(ctx, web)
		e.RemoveNetwork(ctx, netName)
		e.RemoveVolume(ctx, volName)
		e.RemoveImage(ctx, []string{tag})
	})

	s := newSandbox(t)
	ctrWriteFile(t, filepath.Join(s.root, "app", "Dockerfile"), "FROM localhost/clockwork-busybox:latest\nCOPY index.html /www/index.html\n")
	ctrWriteFile(t, filepath.Join(s.root, "app", "index.html"), "<p>built by a script</p>\n")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	secret := contract.SecretEnvName("service.web", "environment.TOKEN")
	imageVar := contract.OutputEnv("image.app", "IMAGE_REF")
	serviceArgs := func(greeting string) map[string]any {
		return map[string]any{
			"kind": "container", "name": web, "imageVar": imageVar,
			"command":     []any{"httpd", "-f", "-p", "80", "-h", "/www"},
			"ports":       []any{map[string]any{"external": int64(port), "internal": int64(80), "protocol": "tcp", "host_ip": "127.0.0.1"}},
			"environment": map[string]any{"GREETING": greeting, "TOKEN": map[string]any{"fromEnv": secret}},
			"volumes":     []any{volName + ":/data"},
			"networks":    []any{netName},
			"restart":     "unless-stopped",
			"memory":      "64m",
		}
	}
	steps := func(greeting string) []contract.Step {
		svc := step("service.web", contract.StepEnsureService, serviceArgs(greeting))
		svc.SecretEnv = []string{secret}
		return []contract.Step{
			step("image.app", contract.StepBuildImage, map[string]any{"context": "app", "dockerfile": "Dockerfile", "tags": []any{tag}}),
			step("network.net", contract.StepEnsureNetwork, map[string]any{"name": netName, "driver": "bridge", "labels": map[string]any{"tier": "web"}}),
			step("volume.data", contract.StepEnsureVolume, map[string]any{"name": volName}),
			svc,
		}
	}
	env := []string{"CW_CLOCKWORK=" + bin, "DOCKER_HOST=" + eng.Host(), secret + "=s3cret"}

	b := s.compile(t, f, steps("hello")...)
	for _, a := range b.Artifacts {
		if strings.Contains(a.Content, "s3cret") {
			t.Fatalf("artifact %s contains the secret", a.Path)
		}
	}
	img := s.run(t, b, "image.app/build_image", env...).ok(t)
	ref := img.outputs["IMAGE_REF"]
	if !strings.HasPrefix(ref, "sha256:") {
		t.Fatalf("IMAGE_REF %q", ref)
	}
	env = append(env, imageVar+"="+ref)
	if r := s.run(t, b, "network.net/ensure_network", env...).ok(t); r.outputs["NETWORK_ID"] == "" {
		t.Errorf("no NETWORK_ID in %v", r.outputs)
	}
	s.run(t, b, "volume.data/ensure_volume", env...).ok(t)

	start := time.Now()
	first := s.run(t, b, "service.web/ensure_service", env...).ok(t).says(t, "started")
	t.Logf("ensure_service script, create: %v", time.Since(start))
	cid := first.outputs["CONTAINER_ID"]
	if cid == "" {
		t.Fatalf("no CONTAINER_ID in %v", first.outputs)
	}
	var resp *http.Response
	for range 20 { // the server may need a moment after the start check
		if resp, err = http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port)); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "built by a script") {
		t.Errorf("GET: %d %q", resp.StatusCode, body)
	}

	// A second apply of the same bundle: unchanged, same container.
	start = time.Now()
	s.run(t, b, "image.app/build_image", env...).ok(t).says(t, "up to date")
	again := s.run(t, b, "service.web/ensure_service", env...).ok(t).says(t, "unchanged")
	t.Logf("image + service scripts, no-op: %v", time.Since(start))
	if again.outputs["CONTAINER_ID"] != cid {
		t.Errorf("second run: container %s, want %s", again.outputs["CONTAINER_ID"], cid)
	}

	// An environment change replaces the container.
	b2 := s.compile(t, f, steps("bye")...)
	changed := s.run(t, b2, "service.web/ensure_service", env...).ok(t)
	if changed.outputs["CONTAINER_ID"] == cid || changed.outputs["CONTAINER_ID"] == "" {
		t.Errorf("env change: container %s, want a new one (was %s)", changed.outputs["CONTAINER_ID"], cid)
	}

	// Destroy, in reverse order.
	rm := s.compile(t, f,
		step("service.web", contract.StepRemoveService, map[string]any{"kind": "container", "name": web}),
		step("volume.data", contract.StepRemoveVolume, map[string]any{"name": volName}),
		step("network.net", contract.StepRemoveNetwork, map[string]any{"name": netName}),
		step("image.app", contract.StepRemoveImage, map[string]any{"tags": []any{tag}}),
	)
	for _, id := range []string{"service.web/remove_service", "volume.data/remove_volume", "network.net/remove_network", "image.app/remove_image"} {
		s.run(t, rm, id, env...).ok(t)
	}
	st, err := eng.Inspect(ctx, web)
	if err != nil || st.Exists {
		t.Errorf("container after remove_service: %+v, %v", st, err)
	}
	// Removing again is fine.
	s.run(t, rm, "service.web/remove_service", env...).ok(t)

	// A service whose image does not exist fails, naming image and service.
	bad := serviceArgs("hello")
	delete(bad, "imageVar")
	bad["image"] = "localhost/clockwork-missing:" + id
	bad["name"] = name("missing")
	bb := s.compile(t, f, step("service.missing", contract.StepEnsureService, bad))
	s.run(t, bb, "service.missing/ensure_service", env...).fails(t, "localhost/clockwork-missing:"+id)
}

func ctrWriteFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
