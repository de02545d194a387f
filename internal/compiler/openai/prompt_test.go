package openai

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/clockwork-iac/clockwork/internal/forge"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestPromptGolden pins the exact prompt of each mode. A change here
// changes what models answer: bump promptVersion with it.
func TestPromptGolden(t *testing.T) {
	schema, err := modelSchema()
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{ModeWhole, ModeMixed} {
		t.Run(mode, func(t *testing.T) {
			sys, err := buildSystemPrompt(mode, forge.DefaultAllowlist, testFacts(), schema)
			if err != nil {
				t.Fatal(err)
			}
			user, err := buildUserPrompt(testActionList(t), testFacts())
			if err != nil {
				t.Fatal(err)
			}
			got := "=== system\n" + sys + "=== user\n" + user + "\n=== repair (after a rejected answer)\n" +
				repairPrompt([]string{`purpose: step "check.hello/verify_file": no bundle step for this planned step`}) + "\n"
			golden := filepath.Join("testdata", "prompt-"+mode+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("prompt changed (-golden +got); bump promptVersion and run with -update:\n%s", diff)
			}
		})
	}
}

func TestRepairPromptIsBounded(t *testing.T) {
	var problems []string
	for i := range maxProblems + 5 {
		problems = append(problems, fmt.Sprintf("problem %d", i))
	}
	got := repairPrompt(problems)
	if !strings.Contains(got, "problem 39\n- ... and 5 more problems") || strings.Contains(got, "problem 40") {
		t.Errorf("repair prompt not bounded:\n%s", got)
	}
}
