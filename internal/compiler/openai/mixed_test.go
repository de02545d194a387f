package openai

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/clockwork-iac/clockwork/internal/compiler/builtin"
	"github.com/clockwork-iac/clockwork/internal/compiler/openai/aitest"
	"github.com/clockwork-iac/clockwork/internal/contract"
)

// mixedAnswer is the model's part in mixed mode: the custom step only,
// under scripts/ai/.
func mixedAnswer(t *testing.T, mutate func(m map[string]any)) string {
	t.Helper()
	return answerWith(t, func(m map[string]any) {
		artifact(m, 0)["path"] = "scripts/ai/task-hello-custom.sh"
		runOf(m, 0)["cmd"] = []any{"bash", "scripts/ai/task-hello-custom.sh"}
		m["artifacts"] = artifactsOf(m)[:1]
		m["steps"] = stepsOf(m)[:1]
		if mutate != nil {
			mutate(m)
		}
	})
}

func mixedConfig(t *testing.T, srv *aitest.Server) Config {
	cfg := testConfig(t, srv)
	cfg.Mode = ModeMixed
	cfg.Fallback = builtin.New()
	return cfg
}

func TestMixedSendsOnlyWhatTheBuiltinRefuses(t *testing.T) {
	srv := aitest.NewServer(t, aitest.Content(mixedAnswer(t, nil)))
	al := testActionList(t)
	b, err := New(mixedConfig(t, srv)).Compile(context.Background(), al, testFacts())
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	calls := srv.Calls()
	if len(calls) != 1 {
		t.Fatalf("server saw %d calls, want 1", len(calls))
	}
	user := lastUser(calls[0])
	if !strings.Contains(user, `"id": "task.hello/custom"`) || strings.Contains(user, `"id": "check.hello/verify_file"`) {
		t.Errorf("the model was not sent exactly the custom step:\n%s", user)
	}
	if sys := calls[0].Messages[0].Content; !strings.Contains(sys, "Put every artifact\nunder scripts/ai/") {
		t.Errorf("the system prompt does not carry the mixed-mode note")
	}
	var purposes []string
	for _, st := range b.Steps {
		purposes = append(purposes, st.Purpose)
	}
	if diff := cmp.Diff([]string{"task.hello/custom", "check.hello/verify_file"}, purposes); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	var fromModel, fromBuiltin int
	for _, a := range b.Artifacts {
		if strings.HasPrefix(a.Path, "scripts/ai/") {
			fromModel++
		} else if a.Purpose == "check.hello/verify_file" {
			fromBuiltin++
		}
	}
	if fromModel != 1 || fromBuiltin == 0 {
		t.Errorf("artifacts: %d from the model, %d from the built-in compiler; want 1 and at least 1", fromModel, fromBuiltin)
	}
	if b.Compiler != "openai:test-model+builtin" || b.Fingerprint != al.Fingerprint {
		t.Errorf("compiler, fingerprint = %q, %q", b.Compiler, b.Fingerprint)
	}
}

func TestMixedRepairs(t *testing.T) {
	cases := []struct {
		name       string
		first      string
		wantRepair string
	}{
		{"artifact outside scripts/ai", answerWith(t, func(m map[string]any) {
			m["artifacts"] = artifactsOf(m)[:1]
			m["steps"] = stepsOf(m)[:1]
		}), "artifact scripts/task-hello-custom.sh: must be under scripts/ai/"},
		{"a step the built-in compiler owns", mixedAnswer(t, func(m map[string]any) {
			m["steps"] = append(stepsOf(m), map[string]any{"purpose": "check.hello/verify_file",
				"run": map[string]any{"cmd": []any{"bash", "scripts/ai/task-hello-custom.sh"}, "env": nil, "timeout": nil, "retries": nil}})
		}), `step "check.hello/verify_file"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := aitest.NewServer(t, aitest.Content(tc.first), aitest.Content(mixedAnswer(t, nil)))
			if _, err := New(mixedConfig(t, srv)).Compile(context.Background(), testActionList(t), testFacts()); err != nil {
				t.Fatalf("Compile: %v", err)
			}
			calls := srv.Calls()
			if len(calls) != 2 {
				t.Fatalf("server saw %d calls, want 2", len(calls))
			}
			if repair := lastUser(calls[1]); !strings.Contains(repair, tc.wantRepair) {
				t.Errorf("repair message does not name %q:\n%s", tc.wantRepair, repair)
			}
		})
	}
}

func TestMixedWithNothingForTheModel(t *testing.T) {
	srv := aitest.NewServer(t)
	al := testActionList(t)
	al.Steps = al.Steps[1:]
	al.Steps[0].DependsOn = nil
	fp, err := contract.ComputeFingerprint(al.Steps)
	if err != nil {
		t.Fatal(err)
	}
	al.Fingerprint = fp
	b, err := New(mixedConfig(t, srv)).Compile(context.Background(), al, testFacts())
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	if len(b.Steps) != 1 || b.Fingerprint != fp {
		t.Errorf("bundle: %d steps, fingerprint %q", len(b.Steps), b.Fingerprint)
	}
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("server saw %d calls, want none", n)
	}
}
