package container

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// ServiceSpec declares one container.
type ServiceSpec struct {
	// Name is the container name (required).
	Name  string `json:"name"`
	Image string `json:"image"`
	// Command overrides the image's CMD when not empty.
	Command []string          `json:"command,omitempty"`
	Ports   []Port            `json:"ports,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	// Volumes are bind or volume mounts: "name:/path", "/host:/path[:ro]".
	Volumes []string `json:"volumes,omitempty"`
	// Networks to attach; the first is the container's primary network.
	Networks []string `json:"networks,omitempty"`
	// Restart is no, always, on-failure[:N] or unless-stopped (the default).
	Restart string   `json:"restart,omitempty"`
	Logging *Logging `json:"logging,omitempty"`
	// Memory is a limit such as "512m" ("" for none).
	Memory string `json:"memory,omitempty"`
	// CPUs is a CPU limit (0 for none).
	CPUs    float64 `json:"cpus,omitempty"`
	Workdir string  `json:"workdir,omitempty"`
	// Labels are extra container labels.
	Labels map[string]string `json:"labels,omitempty"`
}

// Port publishes a container port on the host.
type Port struct {
	External int `json:"external"`
	Internal int `json:"internal"`
	// Protocol is tcp (the default) or udp.
	Protocol string `json:"protocol,omitempty"`
	// HostIP is the host address to bind (default 127.0.0.1).
	HostIP string `json:"host_ip,omitempty"`
}

// Logging is a container's logging driver and its options.
type Logging struct {
	Driver string            `json:"driver,omitempty"`
	Opts   map[string]string `json:"opts,omitempty"`
}

// ContainerState is what the engine reports about a container.
type ContainerState struct {
	// Exists is false when no container has the name (other fields empty).
	Exists  bool
	ID      string
	Status  string
	Running bool
	// ExitCode of the last run (meaningful when not running).
	ExitCode int
	// ConfigHash is the clockwork.config-hash label.
	ConfigHash string
	// StartedAt is the engine's start time of the current (or last) run.
	StartedAt string
	// ImageID is the ID of the image the container runs.
	ImageID string
}

// normalize fills defaults so equal intent gives an equal hash.
func normalize(s ServiceSpec) ServiceSpec {
	n := s
	n.Ports = make([]Port, len(s.Ports))
	for i, p := range s.Ports {
		if p.Protocol == "" {
			p.Protocol = "tcp"
		}
		p.Protocol = strings.ToLower(p.Protocol)
		if p.HostIP == "" {
			p.HostIP = "127.0.0.1"
		}
		n.Ports[i] = p
	}
	sort.Slice(n.Ports, func(i, j int) bool {
		a, b := n.Ports[i], n.Ports[j]
		if a.Internal != b.Internal {
			return a.Internal < b.Internal
		}
		if a.Protocol != b.Protocol {
			return a.Protocol < b.Protocol
		}
		if a.HostIP != b.HostIP {
			return a.HostIP < b.HostIP
		}
		return a.External < b.External
	})
	if n.Restart == "" {
		n.Restart = "unless-stopped"
	}
	if n.Logging != nil && n.Logging.Driver == "" && len(n.Logging.Opts) == 0 {
		n.Logging = nil
	}
	if len(n.Ports) == 0 {
		n.Ports = nil
	}
	return n
}

// configHash is "sha256:<hex>" over the canonical JSON of the normalized
// spec and the resolved image ID (encoding/json sorts map keys).
func configHash(n ServiceSpec, imageID string) string {
	b, _ := json.Marshal(struct {
		Spec    ServiceSpec `json:"spec"`
		ImageID string      `json:"image_id"`
	}{n, imageID})
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ServiceConfigHash returns the config hash EnsureContainer would store for
// spec (it resolves the image, so a rebuilt image changes the hash).
func (e *Engine) ServiceConfigHash(ctx context.Context, spec ServiceSpec) (string, error) {
	n := normalize(spec)
	img, err := e.resolveImage(ctx, n)
	if err != nil {
		return "", err
	}
	return configHash(n, img), nil
}

func (e *Engine) resolveImage(ctx context.Context, n ServiceSpec) (string, error) {
	if n.Image == "" {
		return "", fmt.Errorf("service %s: no image given", n.Name)
	}
	img, err := e.cli.ImageInspect(ctx, n.Image)
	if err != nil {
		if IsNotFound(err) {
			return "", fmt.Errorf("service %s: image %s not found (build it first, or check the name): %w", n.Name, n.Image, err)
		}
		return "", fmt.Errorf("service %s: inspect image %s: %w", n.Name, n.Image, err)
	}
	return img.ID, nil
}

// EnsureContainer makes the container spec declares run. A running
// container with the same config hash is left untouched (changed false); a
// stopped one is started; one with another hash is replaced. After a start
// it checks the container still runs, and otherwise fails with its exit code
// and last log lines.
func (e *Engine) EnsureContainer(ctx context.Context, spec ServiceSpec) (id string, changed bool, err error) {
	if spec.Name == "" {
		return "", false, errors.New("ensure container: a name is required")
	}
	n := normalize(spec)
	imageID, err := e.resolveImage(ctx, n)
	if err != nil {
		return "", false, err
	}
	hash := configHash(n, imageID)

	cur, err := e.cli.ContainerInspect(ctx, n.Name, client.ContainerInspectOptions{})
	switch {
	case err == nil:
		c := cur.Container
		var labels map[string]string
		if c.Config != nil {
			labels = c.Config.Labels
		}
		if labels[LabelManaged] != "true" {
			return "", false, fmt.Errorf("service %s: a container named %s exists that Clockwork did not create; remove or rename it", n.Name, n.Name)
		}
		if labels[LabelConfigHash] == hash {
			if c.State != nil && c.State.Running && !c.State.Restarting {
				return c.ID, false, nil
			}
			return c.ID, true, e.start(ctx, n.Name, c.ID)
		}
		if err := e.RemoveContainer(ctx, n.Name); err != nil {
			return "", false, fmt.Errorf("service %s: replace: %w", n.Name, err)
		}
	case IsNotFound(err):
	default:
		return "", false, fmt.Errorf("service %s: inspect container: %w", n.Name, err)
	}

	opts, err := createOptions(n, hash)
	if err != nil {
		return "", false, fmt.Errorf("service %s: %w", n.Name, err)
	}
	res, err := e.cli.ContainerCreate(ctx, opts)
	if err != nil {
		return "", false, fmt.Errorf("service %s: create container: %w", n.Name, err)
	}
	return res.ID, true, e.start(ctx, n.Name, res.ID)
}

// createOptions translates a normalized spec into the Engine API's create
// request.
func createOptions(n ServiceSpec, hash string) (client.ContainerCreateOptions, error) {
	labels := managedLabels(n.Labels)
	labels[LabelService] = n.Name
	labels[LabelConfigHash] = hash

	env := make([]string, 0, len(n.Env))
	for k, v := range n.Env {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)

	exposed := network.PortSet{}
	bindings := network.PortMap{}
	for _, p := range n.Ports {
		if p.Internal <= 0 || p.Internal > 65535 || p.External < 0 || p.External > 65535 {
			return client.ContainerCreateOptions{}, fmt.Errorf("invalid port %d:%d", p.External, p.Internal)
		}
		cp, err := network.ParsePort(fmt.Sprintf("%d/%s", p.Internal, p.Protocol))
		if err != nil {
			return client.ContainerCreateOptions{}, err
		}
		ip, err := netip.ParseAddr(p.HostIP)
		if err != nil {
			return client.ContainerCreateOptions{}, fmt.Errorf("port %d: host_ip %q: %w", p.Internal, p.HostIP, err)
		}
		hostPort := ""
		if p.External > 0 {
			hostPort = strconv.Itoa(p.External)
		}
		exposed[cp] = struct{}{}
		bindings[cp] = append(bindings[cp], network.PortBinding{HostIP: ip, HostPort: hostPort})
	}

	restart, err := parseRestart(n.Restart)
	if err != nil {
		return client.ContainerCreateOptions{}, err
	}
	hc := &container.HostConfig{
		Binds:         n.Volumes,
		PortBindings:  bindings,
		RestartPolicy: restart,
	}
	if n.Logging != nil {
		hc.LogConfig = container.LogConfig{Type: n.Logging.Driver, Config: n.Logging.Opts}
	}
	if n.Memory != "" {
		m, err := units.RAMInBytes(n.Memory)
		if err != nil {
			return client.ContainerCreateOptions{}, fmt.Errorf("memory %q: %w", n.Memory, err)
		}
		hc.Memory = m
	}
	if n.CPUs > 0 {
		hc.NanoCPUs = int64(math.Round(n.CPUs * 1e9))
	}
	var netcfg *network.NetworkingConfig
	if len(n.Networks) > 0 {
		hc.NetworkMode = container.NetworkMode(n.Networks[0])
		netcfg = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{}}
		for _, nw := range n.Networks {
			netcfg.EndpointsConfig[nw] = &network.EndpointSettings{Aliases: []string{n.Name}}
		}
	}
	return client.ContainerCreateOptions{
		Name: n.Name,
		Config: &container.Config{
			Image:        n.Image,
			Cmd:          n.Command,
			Env:          env,
			Labels:       labels,
			ExposedPorts: exposed,
			WorkingDir:   n.Workdir,
		},
		HostConfig:       hc,
		NetworkingConfig: netcfg,
	}, nil
}

func parseRestart(s string) (container.RestartPolicy, error) {
	name, count, hasCount := strings.Cut(s, ":")
	p := container.RestartPolicy{Name: container.RestartPolicyMode(name)}
	switch p.Name {
	case container.RestartPolicyDisabled, container.RestartPolicyAlways, container.RestartPolicyUnlessStopped:
		if hasCount {
			return p, fmt.Errorf("restart %q: only on-failure takes a count", s)
		}
	case container.RestartPolicyOnFailure:
		if hasCount {
			n, err := strconv.Atoi(count)
			if err != nil || n < 0 {
				return p, fmt.Errorf("restart %q: bad retry count", s)
			}
			p.MaximumRetryCount = n
		}
	default:
		return p, fmt.Errorf("restart %q: want no, always, on-failure[:N] or unless-stopped", s)
	}
	return p, nil
}

// start starts the container and checks it survives the start grace.
func (e *Engine) start(ctx context.Context, name, id string) error {
	if _, err := e.cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		msg := fmt.Sprintf("service %s: start container: %v", name, err)
		if logs, lerr := e.Logs(ctx, id, 20); lerr == nil && strings.TrimSpace(logs) != "" {
			msg += "\nlast log lines:\n" + strings.TrimRight(logs, "\n")
		}
		return errors.New(msg)
	}
	t := time.NewTimer(e.startGrace())
	select {
	case <-ctx.Done():
		t.Stop()
		return ctx.Err()
	case <-t.C:
	}
	cur, err := e.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return fmt.Errorf("service %s: inspect after start: %w", name, err)
	}
	st := cur.Container.State
	if st != nil && st.Running && !st.Restarting && cur.Container.RestartCount == 0 {
		return nil
	}
	code, status := 0, "unknown"
	if st != nil {
		code, status = st.ExitCode, string(st.Status)
	}
	msg := fmt.Sprintf("service %s: container exited at once with exit code %d (status %s)", name, code, status)
	if st != nil && st.Error != "" {
		msg += ": " + st.Error
	}
	if logs, lerr := e.Logs(ctx, id, 20); lerr == nil && strings.TrimSpace(logs) != "" {
		msg += "\nlast log lines:\n" + strings.TrimRight(logs, "\n")
	}
	return errors.New(msg)
}

// RemoveContainer stops (with StopTimeout) and removes the container name.
// A missing container is fine.
func (e *Engine) RemoveContainer(ctx context.Context, name string) error {
	secs := int(math.Ceil(e.stopTimeout().Seconds()))
	if _, err := e.cli.ContainerStop(ctx, name, client.ContainerStopOptions{Timeout: &secs}); err != nil {
		if IsNotFound(err) {
			return nil
		}
		// A stop can fail on a container that is not running; removal
		// with force below settles it either way.
	}
	if _, err := e.cli.ContainerRemove(ctx, name, client.ContainerRemoveOptions{Force: true}); err != nil && !IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", name, err)
	}
	return nil
}

// Logs returns the last tail lines (all when tail <= 0) of the container's
// stdout and stderr.
func (e *Engine) Logs(ctx context.Context, name string, tail int) (string, error) {
	cur, err := e.cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		return "", fmt.Errorf("logs of %s: %w", name, err)
	}
	opts := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true}
	if tail > 0 {
		opts.Tail = strconv.Itoa(tail)
	}
	rc, err := e.cli.ContainerLogs(ctx, name, opts)
	if err != nil {
		return "", fmt.Errorf("logs of %s: %w", name, err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	if cur.Container.Config != nil && cur.Container.Config.Tty {
		_, err = io.Copy(&buf, rc)
	} else {
		_, err = stdcopy.StdCopy(&buf, &buf, rc)
	}
	if err != nil {
		return buf.String(), fmt.Errorf("logs of %s: %w", name, err)
	}
	return buf.String(), nil
}

// Inspect reports the state of the container name; Exists is false (and
// the error nil) when there is none.
func (e *Engine) Inspect(ctx context.Context, name string) (*ContainerState, error) {
	cur, err := e.cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		if IsNotFound(err) {
			return &ContainerState{}, nil
		}
		return nil, fmt.Errorf("inspect container %s: %w", name, err)
	}
	c := cur.Container
	s := &ContainerState{Exists: true, ID: c.ID, ImageID: c.Image}
	if c.State != nil {
		s.Status = string(c.State.Status)
		s.Running = c.State.Running
		s.ExitCode = c.State.ExitCode
		s.StartedAt = c.State.StartedAt
	}
	if c.Config != nil {
		s.ConfigHash = c.Config.Labels[LabelConfigHash]
	}
	return s, nil
}
