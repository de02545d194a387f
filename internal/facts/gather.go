package facts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/client"
)

// Probe timeouts used by Gather.
const (
	// ProbeTimeout bounds each `<runtime> --version` probe.
	ProbeTimeout = 2 * time.Second
	// EngineTimeout bounds the container engine ping (all candidate hosts).
	EngineTimeout = 1 * time.Second
)

// AllowedRuntimes returns the allowlisted runtime names, in the order facts
// reports them.
func AllowedRuntimes() []string {
	return []string{"bash", "sh", "python3", "node", "deno", "go"}
}

// versionArgs is how each runtime reports its version; nil means the runtime
// has no version flag (sh) and is reported as present only.
func versionArgs(name string) []string {
	switch name {
	case "sh":
		return nil
	case "go":
		return []string{"version"}
	default:
		return []string{"--version"}
	}
}

// gatherer holds the knobs of one Gather run; tests shorten the timeouts and
// replace the socket candidates.
type gatherer struct {
	probeTimeout  time.Duration
	engineTimeout time.Duration
	// sockets, when non-nil, replaces the standard socket candidates.
	sockets []string
}

// Gather inspects the machine: OS, architecture, every allowlisted runtime
// and git found on the PATH given in environ (not the process's own PATH),
// with their versions, and whether a container engine answers (DOCKER_HOST
// from environ, else the standard Docker and Podman sockets). Probes run
// concurrently, each with a short timeout, so Gather returns quickly even
// when a tool hangs. Gather never fails: what cannot be found is reported as
// absent, with the reason where there is one.
func Gather(ctx context.Context, environ []string) *Facts {
	g := gatherer{probeTimeout: ProbeTimeout, engineTimeout: EngineTimeout}
	return g.gather(ctx, environ)
}

func (g gatherer) gather(ctx context.Context, environ []string) *Facts {
	names := AllowedRuntimes()
	f := &Facts{
		OS:       runtime.GOOS,
		Arch:     runtime.GOARCH,
		Runtimes: make(map[string]Runtime, len(names)),
	}
	path := lookupEnv(environ, "PATH")
	results := make([]Runtime, len(names))

	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { results[i] = g.probe(ctx, environ, path, name, versionArgs(name)) })
	}
	wg.Go(func() { f.Git = g.probe(ctx, environ, path, "git", []string{"--version"}) })
	wg.Go(func() { f.Engine = g.engine(ctx, environ) })
	wg.Wait()

	for i, name := range names {
		f.Runtimes[name] = results[i]
	}
	return f
}

// probe finds name on path and, when args is non-nil, runs it to read its
// version. A tool that is found but fails its version probe is reported as
// absent with the error: a runtime that cannot print its version cannot be
// trusted to run a script either (a pyenv shim without an installed version,
// say).
func (g gatherer) probe(ctx context.Context, environ []string, path, name string, args []string) Runtime {
	p, err := lookPath(path, name)
	if err != nil {
		return Runtime{}
	}
	rt := Runtime{Present: true, Path: p}
	if args == nil {
		return rt
	}
	ctx, cancel := context.WithTimeout(ctx, g.probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p, args...)
	cmd.Env = environ
	cmd.Stdin = nil
	cmd.WaitDelay = 100 * time.Millisecond
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("timed out after %s", g.probeTimeout)
		}
		msg := firstLine(out.String())
		if msg != "" {
			msg = ": " + msg
		}
		return Runtime{Path: p, Error: fmt.Sprintf("%s %s: %v%s", name, strings.Join(args, " "), err, msg)}
	}
	rt.Version = parseVersion(out.String())
	return rt
}

// lookPath finds an executable regular file called name in the directories
// of path. Empty and relative entries are skipped: they would make the
// answer depend on the current directory.
func lookPath(path, name string) (string, error) {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
			continue
		}
		return p, nil
	}
	return "", fs.ErrNotExist
}

var versionRE = regexp.MustCompile(`\d+\.\d+(?:\.\d+)?`)

// parseVersion extracts the first dotted version number of the first line
// ("GNU bash, version 5.2.15(1)-release" -> "5.2.15", "v20.1.0" -> "20.1.0",
// "go version go1.26.8 linux/amd64" -> "1.26.8"); when there is none it
// returns the first line itself.
func parseVersion(out string) string {
	line := firstLine(out)
	if v := versionRE.FindString(line); v != "" {
		return v
	}
	return line
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// lookupEnv returns the last value of key in environ (the last one wins, as
// in os/exec).
func lookupEnv(environ []string, key string) string {
	val := ""
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			val = v
		}
	}
	return val
}

// engineHosts lists the hosts to try: DOCKER_HOST alone when set, else the
// standard sockets that exist.
func (g gatherer) engineHosts(environ []string) (hosts []string, tried string) {
	if h := lookupEnv(environ, "DOCKER_HOST"); h != "" {
		return []string{h}, "DOCKER_HOST=" + h
	}
	candidates := g.sockets
	if candidates == nil {
		candidates = []string{"/var/run/docker.sock", "/run/podman/podman.sock"}
		if xdg := lookupEnv(environ, "XDG_RUNTIME_DIR"); xdg != "" {
			candidates = append(candidates, filepath.Join(xdg, "podman", "podman.sock"))
		}
	}
	for _, s := range candidates {
		if st, err := os.Stat(s); err == nil && st.Mode().Type() == fs.ModeSocket {
			hosts = append(hosts, "unix://"+s)
		}
	}
	return hosts, strings.Join(candidates, ", ")
}

// engine pings each candidate host in turn through the Docker Engine API
// client and reports the first that answers.
func (g gatherer) engine(ctx context.Context, environ []string) Engine {
	hosts, tried := g.engineHosts(environ)
	if len(hosts) == 0 {
		return Engine{Error: "no container engine socket found (DOCKER_HOST is not set; looked for " + tried + ")"}
	}
	ctx, cancel := context.WithTimeout(ctx, g.engineTimeout)
	defer cancel()
	var errs []error
	for _, h := range hosts {
		e, err := ping(ctx, h)
		if err == nil {
			return e
		}
		errs = append(errs, fmt.Errorf("%s: %w", h, err))
	}
	return Engine{Host: hosts[0], Error: errors.Join(errs...).Error()}
}

func ping(ctx context.Context, host string) (Engine, error) {
	c, err := client.New(client.WithHost(host))
	if err != nil {
		return Engine{}, fmt.Errorf("engine client: %w", err)
	}
	defer c.Close()
	p, err := c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	if err != nil {
		return Engine{}, fmt.Errorf("ping: %w", err)
	}
	e := Engine{Available: true, Host: host, APIVersion: p.APIVersion}
	// The version is a nicety: an engine that answers the ping is available
	// even when /version fails.
	if v, err := c.ServerVersion(ctx, client.ServerVersionOptions{}); err == nil {
		e.Version = v.Version
		e.Name = v.Platform.Name
		if v.APIVersion != "" {
			e.APIVersion = v.APIVersion
		}
	}
	return e, nil
}
