package sandbox

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Exit codes of Main when the command does not run.
const (
	ExitUsage    = 2   // bad arguments
	ExitCannot   = 126 // confinement could not be applied (or was required and is unavailable)
	ExitNotFound = 127 // the command was not found
)

// Main is `clockwork step sandbox [--write PATH]... [--tmpdir DIR]
// [--require] -- CMD ARGS...`: it confines its own thread with Landlock so
// that only the --write paths (and what is beneath them) can be created,
// written, renamed or removed, then replaces the process with CMD, which
// gets environ (with TMPDIR=DIR when --tmpdir is given, DIR created).
// Reading, executing and the network stay allowed. Without kernel support
// CMD runs unconfined, unless --require. Main returns only when CMD could
// not be started: the exit code, after a message on stderr.
func Main(args []string, stderr io.Writer, environ []string) int {
	fs := flag.NewFlagSet("clockwork step sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var writes multi
	fs.Var(&writes, "write", "a `path` the command may write beneath (repeatable)")
	tmpdir := fs.String("tmpdir", "", "a `directory` to create and give the command as TMPDIR")
	require := fs.Bool("require", false, "fail instead of running unconfined when the kernel has no Landlock")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: clockwork step sandbox [--write PATH]... [--tmpdir DIR] [--require] -- CMD ARGS...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return ExitUsage
	}
	argv := fs.Args()
	if len(argv) == 0 {
		fs.Usage()
		return ExitUsage
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "clockwork step sandbox: "+format+"\n", a...)
		return code
	}
	env := append([]string(nil), environ...)
	if *tmpdir != "" {
		if err := os.MkdirAll(*tmpdir, 0o700); err != nil {
			return fail(ExitCannot, "%v", err)
		}
		env = setEnv(env, "TMPDIR", *tmpdir)
	}
	path, err := lookPath(argv[0], env)
	if err != nil {
		return fail(ExitNotFound, "%v", err)
	}
	abi, reason := probe()
	switch {
	case abi == 0 && *require:
		return fail(ExitCannot, "Landlock unavailable (%s) and confinement is required", reason)
	case abi > 0:
		if err := restrictThread(abi, writes); err != nil {
			return fail(ExitCannot, "confine: %v", err)
		}
	}
	err = syscall.Exec(path, argv, env)
	if errors.Is(err, syscall.ENOENT) {
		return fail(ExitNotFound, "%s: %v", argv[0], err)
	}
	return fail(ExitCannot, "%s: %v", argv[0], err)
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func setEnv(env []string, k, v string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, k+"=") {
			out = append(out, kv)
		}
	}
	return append(out, k+"="+v)
}

// lookPath finds name as runner.Local does: with a slash it is a path
// (relative to the working directory), without one it is searched in the
// PATH of env.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	pathVar := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathVar = v
		}
	}
	for _, dir := range filepath.SplitList(pathVar) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in PATH", name)
}
