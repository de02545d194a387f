package container

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// StepUsage documents `clockwork step docker`.
const StepUsage = `usage: clockwork step docker <op> [flags]

ops:
  build-image     --context DIR [--dockerfile PATH] --tag REF... [--build-arg K=V]...
                  [--label K=V]... [--context-hash H]     publishes IMAGE_REF, IMAGE_ID
  remove-image    --tag REF...
  ensure-service  --name NAME --image REF [--port [IP:]EXT:INT[/PROTO]]... [--env K=V]...
                  [--env-from K=VAR]... [--volume SRC:DST[:ro]]... [--network NAME]...
                  [--restart POLICY] [--log-driver D] [--log-opt K=V]... [--memory 512m]
                  [--cpus 0.5] [--workdir DIR] [--label K=V]... [-- COMMAND ARG...]
                                                          publishes CONTAINER_ID
  remove-service  --name NAME
  ensure-network  --name NAME [--driver bridge] [--label K=V]...   publishes NETWORK_ID
  remove-network  --name NAME
  ensure-volume   --name NAME [--driver local] [--label K=V]...
  remove-volume   --name NAME
  inspect         --name NAME                             prints the container state as JSON

common flags:
  --host URL      engine address (default: $DOCKER_HOST, then the standard sockets)
  --root DIR      base of relative paths (default: $CW_ROOT, else the working directory)
  --stop-timeout N  seconds a container gets to stop before it is killed, when it is
                  removed or replaced (default 2)

--env-from K=VAR sets K from the step's environment variable VAR, so secret
values never appear on a command line. Outputs are appended as KEY=VALUE lines
to the file named by $CW_OUTPUT. Exit status: 0 done, 1 failed, 2 bad usage.
`

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// kvFlag collects repeated K=V flags.
type kvFlag map[string]string

func (m kvFlag) String() string { return "" }
func (m kvFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", s)
	}
	m[k] = v
	return nil
}

// usageError is a bad invocation (exit status 2).
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// StepMain runs `clockwork step docker <op> [flags]`: args starts with the
// op. environ is the step's environment (DOCKER_HOST, CW_OUTPUT, CW_ROOT and
// the variables --env-from names). It returns the exit status.
func StepMain(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) int {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, StepUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	op := args[0]
	s := &stepRun{op: op, env: env, stdout: stdout, stderr: stderr}
	err := s.run(ctx, args[1:])
	if err == nil {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "clockwork step docker %s: %v\n\n%s", op, err, StepUsage)
		return 2
	}
	fmt.Fprintf(stderr, "clockwork step docker %s: %v\n", op, err)
	return 1
}

// stepRun is one invocation of StepMain.
type stepRun struct {
	op     string
	env    map[string]string
	stdout io.Writer
	stderr io.Writer
}

func (s *stepRun) run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("clockwork step docker "+s.op, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	host := fs.String("host", "", "engine address")
	root := fs.String("root", s.env["CW_ROOT"], "base of relative paths")
	name := fs.String("name", "", "resource name")
	driver := fs.String("driver", "", "network or volume driver")
	labels := kvFlag{}
	fs.Var(labels, "label", "label K=V")
	var tags listFlag
	fs.Var(&tags, "tag", "image tag")
	// build-image
	ctxDir := fs.String("context", "", "build context")
	dockerfile := fs.String("dockerfile", "", "Dockerfile, relative to the context")
	ctxHash := fs.String("context-hash", "", "planned context hash")
	buildArgs := kvFlag{}
	fs.Var(buildArgs, "build-arg", "build argument K=V")
	// ensure-service
	image := fs.String("image", "", "image reference")
	var ports, volumes, networks listFlag
	fs.Var(&ports, "port", "[IP:]EXT:INT[/PROTO]")
	fs.Var(&volumes, "volume", "SRC:DST[:ro]")
	fs.Var(&networks, "network", "network")
	envs := kvFlag{}
	fs.Var(envs, "env", "environment K=V")
	envFrom := kvFlag{}
	fs.Var(envFrom, "env-from", "environment K=VAR (value from the step's environment)")
	restart := fs.String("restart", "", "restart policy")
	logDriver := fs.String("log-driver", "", "logging driver")
	logOpts := kvFlag{}
	fs.Var(logOpts, "log-opt", "logging option K=V")
	memory := fs.String("memory", "", "memory limit")
	cpus := fs.Float64("cpus", 0, "CPU limit")
	workdir := fs.String("workdir", "", "working directory in the container")
	stopTimeout := fs.Int("stop-timeout", 0, "seconds a container gets to stop before it is killed")

	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	rest := fs.Args()
	if s.op != "ensure-service" && len(rest) > 0 {
		return usageError{fmt.Sprintf("unexpected arguments %q", rest)}
	}
	need := func(v, flagName string) error {
		if v == "" {
			return usageError{"--" + flagName + " is required"}
		}
		return nil
	}
	base := *root
	if base == "" {
		base, _ = os.Getwd()
	}
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}

	switch s.op {
	case "build-image", "remove-image":
		if len(tags) == 0 {
			return usageError{"--tag is required"}
		}
		if s.op == "build-image" {
			if err := need(*ctxDir, "context"); err != nil {
				return err
			}
		}
	case "ensure-service":
		if err := need(*name, "name"); err != nil {
			return err
		}
		if err := need(*image, "image"); err != nil {
			return err
		}
	case "remove-service", "ensure-network", "remove-network", "ensure-volume", "remove-volume", "inspect":
		if err := need(*name, "name"); err != nil {
			return err
		}
	default:
		return usageError{fmt.Sprintf("unknown op %q", s.op)}
	}

	// Validate what needs no engine before connecting.
	var spec ServiceSpec
	if s.op == "ensure-service" {
		spec = ServiceSpec{
			Name: *name, Image: *image, Restart: *restart, Memory: *memory, CPUs: *cpus,
			Workdir: *workdir, Networks: networks, Labels: labels, Env: map[string]string{},
		}
		if len(rest) > 0 {
			spec.Command = rest
		}
		for _, p := range ports {
			pp, err := ParsePort(p)
			if err != nil {
				return usageError{err.Error()}
			}
			spec.Ports = append(spec.Ports, pp)
		}
		for k, v := range envs {
			spec.Env[k] = v
		}
		for k, v := range envFrom {
			val, ok := s.env[v]
			if !ok {
				return fmt.Errorf("service %s: --env-from %s=%s: %s is not set in the step's environment", *name, k, v, v)
			}
			spec.Env[k] = val
		}
		for _, v := range volumes {
			spec.Volumes = append(spec.Volumes, resolveVolume(v, base))
		}
		if *logDriver != "" || len(logOpts) > 0 {
			spec.Logging = &Logging{Driver: *logDriver, Opts: logOpts}
		}
	}

	eng, err := connect(ctx, *host, func(k string) string { return s.env[k] })
	if err != nil {
		return err
	}
	defer eng.Close()
	if *stopTimeout > 0 {
		eng.StopTimeout = time.Duration(*stopTimeout) * time.Second
	}

	switch s.op {
	case "build-image":
		id, err := eng.BuildImage(ctx, BuildSpec{
			Context: abs(*ctxDir), Dockerfile: *dockerfile, Tags: tags, BuildArgs: buildArgs,
			ContextHash: *ctxHash, Labels: labels, Output: s.stdout,
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(s.stdout, "image %s: %s\n", tags[0], id)
		return s.publish("IMAGE_REF", id, "IMAGE_ID", id)
	case "remove-image":
		if err := eng.RemoveImage(ctx, tags); err != nil {
			return err
		}
		fmt.Fprintf(s.stdout, "image %s removed\n", strings.Join(tags, ", "))
	case "ensure-service":
		id, changed, err := eng.EnsureContainer(ctx, spec)
		if err != nil {
			return err
		}
		what := "unchanged"
		if changed {
			what = "started"
		}
		fmt.Fprintf(s.stdout, "service %s: container %s %s\n", spec.Name, shortID(id), what)
		return s.publish("CONTAINER_ID", id)
	case "remove-service":
		if err := eng.RemoveContainer(ctx, *name); err != nil {
			return fmt.Errorf("service %s: %w", *name, err)
		}
		fmt.Fprintf(s.stdout, "service %s removed\n", *name)
	case "ensure-network":
		d := *driver
		if d == "" {
			d = "bridge"
		}
		id, err := eng.EnsureNetwork(ctx, *name, d, labels)
		if err != nil {
			return err
		}
		fmt.Fprintf(s.stdout, "network %s: %s\n", *name, shortID(id))
		return s.publish("NETWORK_ID", id)
	case "remove-network":
		if err := eng.RemoveNetwork(ctx, *name); err != nil {
			return err
		}
		fmt.Fprintf(s.stdout, "network %s removed\n", *name)
	case "ensure-volume":
		d := *driver
		if d == "" {
			d = "local"
		}
		if err := eng.EnsureVolume(ctx, *name, d, labels); err != nil {
			return err
		}
		fmt.Fprintf(s.stdout, "volume %s ready\n", *name)
	case "remove-volume":
		if err := eng.RemoveVolume(ctx, *name); err != nil {
			return err
		}
		fmt.Fprintf(s.stdout, "volume %s removed\n", *name)
	case "inspect":
		st, err := eng.Inspect(ctx, *name)
		if err != nil {
			return err
		}
		b, _ := json.MarshalIndent(st, "", "  ")
		fmt.Fprintf(s.stdout, "%s\n", b)
	}
	return nil
}

// publish appends KEY=VALUE pairs to $CW_OUTPUT (when set).
func (s *stepRun) publish(kv ...string) error {
	path := s.env["CW_OUTPUT"]
	if path == "" {
		return nil
	}
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, "%s=%s\n", kv[i], kv[i+1])
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("write outputs: %w", err)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return fmt.Errorf("write outputs: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write outputs: %w", err)
	}
	return nil
}

// ParsePort parses "[HOST_IP:]EXTERNAL:INTERNAL[/PROTO]" (an IPv6 host IP
// in brackets). A missing host IP stays empty (EnsureContainer binds
// 127.0.0.1).
func ParsePort(s string) (Port, error) {
	bad := func(why string) (Port, error) {
		return Port{}, fmt.Errorf("port %q: %s (want [HOST_IP:]EXTERNAL:INTERNAL[/tcp|udp])", s, why)
	}
	var p Port
	rest := s
	if i := strings.LastIndex(rest, "/"); i >= 0 {
		p.Protocol = strings.ToLower(rest[i+1:])
		rest = rest[:i]
		if p.Protocol != "tcp" && p.Protocol != "udp" {
			return bad("protocol must be tcp or udp")
		}
	}
	i := strings.LastIndex(rest, ":")
	if i < 0 {
		return bad("missing EXTERNAL:")
	}
	internal, err := strconv.Atoi(rest[i+1:])
	if err != nil || internal <= 0 || internal > 65535 {
		return bad("bad internal port")
	}
	p.Internal = internal
	rest = rest[:i]
	if j := strings.LastIndex(rest, ":"); j >= 0 {
		p.HostIP = strings.TrimSuffix(strings.TrimPrefix(rest[:j], "["), "]")
		rest = rest[j+1:]
	}
	external, err := strconv.Atoi(rest)
	if err != nil || external < 0 || external > 65535 {
		return bad("bad external port")
	}
	p.External = external
	return p, nil
}

// FormatPort is the inverse of ParsePort.
func FormatPort(p Port) string {
	var b strings.Builder
	if p.HostIP != "" {
		if strings.Contains(p.HostIP, ":") {
			fmt.Fprintf(&b, "[%s]:", p.HostIP)
		} else {
			b.WriteString(p.HostIP + ":")
		}
	}
	fmt.Fprintf(&b, "%d:%d", p.External, p.Internal)
	if p.Protocol != "" {
		b.WriteString("/" + p.Protocol)
	}
	return b.String()
}

// resolveVolume makes a relative bind source ("./data:/data") absolute
// against base; named volumes and absolute paths stay as they are.
func resolveVolume(v, base string) string {
	src, rest, ok := strings.Cut(v, ":")
	if !ok || !(strings.HasPrefix(src, "./") || strings.HasPrefix(src, "../") || src == "." || src == "..") {
		return v
	}
	return filepath.Join(base, src) + ":" + rest
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
