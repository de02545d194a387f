package container

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/client"
)

// httpdSpec is a busybox httpd service published on 127.0.0.1:port.
func (te *testEnv) httpdSpec(name string, port int) ServiceSpec {
	return ServiceSpec{
		Name:    te.name(name),
		Image:   baseImage,
		Command: []string{"httpd", "-f", "-p", "80", "-h", "/www"},
		Ports:   []Port{{External: port, Internal: 80}},
		Env:     map[string]string{"GREETING": "hello"},
		Labels:  te.labels(),
	}
}

// get fetches url, retrying briefly while the server comes up.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	var last error
	for range 20 {
		resp, err := c.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, string(b)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", url, last)
	return 0, ""
}

func TestEnsureContainerLifecycle(t *testing.T) {
	te := newTestEnv(t)
	ctx := context.Background()
	port := freePort(t)
	spec := te.httpdSpec("web", port)

	start := time.Now()
	id1, changed, err := te.e.EnsureContainer(ctx, spec)
	if err != nil {
		t.Fatalf("first ensure: %v", err)
	}
	t.Logf("full EnsureContainer: %v", time.Since(start))
	if !changed {
		t.Error("first ensure: changed=false, want true")
	}
	code, body := get(t, fmt.Sprintf("http://127.0.0.1:%d/", port))
	if code != 200 || !strings.Contains(body, "clockwork busybox") {
		t.Errorf("GET: %d %q, want 200 with the index page", code, body)
	}
	st1, err := te.e.Inspect(ctx, spec.Name)
	if err != nil {
		t.Fatal(err)
	}
	if !st1.Exists || !st1.Running || st1.ID != id1 || !strings.HasPrefix(st1.ConfigHash, "sha256:") {
		t.Errorf("inspect after start: %+v", st1)
	}
	wantHash, err := te.e.ServiceConfigHash(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if st1.ConfigHash != wantHash {
		t.Errorf("config hash label %s, ServiceConfigHash %s", st1.ConfigHash, wantHash)
	}

	// Same spec (maps in another order, default protocol/host_ip spelled
	// out): untouched, same container, not restarted.
	same := spec
	same.Ports = []Port{{External: port, Internal: 80, Protocol: "tcp", HostIP: "127.0.0.1"}}
	start = time.Now()
	id2, changed, err := te.e.EnsureContainer(ctx, same)
	if err != nil {
		t.Fatalf("second ensure: %v", err)
	}
	t.Logf("no-op EnsureContainer: %v", time.Since(start))
	st2, err := te.e.Inspect(ctx, spec.Name)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(st1, st2); diff != "" || changed || id2 != id1 {
		t.Errorf("second ensure changed the container (changed=%v, id %s -> %s): %s", changed, id1, id2, diff)
	}

	// A stopped container with the same config is started again.
	if _, err := te.e.cli.ContainerStop(ctx, id1, client.ContainerStopOptions{Timeout: new(int)}); err != nil {
		t.Fatal(err)
	}
	id3, changed, err := te.e.EnsureContainer(ctx, spec)
	if err != nil || id3 != id1 || !changed {
		t.Fatalf("ensure after stop: id %s changed=%v err=%v; want the same container restarted", id3, changed, err)
	}
	if code, _ := get(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); code != 200 {
		t.Errorf("GET after restart: %d", code)
	}

	// An env change replaces it.
	changedSpec := spec
	changedSpec.Env = map[string]string{"GREETING": "bye"}
	start = time.Now()
	id4, changed, err := te.e.EnsureContainer(ctx, changedSpec)
	if err != nil {
		t.Fatalf("ensure with new env: %v", err)
	}
	t.Logf("replacing EnsureContainer: %v", time.Since(start))
	if id4 == id1 || !changed {
		t.Errorf("env change: id %s (was %s) changed=%v; want a new container", id4, id1, changed)
	}
	if code, _ := get(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); code != 200 {
		t.Errorf("GET after replace: %d", code)
	}
	if _, err := te.e.cli.ContainerInspect(ctx, id1, client.ContainerInspectOptions{}); !IsNotFound(err) {
		t.Errorf("old container %s: %v, want not found", id1, err)
	}

	logs, err := te.e.Logs(ctx, spec.Name, 20)
	if err != nil {
		t.Errorf("logs: %v", err)
	}
	_ = logs

	start = time.Now()
	if err := te.e.RemoveContainer(ctx, spec.Name); err != nil {
		t.Fatalf("remove: %v", err)
	}
	t.Logf("RemoveContainer (httpd ignores SIGTERM): %v", time.Since(start))
	st, err := te.e.Inspect(ctx, spec.Name)
	if err != nil || st.Exists {
		t.Errorf("after remove: %+v, %v; want gone", st, err)
	}
	if err := te.e.RemoveContainer(ctx, spec.Name); err != nil {
		t.Errorf("second remove: %v, want nil", err)
	}
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
		c.Close()
		t.Errorf("port %d still answers after remove", port)
	}
}

func TestNetworkAndVolume(t *testing.T) {
	te := newTestEnv(t)
	ctx := context.Background()
	netName, volName := te.name("net"), te.name("vol")

	nid, err := te.e.EnsureNetwork(ctx, netName, "bridge", te.labels())
	if err != nil {
		t.Fatalf("ensure network: %v", err)
	}
	nid2, err := te.e.EnsureNetwork(ctx, netName, "bridge", te.labels())
	if err != nil || nid2 != nid || nid == "" {
		t.Errorf("second ensure network: %q (first %q), %v", nid2, nid, err)
	}
	if err := te.e.EnsureVolume(ctx, volName, "local", te.labels()); err != nil {
		t.Fatalf("ensure volume: %v", err)
	}
	if err := te.e.EnsureVolume(ctx, volName, "local", te.labels()); err != nil {
		t.Errorf("second ensure volume: %v", err)
	}
	vi, err := te.e.cli.VolumeInspect(ctx, volName, client.VolumeInspectOptions{})
	if err != nil || vi.Volume.Labels[LabelManaged] != "true" {
		t.Errorf("volume labels %v, %v; want %s=true", vi.Volume.Labels, err, LabelManaged)
	}

	spec := ServiceSpec{
		Name:     te.name("app"),
		Image:    baseImage,
		Command:  []string{"sh", "-c", "echo stored > /data/marker; exec sleep 3600"},
		Volumes:  []string{volName + ":/data"},
		Networks: []string{netName},
		Labels:   te.labels(),
	}
	id, _, err := te.e.EnsureContainer(ctx, spec)
	if err != nil {
		t.Fatalf("ensure container on network with volume: %v", err)
	}
	ci, err := te.e.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ci.Container.NetworkSettings.Networks[netName]; !ok {
		t.Errorf("container networks %v, want %s", keys(ci.Container.NetworkSettings.Networks), netName)
	}
	mounted := false
	for _, m := range ci.Container.Mounts {
		if m.Name == volName && m.Destination == "/data" {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("mounts %+v, want %s at /data", ci.Container.Mounts, volName)
	}

	// The volume is in use: removing it fails with the engine's message.
	if err := te.e.RemoveVolume(ctx, volName); err == nil {
		t.Error("removing a volume in use succeeded")
	} else {
		t.Logf("volume in use: %v", err)
	}

	if err := te.e.RemoveContainer(ctx, spec.Name); err != nil {
		t.Fatal(err)
	}
	if err := te.e.RemoveVolume(ctx, volName); err != nil {
		t.Errorf("remove volume: %v", err)
	}
	if err := te.e.RemoveNetwork(ctx, netName); err != nil {
		t.Errorf("remove network: %v", err)
	}
	if _, err := te.e.cli.NetworkInspect(ctx, netName, client.NetworkInspectOptions{}); !IsNotFound(err) {
		t.Errorf("network after remove: %v, want not found", err)
	}
	if _, err := te.e.cli.VolumeInspect(ctx, volName, client.VolumeInspectOptions{}); !IsNotFound(err) {
		t.Errorf("volume after remove: %v, want not found", err)
	}
	if err := te.e.RemoveVolume(ctx, volName); err != nil {
		t.Errorf("second remove volume: %v", err)
	}
	if err := te.e.RemoveNetwork(ctx, netName); err != nil {
		t.Errorf("second remove network: %v", err)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestEngineDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	host := "unix://" + t.TempDir() + "/nothing.sock"
	_, err := Connect(ctx, host)
	if err == nil {
		t.Fatal("connect to a missing socket succeeded")
	}
	if !strings.Contains(err.Error(), "no container engine answers at "+host) {
		t.Errorf("error %q does not say which engine is down", err)
	}
	t.Logf("engine down: %v", err)

	// No host anywhere: the standard sockets are named.
	_, err = connect(ctx, "", func(k string) string {
		if k == "XDG_RUNTIME_DIR" {
			return "/nonexistent-cw"
		}
		return ""
	})
	if err != nil && !strings.Contains(err.Error(), "no container engine answers at") {
		t.Errorf("no host: error %q", err)
	}
}

func TestEnsureContainerFailures(t *testing.T) {
	te := newTestEnv(t)
	ctx := context.Background()

	t.Run("missing image", func(t *testing.T) {
		spec := te.httpdSpec("noimg", freePort(t))
		spec.Image = "localhost/clockwork-no-such-image:" + te.id
		_, _, err := te.e.EnsureContainer(ctx, spec)
		if err == nil || !strings.Contains(err.Error(), spec.Image) || !strings.Contains(err.Error(), spec.Name) {
			t.Errorf("got %v, want an error naming the service and the image", err)
		}
	})

	t.Run("port taken", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port
		spec := te.httpdSpec("taken", port)
		_, _, err = te.e.EnsureContainer(ctx, spec)
		if err == nil {
			t.Fatal("ensure on a taken port succeeded")
		}
		if !strings.Contains(err.Error(), spec.Name) || !strings.Contains(err.Error(), fmt.Sprint(port)) {
			t.Errorf("error %q does not name the service and the port", err)
		}
		t.Logf("port taken: %v", err)
	})

	t.Run("exits at once", func(t *testing.T) {
		spec := ServiceSpec{
			Name:    te.name("boom"),
			Image:   baseImage,
			Command: []string{"sh", "-c", "echo boom; echo to-stderr >&2; exit 3"},
			Restart: "no",
			Labels:  te.labels(),
		}
		_, _, err := te.e.EnsureContainer(ctx, spec)
		if err == nil {
			t.Fatal("ensure of a container that exits succeeded")
		}
		for _, want := range []string{spec.Name, "exit code 3", "boom", "to-stderr"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
		t.Logf("exits at once: %v", err)
	})

	t.Run("foreign container", func(t *testing.T) {
		name := te.name("foreign")
		_, err := te.e.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
			Name:   name,
			Image:  baseImage,
			Config: nil,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer te.e.cli.ContainerRemove(context.Background(), name, client.ContainerRemoveOptions{Force: true})
		spec := te.httpdSpec("foreign", freePort(t))
		_, _, err = te.e.EnsureContainer(ctx, spec)
		if err == nil || !strings.Contains(err.Error(), "did not create") {
			t.Errorf("got %v, want a refusal to replace a foreign container", err)
		}
	})
}
