package container

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/client"
)

func TestParsePort(t *testing.T) {
	tests := []struct {
		in      string
		want    Port
		wantErr bool
	}{
		{in: "8080:80", want: Port{External: 8080, Internal: 80}},
		{in: "127.0.0.1:8080:80/tcp", want: Port{External: 8080, Internal: 80, Protocol: "tcp", HostIP: "127.0.0.1"}},
		{in: "0.0.0.0:53:53/udp", want: Port{External: 53, Internal: 53, Protocol: "udp", HostIP: "0.0.0.0"}},
		{in: "[::1]:8080:80", want: Port{External: 8080, Internal: 80, HostIP: "::1"}},
		{in: "0:80", want: Port{External: 0, Internal: 80}},
		{in: "80", wantErr: true},
		{in: "a:80", wantErr: true},
		{in: "8080:0", wantErr: true},
		{in: "8080:80/sctp", wantErr: true},
		{in: "8080:70000", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePort(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			back, err := ParsePort(FormatPort(got))
			if err != nil || back != got {
				t.Errorf("FormatPort round trip: %q -> %+v, %v", FormatPort(got), back, err)
			}
		})
	}
}

func TestStepMainUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no op", nil, 2, "usage: clockwork step docker"},
		{"unknown op", []string{"frobnicate", "--name", "x"}, 2, `unknown op "frobnicate"`},
		{"missing name", []string{"remove-service"}, 2, "--name is required"},
		{"missing image", []string{"ensure-service", "--name", "x"}, 2, "--image is required"},
		{"bad port", []string{"ensure-service", "--name", "x", "--image", "i", "--port", "80"}, 2, `port "80"`},
		{"bad env", []string{"ensure-service", "--name", "x", "--image", "i", "--env", "NOEQUALS"}, 2, "KEY=VALUE"},
		{"stray args", []string{"remove-network", "--name", "x", "extra"}, 2, "unexpected arguments"},
		{"env-from unset", []string{"ensure-service", "--name", "x", "--image", "i", "--env-from", "K=CW_SECRET_NOPE"}, 1, "CW_SECRET_NOPE is not set"},
		{"engine down", []string{"remove-service", "--name", "x", "--host", "unix:///nonexistent/cw.sock"}, 1, "no container engine answers at unix:///nonexistent/cw.sock"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := StepMain(context.Background(), tc.args, &stdout, &stderr, nil)
			if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr.String(), tc.code, tc.want)
			}
		})
	}
}

func TestStepMain(t *testing.T) {
	te := newTestEnv(t)
	ctx := context.Background()
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"app/Dockerfile": "FROM " + baseImage + "\nCOPY index.html /www/index.html\n",
		"app/index.html": "<p>from step</p>\n",
		"data/seed.txt":  "seed\n",
	})
	out := filepath.Join(t.TempDir(), "outputs")
	label := labelTest + "=" + te.id
	environ := []string{
		"DOCKER_HOST=" + te.e.Host(),
		"CW_ROOT=" + root,
		"CW_OUTPUT=" + out,
		"CW_SECRET_SERVICE_WEB_ENVIRONMENT_TOKEN=s3cret",
	}
	run := func(args ...string) (string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := StepMain(ctx, args, &stdout, &stderr, environ); code != 0 {
			t.Fatalf("step docker %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, stdout.String(), stderr.String())
		}
		return stdout.String(), stderr.String()
	}
	outputs := func() map[string]string {
		t.Helper()
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			k, v, _ := strings.Cut(l, "=")
			m[k] = v
		}
		os.Remove(out)
		return m
	}

	tag := "localhost/" + te.name("stepapp") + ":latest"
	run("build-image", "--context", "app", "--dockerfile", "Dockerfile", "--tag", tag, "--label", label)
	o := outputs()
	if !strings.HasPrefix(o["IMAGE_REF"], "sha256:") || o["IMAGE_ID"] != o["IMAGE_REF"] {
		t.Fatalf("build-image outputs %v", o)
	}
	imageRef := o["IMAGE_REF"]

	netName, volName := te.name("stepnet"), te.name("stepvol")
	run("ensure-network", "--name", netName, "--label", label)
	if o := outputs(); o["NETWORK_ID"] == "" {
		t.Errorf("ensure-network outputs %v", o)
	}
	run("ensure-volume", "--name", volName, "--label", label)

	port := freePort(t)
	name := te.name("stepweb")
	svc := []string{"ensure-service", "--name", name, "--image", imageRef,
		"--port", fmt.Sprintf("127.0.0.1:%d:80/tcp", port),
		"--env", "MODE=test", "--env-from", "TOKEN=CW_SECRET_SERVICE_WEB_ENVIRONMENT_TOKEN",
		"--volume", volName + ":/vol", "--volume", "./data:/seed:ro",
		"--network", netName, "--restart", "unless-stopped", "--label", label,
		"--", "httpd", "-f", "-p", "80", "-h", "/www"}
	stdout, _ := run(svc...)
	o = outputs()
	id := o["CONTAINER_ID"]
	if id == "" || !strings.Contains(stdout, "started") {
		t.Fatalf("ensure-service: outputs %v, stdout %q", o, stdout)
	}
	if code, body := get(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); code != 200 || !strings.Contains(body, "from step") {
		t.Errorf("GET: %d %q", code, body)
	}
	ci, err := te.e.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !contains(ci.Container.Config.Env, "TOKEN=s3cret") || !contains(ci.Container.Config.Env, "MODE=test") {
		t.Errorf("env %v lacks TOKEN and MODE", ci.Container.Config.Env)
	}
	seed := false
	for _, m := range ci.Container.Mounts {
		if m.Destination == "/seed" && m.Source == filepath.Join(root, "data") {
			seed = true
		}
	}
	if !seed {
		t.Errorf("mounts %+v: want %s at /seed", ci.Container.Mounts, filepath.Join(root, "data"))
	}

	// Same flags again: unchanged.
	stdout, _ = run(svc...)
	if o := outputs(); o["CONTAINER_ID"] != id || !strings.Contains(stdout, "unchanged") {
		t.Errorf("second ensure-service: outputs %v stdout %q; want the same container unchanged", o, stdout)
	}

	stdout, _ = run("inspect", "--name", name)
	if !strings.Contains(stdout, `"Running": true`) || !strings.Contains(stdout, id) {
		t.Errorf("inspect: %s", stdout)
	}

	run("remove-service", "--name", name, "--stop-timeout", "1")
	run("remove-service", "--name", name)
	run("remove-volume", "--name", volName)
	run("remove-network", "--name", netName)
	run("remove-image", "--tag", tag)
	if st, err := te.e.Inspect(ctx, name); err != nil || st.Exists {
		t.Errorf("after remove-service: %+v %v", st, err)
	}
	if _, err := te.e.cli.ImageInspect(ctx, tag); !IsNotFound(err) {
		t.Errorf("image after remove-image: %v", err)
	}

	// A failing service: exit 1, stderr names the service, exit code, logs.
	var so, se bytes.Buffer
	code := StepMain(ctx, []string{"ensure-service", "--name", te.name("stepboom"), "--image", baseImage,
		"--restart", "no", "--label", label, "--", "sh", "-c", "echo boom; exit 3"}, &so, &se, environ)
	if code != 1 {
		t.Errorf("failing service: exit %d, want 1", code)
	}
	for _, want := range []string{te.name("stepboom"), "exit code 3", "boom"} {
		if !strings.Contains(se.String(), want) {
			t.Errorf("stderr %q lacks %q", se.String(), want)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
