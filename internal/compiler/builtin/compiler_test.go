package builtin

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/facts"
	"github.com/clockwork-iac/clockwork/internal/forge"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// fixedFacts is a machine with bash, sh, python3 and git, independent of
// the machine the tests run on.
func fixedFacts() *facts.Facts {
	return &facts.Facts{
		OS: "linux", Arch: "amd64",
		Runtimes: map[string]facts.Runtime{
			"bash":    {Present: true, Path: "/usr/bin/bash", Version: "5.2.15"},
			"sh":      {Present: true, Path: "/usr/bin/sh"},
			"python3": {Present: true, Path: "/usr/bin/python3", Version: "3.11.7"},
		},
		Git: facts.Runtime{Present: true, Path: "/usr/bin/git", Version: "2.39.5"},
	}
}

// everyKind is one step of every kind the built-in compiler compiles.
func everyKind(t *testing.T) *contract.ActionList {
	src := func(line int) *contract.Source { return &contract.Source{File: "main.cw", Line: line, Col: 1} }
	steps := []contract.Step{
		{Resource: "file.index", Name: contract.StepEnsureFile, Args: map[string]any{"path": "site/index.html", "mode": "0644", "content": "<h1>hi</h1>\n", "sha256": "x"}},
		{Resource: "file.old", Name: contract.StepRemoveFile, Change: contract.ChangeDelete, Args: map[string]any{"path": "old.txt"}},
		{Resource: "directory.site", Name: contract.StepEnsureDirectory, Args: map[string]any{"path": "site", "mode": "0755"}},
		{Resource: "directory.tmp", Name: contract.StepRemoveDirectory, Change: contract.ChangeDelete, Args: map[string]any{"path": "tmp"}},
		{Resource: "git_repo.app", Name: contract.StepFetchRepo, Args: map[string]any{"url": "https://example.com/app.git", "ref": "v1.2.0", "path": "src/app", "depth": int64(0)}},
		{Resource: "git_repo.old", Name: contract.StepRemoveRepo, Change: contract.ChangeDelete, Args: map[string]any{"path": "src/old"}},
		{Resource: "command.migrate", Name: contract.StepRunCommand, Args: map[string]any{
			"command": "./migrate.sh", "creates": "db/.migrated", "environment": map[string]any{"DB_PASSWORD": map[string]any{"fromEnv": "CW_SECRET_COMMAND_MIGRATE_ENVIRONMENT_DB_PASSWORD"}, "MODE": "full"}, "workdir": "db"},
			SecretEnv: []string{"CW_SECRET_COMMAND_MIGRATE_ENVIRONMENT_DB_PASSWORD"}},
		{Resource: "service.web", Name: contract.StepEnsureService, ConfigHash: "sha256:abc", Args: map[string]any{
			"kind": "process", "name": "web", "command": []any{"python3", "-m", "http.server", "8080"}, "workdir": "site", "environment": map[string]any{"PYTHONUNBUFFERED": "1"}}},
		{Resource: "service.web", Name: contract.StepVerifyHTTP, Args: map[string]any{"url": "http://127.0.0.1:8080/", "expect_status": int64(200), "retries": int64(3), "interval": int64(2), "timeout": int64(5)}},
		{Resource: "service.old", Name: contract.StepRemoveService, Change: contract.ChangeDelete, Args: map[string]any{"kind": "process", "name": "old"}},
		{Resource: "check.db", Name: contract.StepVerifyTCP, Args: map[string]any{"address": "127.0.0.1:5432", "timeout": int64(2)}},
		{Resource: "check.index", Name: contract.StepVerifyFile, Args: map[string]any{"path": "site/index.html"}},
		{Resource: "check.cmd", Name: contract.StepVerifyCommand, Change: contract.ChangeNoop, Args: map[string]any{"command": []any{"test", "-d", "site"}, "timeout": int64(10)}},
	}
	for i := range steps {
		steps[i].ID = contract.StepID(steps[i].Resource, steps[i].Name)
		steps[i].Source = src(10 + i)
	}
	return actionList(t, steps...)
}

func TestGolden(t *testing.T) {
	al := everyKind(t)
	b, err := New().Compile(t.Context(), al, fixedFacts())
	if err != nil {
		t.Fatal(err)
	}
	bashOnly, err := New().Compile(t.Context(), al, withoutPython(fixedFacts()))
	if err != nil {
		t.Fatal(err)
	}
	golden := map[string]string{}
	for _, a := range b.Artifacts {
		st := al.Step(a.Purpose)
		name := st.Name
		if strings.HasSuffix(a.Path, ".content") {
			name += "_content"
		}
		golden[name] = a.Content
	}
	for _, a := range bashOnly.Artifacts {
		if al.Step(a.Purpose).Name == contract.StepVerifyHTTP {
			golden["verify_http_bash"] = a.Content
		}
	}
	// The bundle without script bodies: paths, modes, langs, runs, env.
	skeleton := *b
	skeleton.Artifacts = nil
	for _, a := range b.Artifacts {
		a.Content = "..."
		skeleton.Artifacts = append(skeleton.Artifacts, a)
	}
	data, err := contract.Marshal(skeleton)
	if err != nil {
		t.Fatal(err)
	}
	golden["bundle"] = string(data)

	for name, got := range golden {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name+".golden")
			if *update {
				os.MkdirAll("testdata", 0o755)
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", path, diff)
			}
		})
	}
}

func TestBundleShape(t *testing.T) {
	al := everyKind(t)
	b, err := New().Compile(t.Context(), al, fixedFacts())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := contract.MarshalValidated(contract.SchemaBundle, b); err != nil {
		t.Fatalf("bundle does not validate: %v", err)
	}
	if b.Compiler != "builtin" || b.Fingerprint != al.Fingerprint || b.Version != contract.Version {
		t.Errorf("bundle header = %q %q %q", b.Compiler, b.Fingerprint, b.Version)
	}
	if len(b.Steps) != len(al.Steps) {
		t.Fatalf("%d bundle steps for %d planned steps", len(b.Steps), len(al.Steps))
	}
	scripts := 0
	for i, bs := range b.Steps {
		if bs.Purpose != al.Steps[i].ID {
			t.Errorf("bundle step %d has purpose %s; want %s", i, bs.Purpose, al.Steps[i].ID)
		}
		if len(bs.Run.Cmd) != 2 || (bs.Run.Cmd[0] != "bash" && bs.Run.Cmd[0] != "python3") {
			t.Errorf("step %s runs %v", bs.Purpose, bs.Run.Cmd)
		}
	}
	for _, a := range b.Artifacts {
		switch {
		case strings.HasSuffix(a.Path, ".content"):
			if a.Mode != "0644" || a.Lang != "text" {
				t.Errorf("%s: mode %s lang %s; want 0644 text", a.Path, a.Mode, a.Lang)
			}
		default:
			scripts++
			shebang := map[string]string{langBash: "#!/usr/bin/env bash\n", langPython: "#!/usr/bin/env python3\n"}[a.Lang]
			if a.Mode != "0755" || shebang == "" || !strings.HasPrefix(a.Content, shebang) {
				t.Errorf("%s: mode %s lang %s starts %q", a.Path, a.Mode, a.Lang, a.Content[:min(len(a.Content), 30)])
			}
			if !strings.Contains(a.Content, "# Clockwork step "+a.Purpose+"\n") || !strings.Contains(a.Content, "declared:  main.cw:") {
				t.Errorf("%s: header lacks the step or its source", a.Path)
			}
			if b.StepFor(a.Purpose).Run.Cmd[1] != a.Path {
				t.Errorf("%s is not what step %s runs", a.Path, a.Purpose)
			}
		}
	}
	if scripts != len(al.Steps) {
		t.Errorf("%d scripts for %d steps", scripts, len(al.Steps))
	}
	if got := b.Artifacts[0].Path; got != "scripts/01_file_index_ensure_file.sh" {
		t.Errorf("first script is %s", got)
	}
}

func TestDeterministic(t *testing.T) {
	var first []byte
	for i := 0; i < 5; i++ {
		b, err := New().Compile(t.Context(), everyKind(t), fixedFacts())
		if err != nil {
			t.Fatal(err)
		}
		data, err := contract.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = data
		} else if !bytes.Equal(first, data) {
			t.Fatalf("compile %d differs from the first", i)
		}
	}
}

// TestScriptsDoNotDependOnValues: changing an arg's value changes
// bundle.json (run.env), never the script a user may have edited.
func TestScriptsDoNotDependOnValues(t *testing.T) {
	mk := func(path, content string) *contract.Bundle {
		st := step("file.x", contract.StepEnsureFile, map[string]any{"path": path, "mode": "0644", "content": content})
		b, err := New().Compile(t.Context(), actionList(t, st), fixedFacts())
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b := mk("a.txt", "one"), mk("b.txt", "two")
	if a.Artifacts[0].Content != b.Artifacts[0].Content {
		t.Errorf("the script changed with the arg values")
	}
	if a.Steps[0].Run.Env["FILE_PATH"] == b.Steps[0].Run.Env["FILE_PATH"] {
		t.Errorf("run.env did not change")
	}
}

func TestNaming(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{1, "scripts/01_check_c0_verify_file.sh"},
		{99, "scripts/01_check_c0_verify_file.sh"},
		{100, "scripts/001_check_c0_verify_file.sh"},
		{1000, "scripts/0001_check_c0_verify_file.sh"},
	}
	for _, tt := range tests {
		steps := make([]contract.Step, tt.n)
		for i := range steps {
			steps[i] = step("check.c"+strconv.Itoa(i), contract.StepVerifyFile, map[string]any{"path": "x"})
		}
		b, err := New().Compile(t.Context(), actionList(t, steps...), fixedFacts())
		if err != nil {
			t.Fatal(err)
		}
		if got := b.Artifacts[0].Path; got != tt.want {
			t.Errorf("%d steps: first path %s; want %s", tt.n, got, tt.want)
		}
	}
}

func TestSlug(t *testing.T) {
	tests := map[string]string{
		"service.web/ensure_service":        "service_web_ensure_service",
		`file.page["About Us"]/ensure_file`: "file_page_about_us_ensure_file",
		"module.a.file.b[0]/remove_file":    "module_a_file_b_0_remove_file",
		"///":                               "step",
	}
	for id, want := range tests {
		if got := slug(id); got != want {
			t.Errorf("slug(%q) = %q; want %q", id, got, want)
		}
	}
	long := slug("file.x/" + strings.Repeat("a", 500))
	if len(long) > 120 || long == slug("file.x/"+strings.Repeat("a", 499)) {
		t.Errorf("long slug %q (%d bytes) is too long or not distinct", long, len(long))
	}
}

func TestErrors(t *testing.T) {
	steps := []contract.Step{
		step("service.odd", contract.StepEnsureService, map[string]any{"kind": "vm", "name": "odd"}),
		step("task.rotate", contract.StepCustom, map[string]any{"intent": "rotate logs"}),
		step("file.ok", contract.StepEnsureFile, map[string]any{"path": "ok", "content": "fine"}),
		step("file.bad", contract.StepEnsureFile, map[string]any{"mode": "rwx", "content": 3}),
	}
	_, err := New().Compile(t.Context(), actionList(t, steps...), fixedFacts())
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v; want a *CompileError", err)
	}
	msg := err.Error()
	for _, want := range []string{
		`step service.odd/ensure_service (resource service.odd): service kind "vm" is neither "process" nor "container"`,
		"step task.rotate/custom (resource task.rotate): only an LLM compiler can compile a task's free-form intent: use --compiler openai",
		`step file.bad/ensure_file (resource file.bad): missing arg "path"`,
		`step file.bad/ensure_file (resource file.bad): arg "mode" must be an octal mode`,
		`step file.bad/ensure_file (resource file.bad): arg "content" must be a string`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "file.ok") {
		t.Errorf("error names a step that compiles:\n%s", msg)
	}
	if !errors.Is(err, ErrCustom) {
		t.Errorf("errors.Is does not find ErrCustom")
	}
	if len(ce.Steps) != 5 {
		t.Errorf("%d step errors; want 5:\n%s", len(ce.Steps), msg)
	}
}

func TestMissingRuntimes(t *testing.T) {
	noBash := fixedFacts()
	noBash.Runtimes["bash"] = facts.Runtime{}
	noGit := fixedFacts()
	noGit.Git = facts.Runtime{}
	tests := []struct {
		name  string
		facts *facts.Facts
		step  contract.Step
		want  string
	}{
		{"no bash", noBash, step("file.f", contract.StepRemoveFile, map[string]any{"path": "x"}),
			"step file.f/remove_file (resource file.f): missing runtime: the script needs bash, which is not installed"},
		{"no git", noGit, step("git_repo.r", contract.StepFetchRepo, map[string]any{"url": "u", "path": "p"}),
			"step git_repo.r/fetch_repo (resource git_repo.r): missing runtime: fetch_repo needs git, which is not installed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New().Compile(t.Context(), actionList(t, tt.step), tt.facts)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrMissingRuntime) {
				t.Errorf("err = %v; want %q", err, tt.want)
			}
		})
	}
	// Without python3, verify_http falls back to bash instead of failing.
	b, err := New().Compile(t.Context(), actionList(t, step("check.h", contract.StepVerifyHTTP, map[string]any{"url": "http://x/"})), withoutPython(fixedFacts()))
	if err != nil || b.Steps[0].Run.Cmd[0] != "bash" {
		t.Errorf("verify_http without python3: %v, %v", err, b)
	}
}

func TestCompilerInterface(t *testing.T) {
	var c forge.Compiler = New()
	if c.Name() != "builtin" || c.Settings() != "builtin/v1" {
		t.Errorf("Name, Settings = %q, %q", c.Name(), c.Settings())
	}
	if RuntimeKey(fixedFacts()) == RuntimeKey(withoutPython(fixedFacts())) {
		t.Errorf("RuntimeKey ignores python3")
	}
	// Facts not gathered: bash everywhere, no runtime checks.
	b, err := c.Compile(t.Context(), everyKind(t), nil)
	if err != nil {
		t.Fatalf("nil facts: %v", err)
	}
	for _, bs := range b.Steps {
		if bs.Run.Cmd[0] != "bash" {
			t.Errorf("nil facts: %s runs %v; want bash", bs.Purpose, bs.Run.Cmd)
		}
	}
	// Empty plan: an empty, valid bundle.
	b, err = c.Compile(t.Context(), actionList(t), fixedFacts())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := contract.MarshalValidated(contract.SchemaBundle, b); err != nil {
		t.Errorf("empty bundle: %v", err)
	}
}

func FuzzSlug(f *testing.F) {
	for _, s := range []string{"service.web/ensure_service", `file.x["a b"]/ensure_file`, "", "///", strings.Repeat("Ab.", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		s := slug(id)
		if s == "" || len(s) > 120 || strings.HasPrefix(s, "_") || strings.HasSuffix(s, "_") {
			t.Fatalf("slug(%q) = %q", id, s)
		}
		for _, c := range s {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
				t.Fatalf("slug(%q) = %q has %q", id, s, c)
			}
		}
	})
}
