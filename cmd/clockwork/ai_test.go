package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/clockwork-iac/clockwork/internal/compiler/openai/aitest"
	"github.com/clockwork-iac/clockwork/internal/contract"
)

// TestAIScripts runs testdata/ai against an in-process fake of an
// OpenAI-compatible endpoint whose "model" writes bash for every step of the
// plan it is sent, implementing a task's intent from its inputs.
func TestAIScripts(t *testing.T) {
	srv := aitest.NewServer(t, aitest.Bash(fakeModel))
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/ai",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("CLOCKWORK_AI_BASE_URL", srv.URL())
			env.Setenv("CLOCKWORK_AI_MODEL", "fake-model")
			env.Setenv("CLOCKWORK_AI_API_KEY", "sk-test-key-never-logged")
			return nil
		},
	})
}

// fakeModel plays the model: it reads each step's args the way a model would
// and writes a script for it.
func fakeModel(st contract.Step) string {
	switch st.Name {
	case contract.StepCustom:
		inputs, _ := st.Args["inputs"].(map[string]any)
		path, _ := inputs["path"].(string)
		msg, _ := inputs["message"].(string)
		return fmt.Sprintf("# intent: %s\ncd \"$CW_ROOT\"\nprintf '%%s\\n' %q > %q\necho \"TASK_DONE=yes\" >> \"$CW_OUTPUT\"\n",
			strings.ReplaceAll(fmt.Sprint(st.Args["intent"]), "\n", " "), msg, path)
	case contract.StepVerifyFile:
		return fmt.Sprintf("cd \"$CW_ROOT\"\ntest -f %q\n", st.Args["path"])
	case contract.StepEnsureDirectory:
		return fmt.Sprintf("cd \"$CW_ROOT\"\nmkdir -p %q\n", st.Args["path"])
	}
	return "exit 0"
}
