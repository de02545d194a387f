package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

// Status reports whether this kernel can confine steps: the Landlock ABI
// version it offers (0 when none) and, when it cannot, why.
func Status() (abi int, ok bool, reason string) {
	abi, reason = probe()
	return abi, abi > 0, reason
}

// Summary is the line `clockwork apply` prints about confinement:
// "steps confined with Landlock ABI N" or "Landlock unavailable (reason):
// steps run unconfined".
func Summary() string {
	abi, ok, reason := Status()
	if !ok {
		return fmt.Sprintf("Landlock unavailable (%s): steps run unconfined", reason)
	}
	return fmt.Sprintf("steps confined with Landlock ABI %d", abi)
}

// ErrTooWide is wrapped by Writable when allowing a step's declared path
// would mean allowing "/" or, for a relative path, a directory above
// CW_ROOT.
var ErrTooWide = errors.New("confinement would be too wide")

// Config says how steps are confined. The zero value is not usable: Clockwork,
// Root and StateDir are required and absolute.
type Config struct {
	// Clockwork is the clockwork binary, re-executed as
	// "clockwork step sandbox ... -- CMD" in front of every step.
	Clockwork string
	// Root is CW_ROOT (relative declared paths resolve against it) and
	// StateDir CW_STATE_DIR (.clockwork, writable by every step).
	Root, StateDir string
	// Extra are more paths every step may write beneath.
	Extra []string
	// Require makes the sandbox refuse to run a step when the kernel
	// cannot confine it, instead of running it unconfined.
	Require bool
}

// TempDir is the directory a confined step gets as TMPDIR, beneath
// StateDir: a confined step may not write the system temporary directory.
func (c *Config) TempDir() string { return filepath.Join(c.StateDir, "tmp") }

// Prefix returns the argv to put in front of s's command so that it runs
// confined: [Clockwork step sandbox --tmpdir T [--require] --write P... --].
// It is the function to give executor.Options.Confine.
func (c *Config) Prefix(s contract.Step) ([]string, error) {
	w, err := c.Writable(s)
	if err != nil {
		return nil, err
	}
	argv := []string{c.Clockwork, "step", "sandbox", "--tmpdir", c.TempDir()}
	if c.Require {
		argv = append(argv, "--require")
	}
	for _, p := range w {
		argv = append(argv, "--write", p)
	}
	return append(argv, "--"), nil
}

// Thread returns a hook for runner.Request.Confine that restricts the
// calling OS thread to s's writable paths (the step's command, started from
// that thread, inherits it). It is the in-process form of Prefix: no
// re-exec of the clockwork binary per step. Without Landlock the hook does
// nothing, or fails when Require is set.
func (c *Config) Thread(s contract.Step) (func() error, error) {
	w, err := c.Writable(s)
	if err != nil {
		return nil, err
	}
	// The base directories must exist for their rules to apply (a rule for
	// a missing path is skipped, and a confined step could not create it).
	for _, d := range []string{c.TempDir(), filepath.Join(c.StateDir, "services"), filepath.Join(c.StateDir, "logs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	abi, ok, reason := Status()
	return func() error {
		if !ok {
			if c.Require {
				return fmt.Errorf("Landlock unavailable (%s) and confinement is required", reason)
			}
			return nil
		}
		return confineThread(abi, w)
	}, nil
}

// devWritable are the device files and directories every step may write.
var devWritable = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/pts"}

// Writable returns the sorted paths s may write beneath: the base set
// (StateDir's tmp, services and logs, a few /dev entries, Extra) and what its kind and args declare (see the
// package doc). A declared path that is only known at run time ("pathVar")
// adds nothing.
func (c *Config) Writable(s contract.Step) ([]string, error) {
	// Of .clockwork/ a step may write only its temporary files (TMPDIR and
	// CW_OUTPUT live in tmp/), process services' pid and log files
	// (services/) and the run's logs (logs/: a script that opens
	// /dev/stderr reopens its log file). build/, state*, proposals/ and
	// runbooks/ stay read-only, so no step can rewrite a script that was
	// validated for a later step, or state. Of /dev, only the usual
	// character devices and terminals.
	set := map[string]bool{
		c.TempDir():                           true,
		filepath.Join(c.StateDir, "services"): true,
		filepath.Join(c.StateDir, "logs"):     true,
	}
	for _, d := range devWritable {
		set[d] = true
	}
	for _, p := range c.Extra {
		set[filepath.Clean(p)] = true
	}
	add := func(arg string, parent bool) error {
		v, ok := s.Args[arg].(string)
		if !ok || v == "" {
			return nil
		}
		p, err := c.allow(v, parent)
		if err != nil {
			return fmt.Errorf("%s %s: %w", arg, v, err)
		}
		set[p] = true
		return nil
	}
	workdir := func() error {
		if _, ok := s.Args["workdir"].(string); ok {
			return add("workdir", false)
		}
		set[filepath.Clean(c.Root)] = true
		return nil
	}
	var err error
	switch s.Name {
	case contract.StepEnsureFile, contract.StepRemoveFile,
		contract.StepRemoveDirectory, contract.StepRemoveRepo:
		err = add("path", true)
	case contract.StepEnsureDirectory, contract.StepFetchRepo:
		err = add("path", false)
	case contract.StepRunCommand:
		err = errors.Join(workdir(), add("creates", true))
	case contract.StepVerifyCommand:
		err = workdir()
	case contract.StepEnsureService:
		if s.Args["kind"] == "process" {
			err = workdir()
		}
	case contract.StepBuildImage, contract.StepRemoveImage, contract.StepRemoveService,
		contract.StepEnsureNetwork, contract.StepRemoveNetwork,
		contract.StepEnsureVolume, contract.StepRemoveVolume,
		contract.StepVerifyHTTP, contract.StepVerifyTCP, contract.StepVerifyFile:
		// The base set: container steps talk to the engine over its socket.
	default: // custom and kinds this table does not know
		set[filepath.Clean(c.Root)] = true
	}
	if err != nil {
		return nil, fmt.Errorf("confine %s: %w", s.ID, err)
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

// allow returns the directory to make writable for the declared path v:
// v itself (or its parent directory when parent is set), or, when that does
// not exist yet, its nearest existing ancestor, so that `mkdir -p` works.
// It refuses "/" and, for a relative v, an ancestor above Root.
func (c *Config) allow(v string, parent bool) (string, error) {
	p := v
	if !filepath.IsAbs(p) {
		p = filepath.Join(c.Root, p)
	}
	p = filepath.Clean(p)
	if parent {
		p = filepath.Dir(p)
	}
	a := p
	for {
		if _, err := os.Stat(a); err == nil {
			break
		}
		next := filepath.Dir(a)
		if next == a {
			break
		}
		a = next
	}
	if a == "/" {
		return "", fmt.Errorf("%w: it would make / writable", ErrTooWide)
	}
	if a != p && !filepath.IsAbs(v) && !within(a, c.Root) {
		return "", fmt.Errorf("%w: creating %s would make %s writable, above CW_ROOT", ErrTooWide, p, a)
	}
	return a, nil
}

// within reports whether p is root or beneath it.
func within(p, root string) bool {
	root = filepath.Clean(root)
	return p == root || strings.HasPrefix(p, root+string(filepath.Separator))
}
