package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// Labels Clockwork puts on what it creates.
const (
	LabelManaged     = "clockwork.managed"
	LabelService     = "clockwork.service"
	LabelConfigHash  = "clockwork.config-hash"
	LabelContextHash = "clockwork.context-hash"
	LabelBuildHash   = "clockwork.build-hash"
)

// DefaultStopTimeout is how long a container gets to stop before it is
// killed. Short, because busybox httpd as PID 1 ignores SIGTERM.
const DefaultStopTimeout = 2 * time.Second

// pingTimeout bounds the check that an engine answers.
const pingTimeout = 5 * time.Second

// Engine is a connection to one container engine.
type Engine struct {
	cli  *client.Client
	host string
	// StopTimeout is the grace period of a stop before the engine kills the
	// container (DefaultStopTimeout when zero).
	StopTimeout time.Duration
	// StartGrace is how long EnsureContainer waits after a start before it
	// checks that the container still runs (defaultStartGrace when zero).
	StartGrace time.Duration
}

// defaultStartGrace is how long a started container must survive.
const defaultStartGrace = 500 * time.Millisecond

// Connect connects to the engine at host ("unix:///path", "tcp://h:p").
// With host "", it uses DOCKER_HOST, and without it the first of the
// standard sockets that answers. It fails unless the engine answers a ping.
func Connect(ctx context.Context, host string) (*Engine, error) {
	return connect(ctx, host, os.Getenv)
}

// connect is Connect with the environment lookup injected.
func connect(ctx context.Context, host string, getenv func(string) string) (*Engine, error) {
	if host == "" {
		host = getenv("DOCKER_HOST")
	}
	if host != "" {
		return dial(ctx, host, getenv)
	}
	candidates := standardHosts(getenv)
	var msgs []string
	for _, h := range candidates {
		if p := strings.TrimPrefix(h, "unix://"); p != h {
			if _, err := os.Stat(p); err != nil {
				continue
			}
		}
		e, err := dial(ctx, h, getenv)
		if err == nil {
			return e, nil
		}
		msgs = append(msgs, err.Error())
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("no container engine answers at %s: no such socket (set DOCKER_HOST or a docker provider's host)",
			strings.Join(candidates, ", "))
	}
	return nil, errors.New(strings.Join(msgs, "; "))
}

// standardHosts lists the sockets tried when no host is configured.
func standardHosts(getenv func(string) string) []string {
	hosts := []string{"unix:///var/run/docker.sock", "unix:///run/podman/podman.sock"}
	if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		hosts = append(hosts, "unix://"+filepath.Join(d, "podman", "podman.sock"))
	}
	return hosts
}

// dial makes a client for host and pings it (negotiating the API version).
func dial(ctx context.Context, host string, getenv func(string) string) (*Engine, error) {
	opts := []client.Opt{client.WithHost(host)}
	if certs := getenv("DOCKER_CERT_PATH"); certs != "" && strings.HasPrefix(host, "tcp://") {
		opts = append(opts, client.WithTLSClientConfig(
			filepath.Join(certs, "ca.pem"), filepath.Join(certs, "cert.pem"), filepath.Join(certs, "key.pem")))
	}
	cli, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("no container engine answers at %s: %w", host, err)
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if _, err := cli.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		cli.Close()
		return nil, fmt.Errorf("no container engine answers at %s: %w", host, err)
	}
	return &Engine{cli: cli, host: host}, nil
}

// Host is the engine address this Engine talks to.
func (e *Engine) Host() string { return e.host }

// Client exposes the underlying Engine API client (for tests and runners
// that need calls this package does not wrap).
func (e *Engine) Client() *client.Client { return e.cli }

// Close releases the client's connections.
func (e *Engine) Close() error { return e.cli.Close() }

func (e *Engine) stopTimeout() time.Duration {
	if e.StopTimeout > 0 {
		return e.StopTimeout
	}
	return DefaultStopTimeout
}

func (e *Engine) startGrace() time.Duration {
	if e.StartGrace > 0 {
		return e.StartGrace
	}
	return defaultStartGrace
}

// IsNotFound reports whether err says that an engine object does not exist.
func IsNotFound(err error) bool { return cerrdefs.IsNotFound(err) }

// managedLabels returns labels plus clockwork.managed=true, in a new map.
func managedLabels(labels map[string]string) map[string]string {
	out := make(map[string]string, len(labels)+1)
	for k, v := range labels {
		out[k] = v
	}
	out[LabelManaged] = "true"
	return out
}
