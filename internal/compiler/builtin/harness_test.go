package builtin

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/facts"
)

// localFacts reports this machine's bash, python3 and git as present (their
// presence is all the compiler looks at), skipping when one is missing.
func localFacts(t *testing.T) *facts.Facts {
	t.Helper()
	f := &facts.Facts{OS: "linux", Arch: "amd64", Runtimes: map[string]facts.Runtime{}}
	for _, name := range []string{"bash", "python3", "git", "sh"} {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Skipf("%s is not installed", name)
		}
		if name == "git" {
			f.Git = facts.Runtime{Present: true, Path: p}
			continue
		}
		f.Runtimes[name] = facts.Runtime{Present: true, Path: p}
	}
	return f
}

// withoutPython is f with python3 absent.
func withoutPython(f *facts.Facts) *facts.Facts {
	g := *f
	g.Runtimes = map[string]facts.Runtime{}
	for k, v := range f.Runtimes {
		g.Runtimes[k] = v
	}
	g.Runtimes["python3"] = facts.Runtime{}
	return &g
}

// actionList wraps steps into a valid ActionList.
func actionList(t *testing.T, steps ...contract.Step) *contract.ActionList {
	t.Helper()
	for i := range steps {
		if steps[i].Change == "" {
			steps[i].Change = contract.ChangeCreate
		}
		if steps[i].ID == "" {
			steps[i].ID = contract.StepID(steps[i].Resource, steps[i].Name)
		}
		if steps[i].Args == nil {
			steps[i].Args = map[string]any{}
		}
	}
	fp, err := contract.ComputeFingerprint(steps)
	if err != nil {
		t.Fatal(err)
	}
	return &contract.ActionList{Version: contract.Version, Fingerprint: fp, Steps: steps}
}

func step(resource, name string, args map[string]any) contract.Step {
	return contract.Step{ID: contract.StepID(resource, name), Resource: resource, Name: name, Args: args,
		Source: &contract.Source{File: "main.cw", Line: 3, Col: 1}}
}

// sandbox is a configuration directory with its .clockwork/ tree, laid out
// as the executor lays it out.
type sandbox struct {
	root, state, build string
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	root := t.TempDir()
	s := &sandbox{root: root, state: filepath.Join(root, ".clockwork")}
	s.build = filepath.Join(s.state, "build")
	if err := os.MkdirAll(s.build, 0o755); err != nil {
		t.Fatal(err)
	}
	return s
}

// compile compiles steps, checks the bundle against its schema and writes
// its artifacts into the build directory.
func (s *sandbox) compile(t *testing.T, f *facts.Facts, steps ...contract.Step) *contract.Bundle {
	t.Helper()
	b, err := New().Compile(t.Context(), actionList(t, steps...), f)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	if _, err := contract.MarshalValidated(contract.SchemaBundle, b); err != nil {
		t.Fatalf("bundle does not validate: %v", err)
	}
	for _, a := range b.Artifacts {
		p := filepath.Join(s.build, a.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if a.Mode == "0755" {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(a.Content), mode); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// result is one script run.
type result struct {
	out     string            // stdout and stderr
	outputs map[string]string // what it wrote to $CW_OUTPUT
	err     error
}

// run runs the bundle step of id as the executor would: in the build
// directory, in its own process group, with an explicit environment.
func (s *sandbox) run(t *testing.T, b *contract.Bundle, id string, extraEnv ...string) result {
	t.Helper()
	bs := b.StepFor(id)
	if bs == nil {
		t.Fatalf("no bundle step for %s", id)
	}
	outFile := filepath.Join(t.TempDir(), "output")
	if err := os.WriteFile(outFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"CW_ROOT=" + s.root, "CW_BUILD=" + s.build, "CW_STATE_DIR=" + s.state,
		"CW_OUTPUT=" + outFile, "CW_STEP_ID=" + id, "CW_CHANGE=create",
	}
	for k, v := range b.Vars {
		env = append(env, k+"="+v.(string))
	}
	for k, v := range bs.Run.Env {
		env = append(env, k+"="+v)
	}
	env = append(env, extraEnv...)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bs.Run.Cmd[0], bs.Run.Cmd[1:]...)
	cmd.Dir = s.build
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	r := result{out: out.String(), outputs: map[string]string{}, err: err}
	data, _ := os.ReadFile(outFile)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			r.outputs[k] = v
		}
	}
	t.Logf("run %s: err=%v\n%s", id, err, r.out)
	return r
}

// ok fails the test when the run failed.
func (r result) ok(t *testing.T) result {
	t.Helper()
	if r.err != nil {
		t.Fatalf("script failed: %v\n%s", r.err, r.out)
	}
	return r
}

// fails fails the test when the run succeeded or its output lacks want.
func (r result) fails(t *testing.T, want string) {
	t.Helper()
	if r.err == nil {
		t.Fatalf("script succeeded; want a failure mentioning %q\n%s", want, r.out)
	}
	if !strings.Contains(r.out, want) {
		t.Fatalf("output lacks %q:\n%s", want, r.out)
	}
}

// says fails the test when the output lacks want.
func (r result) says(t *testing.T, want string) result {
	t.Helper()
	if !strings.Contains(r.out, want) {
		t.Fatalf("output lacks %q:\n%s", want, r.out)
	}
	return r
}
