package openai

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clockwork-iac/clockwork/internal/compiler/openai/aitest"
	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/facts"
)

const (
	testModel  = "test-model"
	testAPIKey = "sk-test-key-must-not-be-logged"
	// testSecret is planted in the process environment under a secret
	// variable name the plan references: it must never reach a prompt.
	testSecret = "s3cr3t-value-never-in-prompts"
)

// testActionList is a plan with a task (custom step, a secret input by
// name) and a file check that depends on it.
func testActionList(t testing.TB) *contract.ActionList {
	t.Helper()
	steps := []contract.Step{
		{
			ID: "task.hello/custom", Name: contract.StepCustom, Resource: "task.hello", Change: contract.ChangeCreate,
			Args: map[string]any{
				"intent":   "write the text to the file at path, creating its directory",
				"inputs":   map[string]any{"path": "out/hello.txt", "text": "hello"},
				"tokenVar": "CW_SECRET_TASK_HELLO_TOKEN",
			},
			SecretEnv: []string{"CW_SECRET_TASK_HELLO_TOKEN"},
			Source:    &contract.Source{File: "main.cw", Line: 1, Col: 1},
		},
		{
			ID: "check.hello/verify_file", Name: contract.StepVerifyFile, Resource: "check.hello", Change: contract.ChangeCreate,
			DependsOn: []string{"task.hello/custom"},
			Args:      map[string]any{"path": "out/hello.txt"},
			Source:    &contract.Source{File: "main.cw", Line: 6, Col: 1},
		},
	}
	fp, err := contract.ComputeFingerprint(steps)
	if err != nil {
		t.Fatal(err)
	}
	return &contract.ActionList{Version: contract.Version, Fingerprint: fp, Steps: steps}
}

func testFacts() *facts.Facts {
	return &facts.Facts{OS: "linux", Arch: "amd64", Runtimes: map[string]facts.Runtime{
		"bash":    {Present: true, Path: "/usr/bin/bash", Version: "5.2"},
		"sh":      {Present: true, Path: "/usr/bin/sh"},
		"python3": {Present: true, Path: "/usr/bin/python3", Version: "3.12.3"},
		"node":    {Present: false},
	}}
}

// validAnswer returns the wire-shape answer in testdata, decoded, so tests
// can make hostile variants of it.
func validAnswer(t testing.TB) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "valid_answer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func encode(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// answerWith returns the valid answer after mutate changed it.
func answerWith(t testing.TB, mutate func(m map[string]any)) string {
	t.Helper()
	m := validAnswer(t)
	mutate(m)
	return encode(t, m)
}

func artifactsOf(m map[string]any) []any { return m["artifacts"].([]any) }
func stepsOf(m map[string]any) []any     { return m["steps"].([]any) }
func artifact(m map[string]any, i int) map[string]any {
	return artifactsOf(m)[i].(map[string]any)
}
func runOf(m map[string]any, i int) map[string]any {
	return stepsOf(m)[i].(map[string]any)["run"].(map[string]any)
}

// testConfig is a fast configuration against srv.
func testConfig(t testing.TB, srv *aitest.Server) Config {
	t.Helper()
	return Config{
		BaseURL:       srv.URL(),
		Model:         testModel,
		APIKey:        testAPIKey,
		Timeout:       5 * time.Second,
		MaxRepairs:    2,
		MaxRetries:    3,
		MaxRetryDelay: 10 * time.Millisecond,
		AgentDir:      filepath.Join(t.TempDir(), "agent"),
	}
}

// lastUser is the content of the last user message of a request.
func lastUser(r aitest.Request) string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i].Content
		}
	}
	return ""
}

// agentFiles lists the names in dir with their modes.
func agentFiles(t testing.TB, dir string) map[string]os.FileMode {
	t.Helper()
	out := map[string]os.FileMode{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = fi.Mode().Perm()
	}
	return out
}

// assertNoSecrets fails if any file in dir holds the API key or the
// planted secret value.
func assertNoSecrets(t testing.TB, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{testAPIKey, testSecret} {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s contains the secret %q", e.Name(), secret)
			}
		}
	}
}
