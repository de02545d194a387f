package aitest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/clockwork-iac/clockwork/internal/compiler/builtin"
	"github.com/clockwork-iac/clockwork/internal/compiler/openai"
	"github.com/clockwork-iac/clockwork/internal/compiler/openai/aitest"
	"github.com/clockwork-iac/clockwork/internal/contract"
)

func plan(t *testing.T) *contract.ActionList {
	t.Helper()
	steps := []contract.Step{
		{ID: "task.greet/custom", Name: contract.StepCustom, Resource: "task.greet", Change: contract.ChangeCreate,
			Args: map[string]any{"intent": "write hello to greeting.txt", "inputs": map[string]any{}}},
		{ID: "check.greet/verify_file", Name: contract.StepVerifyFile, Resource: "check.greet", Change: contract.ChangeCreate,
			DependsOn: []string{"task.greet/custom"}, Args: map[string]any{"path": "greeting.txt"}},
	}
	fp, err := contract.ComputeFingerprint(steps)
	if err != nil {
		t.Fatal(err)
	}
	return &contract.ActionList{Version: contract.Version, Fingerprint: fp, Steps: steps}
}

func TestBashAnswersValidBundles(t *testing.T) {
	body := func(st contract.Step) string {
		if st.Name == contract.StepCustom {
			return `printf hello > "$CW_ROOT/greeting.txt"`
		}
		return `test -f "$CW_ROOT/greeting.txt"`
	}
	for _, mode := range []string{openai.ModeWhole, openai.ModeMixed} {
		t.Run(mode, func(t *testing.T) {
			srv := aitest.NewServer(t, aitest.Bash(body))
			c := openai.New(openai.Config{BaseURL: srv.URL(), Model: "fake", Mode: mode, Fallback: builtin.New(), Timeout: 5 * time.Second})
			b, err := c.Compile(context.Background(), plan(t), nil)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if len(b.Steps) != 2 {
				t.Errorf("bundle has %d steps, want 2", len(b.Steps))
			}
			calls := srv.Calls()
			if len(calls) != 1 {
				t.Fatalf("server saw %d calls, want 1", len(calls))
			}
			got, err := aitest.PlanFromRequest(calls[0])
			if err != nil {
				t.Fatal(err)
			}
			want := 2
			if mode == openai.ModeMixed {
				want = 1
			}
			if len(got.Steps) != want {
				t.Errorf("the model was sent %d steps, want %d", len(got.Steps), want)
			}
			custom := b.StepFor("task.greet/custom")
			if custom == nil || !strings.HasSuffix(custom.Run.Cmd[1], "task_greet_custom.sh") {
				t.Errorf("custom step = %+v", custom)
			}
		})
	}
}

func TestScriptReplaysInOrderAndRepeatsTheLast(t *testing.T) {
	srv := aitest.NewServer(t, aitest.Error(429, "", "slow"), aitest.Error(500, "", "down"))
	c := openai.New(openai.Config{BaseURL: srv.URL(), Model: "fake", MaxRetries: 3, MaxRetryDelay: time.Millisecond})
	_, err := c.Compile(context.Background(), plan(t), nil)
	if err == nil || !strings.Contains(err.Error(), "failed (500) after 4 attempts") {
		t.Fatalf("Compile error = %v", err)
	}
	if n := len(srv.Calls()); n != 4 {
		t.Errorf("server saw %d calls, want 4", n)
	}
}
