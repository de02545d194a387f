package container

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// baseImage is the test base image scripts/setup-podman.sh builds.
const baseImage = "localhost/clockwork-busybox:latest"

// labelTest marks everything a test creates.
const labelTest = "clockwork.test"

// testEnv is a connection to the real engine plus the unique id that
// labels and names everything one test creates.
type testEnv struct {
	e  *Engine
	id string
}

// newTestEnv connects to the engine (DOCKER_HOST, else the standard
// sockets) and registers a cleanup that removes every container, network,
// volume and image labelled with the test's id. Without an engine the test
// is skipped, unless CW_REQUIRE_ENGINE=1 (CI) makes that a failure.
func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := Connect(ctx, "")
	if err != nil {
		if os.Getenv("CW_REQUIRE_ENGINE") == "1" {
			t.Fatalf("CW_REQUIRE_ENGINE=1 but no container engine: %v", err)
		}
		t.Skipf("no container engine: run scripts/setup-podman.sh and export DOCKER_HOST (%v)", err)
	}
	e.StopTimeout = time.Second
	b := make([]byte, 4)
	rand.Read(b)
	env := &testEnv{e: e, id: hex.EncodeToString(b)}
	if _, err := e.cli.ImageInspect(ctx, baseImage); err != nil {
		t.Fatalf("test base image %s missing (run scripts/setup-podman.sh): %v", baseImage, err)
	}
	t.Cleanup(func() { env.cleanup(t) })
	return env
}

// name returns a resource name unique to the test.
func (te *testEnv) name(s string) string { return "cwt-" + te.id + "-" + s }

// labels returns the test's labels.
func (te *testEnv) labels() map[string]string { return map[string]string{labelTest: te.id} }

func (te *testEnv) cleanup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cli := te.e.cli
	f := client.Filters{}.Add("label", labelTest+"="+te.id)
	if cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f}); err == nil {
		for _, c := range cs.Items {
			if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
				t.Logf("cleanup container %s: %v", c.ID, err)
			}
		}
	}
	if ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f}); err == nil {
		for _, n := range ns.Items {
			if _, err := cli.NetworkRemove(ctx, n.Name, client.NetworkRemoveOptions{}); err != nil {
				t.Logf("cleanup network %s: %v", n.Name, err)
			}
		}
	}
	if vs, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: f}); err == nil {
		for _, v := range vs.Items {
			if _, err := cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil {
				t.Logf("cleanup volume %s: %v", v.Name, err)
			}
		}
	}
	if is, err := cli.ImageList(ctx, client.ImageListOptions{Filters: f}); err == nil {
		for _, i := range is.Items {
			if _, err := cli.ImageRemove(ctx, i.ID, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
				t.Logf("cleanup image %s: %v", i.ID, err)
			}
		}
	}
	te.e.Close()
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	n, _ := strconv.Atoi(p)
	return n
}

// writeFiles writes files (path -> content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
