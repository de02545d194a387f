package builtin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/facts"
	"github.com/clockwork-iac/clockwork/internal/forge"
)

// settingsVersion changes whenever the generated scripts change for the same
// input, so forge drops bundles cached from an older compiler.
const settingsVersion = "builtin/v1"

// maxRetries and maxTimeout are the bundle schema's bounds for a run.
const (
	maxRetries = 10
	maxTimeout = 86400
)

// Compiler is the built-in compiler. The zero value is ready to use.
type Compiler struct{}

var _ forge.Compiler = (*Compiler)(nil)

// New returns the built-in compiler.
func New() *Compiler { return &Compiler{} }

// Name returns "builtin".
func (c *Compiler) Name() string { return "builtin" }

// Settings returns "builtin/v1". The bundle also depends on which runtimes
// the facts report (verify_http is python3 when present, bash otherwise);
// RuntimeKey returns that part.
func (c *Compiler) Settings() string { return settingsVersion }

// RuntimeKey returns the part of f that changes what Compile generates
// ("bash=1,git=1,python3=0"), for a cache key beside Settings. Versions do
// not matter; presence does.
func RuntimeKey(f *facts.Facts) string {
	if f == nil {
		return "facts=none"
	}
	b := func(ok bool) string {
		if ok {
			return "1"
		}
		return "0"
	}
	return "bash=" + b(f.Has("bash")) + ",git=" + b(f.Git.Present) + ",python3=" + b(f.Has("python3"))
}

// StepError is one step the compiler cannot compile.
type StepError struct {
	StepID   string
	Resource string
	Kind     string
	Err      error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("step %s (resource %s): %v", e.StepID, e.Resource, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// CompileError lists every step that cannot be compiled, in ActionList order.
type CompileError struct {
	Steps []*StepError
}

func (e *CompileError) Error() string {
	if len(e.Steps) == 1 {
		return "built-in compiler: " + e.Steps[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "built-in compiler: %d steps cannot be compiled:", len(e.Steps))
	for _, s := range e.Steps {
		b.WriteString("\n  ")
		b.WriteString(s.Error())
	}
	return b.String()
}

// Unwrap returns the step errors, for errors.Is and errors.As.
func (e *CompileError) Unwrap() []error {
	out := make([]error, len(e.Steps))
	for i, s := range e.Steps {
		out[i] = s
	}
	return out
}

// Errors the compiler returns inside a StepError, for errors.Is.
var (
	// ErrContainer: the step needs the container work (build_image,
	// container services, networks, volumes, remove_image).
	ErrContainer = errors.New("container steps are not supported by the built-in compiler yet")
	// ErrCustom: a task's free-form intent needs an LLM compiler.
	ErrCustom = errors.New("only an LLM compiler can compile a task's free-form intent: use --compiler openai")
	// ErrMissingRuntime: the facts say a runtime or tool the step needs is
	// not installed.
	ErrMissingRuntime = errors.New("missing runtime")
)

// Compile returns a bundle with one bundle step and one script per
// ActionList step (see the package doc). f says which runtimes are present;
// nil facts (not gathered) means bash only, unchecked. All problems are
// returned together as a *CompileError.
func (c *Compiler) Compile(ctx context.Context, al *contract.ActionList, f *facts.Facts) (*contract.Bundle, error) {
	if al == nil {
		return nil, errors.New("built-in compiler: no action list")
	}
	b := &contract.Bundle{
		Version:     contract.Version,
		Fingerprint: al.Fingerprint,
		Compiler:    c.Name(),
		Artifacts:   []contract.Artifact{},
		Steps:       []contract.BundleStep{},
	}
	width := len(strconv.Itoa(len(al.Steps)))
	if width < 2 {
		width = 2
	}
	var cerr CompileError
	for i := range al.Steps {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("built-in compiler: %w", err)
		}
		st := &al.Steps[i]
		u := &unit{
			step:  st,
			facts: f,
			base:  fmt.Sprintf("scripts/%0*d_%s", width, i+1, slug(st.ID)),
			env:   map[string]string{},
		}
		arts, run, errs := c.compileStep(u)
		if len(errs) > 0 {
			for _, err := range errs {
				cerr.Steps = append(cerr.Steps, &StepError{StepID: st.ID, Resource: st.Resource, Kind: st.Name, Err: err})
			}
			continue
		}
		b.Artifacts = append(b.Artifacts, arts...)
		b.Steps = append(b.Steps, contract.BundleStep{Purpose: st.ID, Run: run})
	}
	if len(cerr.Steps) > 0 {
		return nil, &cerr
	}
	return b, nil
}

// unit is one step being compiled.
type unit struct {
	step  *contract.Step
	facts *facts.Facts
	// base is the artifact path without extension: scripts/NN_<slug>.
	base string
	// env becomes the bundle step's run.env.
	env map[string]string
	// errs are the step's problems (bad args, missing runtimes).
	errs []error
	// extra artifacts (a file's content) beside the script.
	extra []contract.Artifact
}

func (u *unit) errorf(format string, a ...any) {
	u.errs = append(u.errs, fmt.Errorf(format, a...))
}

// script is what a kind generator returns.
type script struct {
	lang string // langBash or langPython
	// inputs documents the environment the script reads, for its header.
	inputs []input
	body   string
}

type input struct{ name, doc string }

const (
	langBash   = "bash"
	langPython = "python"
)

// compileStep generates the artifacts and run of one step.
func (c *Compiler) compileStep(u *unit) ([]contract.Artifact, contract.Run, []error) {
	st := u.step
	a := &args{u: u}
	var sc script
	var err error
	switch st.Name {
	case contract.StepEnsureFile:
		sc = ensureFile(u, a)
	case contract.StepRemoveFile:
		sc = removeFile(u, a)
	case contract.StepEnsureDirectory:
		sc = ensureDirectory(u, a)
	case contract.StepRemoveDirectory:
		sc = removeDirectory(u, a)
	case contract.StepFetchRepo:
		u.needGit()
		sc = fetchRepo(u, a)
	case contract.StepRemoveRepo:
		sc = removeRepo(u, a)
	case contract.StepRunCommand:
		sc = runCommand(u, a)
	case contract.StepVerifyHTTP:
		sc = verifyHTTP(u, a)
	case contract.StepVerifyTCP:
		sc = verifyTCP(u, a)
	case contract.StepVerifyFile:
		sc = verifyFile(u, a)
	case contract.StepVerifyCommand:
		sc = verifyCommand(u, a)
	case contract.StepEnsureService, contract.StepRemoveService:
		switch kind := serviceKind(st.Args); kind {
		case "process":
			if st.Name == contract.StepEnsureService {
				sc = ensureProcess(u, a)
			} else {
				sc = removeProcess(u, a)
			}
		case "container":
			sc, err = c.containerStep(u, a)
		default:
			u.errorf("service kind %q is neither \"process\" nor \"container\"", kind)
		}
	case contract.StepBuildImage, contract.StepRemoveImage,
		contract.StepEnsureNetwork, contract.StepRemoveNetwork,
		contract.StepEnsureVolume, contract.StepRemoveVolume:
		sc, err = c.containerStep(u, a)
	case contract.StepCustom:
		err = ErrCustom
	default:
		err = fmt.Errorf("unknown step kind %q", st.Name)
	}
	if err != nil {
		u.errs = append(u.errs, err)
	}
	if len(u.errs) > 0 {
		return nil, contract.Run{}, u.errs
	}
	if u.facts != nil {
		rt := "bash"
		if sc.lang == langPython {
			rt = "python3"
		}
		if !u.facts.Has(rt) {
			u.errs = append(u.errs, fmt.Errorf("%w: the script needs %s, which is not installed (see `clockwork facts`)", ErrMissingRuntime, rt))
			return nil, contract.Run{}, u.errs
		}
	}

	ext, runtime, mode := ".sh", "bash", "0755"
	if sc.lang == langPython {
		ext, runtime = ".py", "python3"
	}
	path := u.base + ext
	art := contract.Artifact{
		Path:    path,
		Mode:    mode,
		Purpose: st.ID,
		Lang:    sc.lang,
		Content: header(st, sc, path) + sc.body,
	}
	run := contract.Run{
		Cmd:     []string{runtime, path},
		Timeout: min(max(st.Timeout, 0), maxTimeout),
		Retries: min(max(st.Retries, 0), maxRetries),
	}
	if len(u.env) > 0 {
		run.Env = u.env
	}
	return append([]contract.Artifact{art}, u.extra...), run, nil
}

// needGit records an error when the facts say git is missing.
func (u *unit) needGit() {
	if u.facts != nil && !u.facts.Git.Present {
		u.errs = append(u.errs, fmt.Errorf("%w: %s needs git, which is not installed (see `clockwork facts`)", ErrMissingRuntime, u.step.Name))
	}
}

// serviceKind is the service's kind arg, else "container" when it has an
// image and "process" otherwise.
func serviceKind(args map[string]any) string {
	if k, ok := args["kind"].(string); ok {
		return k
	}
	if _, ok := args["image"]; ok {
		return "container"
	}
	if _, ok := args["imageVar"]; ok {
		return "container"
	}
	return "process"
}

// slug turns a step id into [a-z0-9_]+: "service.web/ensure_service" ->
// "service_web_ensure_service". Long ids are cut and suffixed with a short
// hash so paths stay within the bundle's 255-byte limit.
func slug(id string) string {
	var b strings.Builder
	under := true
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteByte(c)
			under = false
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c - 'A' + 'a')
			under = false
		default:
			if !under {
				b.WriteByte('_')
				under = true
			}
		}
	}
	s := strings.Trim(b.String(), "_")
	if s == "" {
		s = "step"
	}
	const maxLen = 120
	if len(s) > maxLen {
		sum := sha256.Sum256([]byte(id))
		s = strings.TrimRight(s[:maxLen-9], "_") + "_" + hex.EncodeToString(sum[:4])
	}
	return s
}
