package executor

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/runner"
	"github.com/clockwork-iac/clockwork/internal/state"
)

const killResources = 24

// killStepScript records every run, and performs its side effect (an
// append to effects) only once, guarded by a marker, as idempotent scripts
// do.
const killStepScript = `echo "$CW_STEP_ID" >> "$CW_ROOT/runs"
sleep 0.01
m="$CW_ROOT/m/$(echo "$CW_STEP_ID" | tr '/' '_')"
if [ ! -e "$m" ]; then echo "$CW_STEP_ID" >> "$CW_ROOT/effects"; : > "$m"; fi
`

// killPlan is the ActionList an assembly would plan against st: resources
// applied at the same config hash are noop, the rest create. Each resource
// has two steps; resource i depends on resource i-3.
func killPlan(st *contract.State) (*contract.ActionList, *contract.Bundle) {
	al := &contract.ActionList{Version: "1", Fingerprint: "sha256:kill"}
	b := &contract.Bundle{Version: "1", Fingerprint: "sha256:kill-bundle"}
	for i := range killResources {
		addr := fmt.Sprintf("command.c%02d", i)
		hash := "sha256:" + addr
		change := contract.ChangeCreate
		if st != nil {
			if r := st.Resource(addr); r != nil && r.Status == contract.StatusApplied && r.ConfigHash == hash {
				change = contract.ChangeNoop
			}
		}
		first := contract.Step{ID: addr + "/run_command", Name: "run_command", Resource: addr, Change: change, ConfigHash: hash, Args: map[string]any{}}
		if i >= 3 {
			first.DependsOn = []string{fmt.Sprintf("command.c%02d/custom", i-3)}
		}
		second := contract.Step{ID: addr + "/custom", Name: "custom", Resource: addr, Change: change, ConfigHash: hash,
			DependsOn: []string{first.ID}, Args: map[string]any{}}
		al.Steps = append(al.Steps, first, second)
		for _, s := range []contract.Step{first, second} {
			b.Steps = append(b.Steps, contract.BundleStep{Purpose: s.ID, Run: contract.Run{Cmd: []string{"bash", "scripts/step.sh"}}})
		}
	}
	return al, b
}

func killOpts(root string) Options {
	local := &runner.Local{Grace: 300 * time.Millisecond}
	return Options{
		Root: root, BuildDir: filepath.Join(root, ".clockwork", "build"), StateDir: filepath.Join(root, ".clockwork"),
		Parallelism: 4, Environ: []string{"PATH=" + DefaultPath},
		Runner: func(string) (runner.Runner, error) { return local, nil },
		Select: SelectApply,
	}
}

// applyOnce is one "clockwork apply": lock, load, plan, execute, save.
func applyOnce(ctx context.Context, root string) (*Report, *state.Lock, error) {
	store := state.Open(filepath.Join(root, ".clockwork"))
	l, err := store.Lock(ctx, "apply")
	if err != nil {
		return nil, nil, err
	}
	defer l.Unlock()
	st, err := store.Load()
	if err != nil {
		return nil, l, err
	}
	al, b := killPlan(st)
	sess := store.Begin(st)
	rep, err := Execute(ctx, al, b, sess, killOpts(root))
	if cerr := sess.Close(); err == nil {
		err = cerr
	}
	return rep, l, err
}

func lines(path string) []string {
	b, _ := os.ReadFile(path)
	return strings.Fields(string(b))
}

// TestKillAndResume SIGKILLs an apply (a re-exec of this test binary) at
// random moments, then checks that state parses and validates, every step
// recorded ok really happened, and a re-run converges without running a
// recorded step again and with every side effect done once.
func TestKillAndResume(t *testing.T) {
	if root := os.Getenv("CW_EXECUTOR_KILL_HELPER"); root != "" {
		if _, _, err := applyOnce(context.Background(), root); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	iterations := 3
	if testing.Short() {
		iterations = 2
	}
	if n, err := strconv.Atoi(os.Getenv("CW_KILL_ITERATIONS")); err == nil && n > 0 {
		iterations = n // the hardening run: CW_KILL_ITERATIONS=200
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for it := range iterations {
		t.Run(fmt.Sprintf("kill%d", it), func(t *testing.T) {
			root := t.TempDir()
			for _, d := range []string{".clockwork/build/scripts", "m"} {
				if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(root, ".clockwork/build/scripts/step.sh"), []byte(killStepScript), 0o755); err != nil {
				t.Fatal(err)
			}
			killAfter := 5 + rng.IntN(2*killResources-10) // steps run before the kill
			cmd := exec.Command(os.Args[0], "-test.run=^TestKillAndResume$")
			cmd.Env = append(os.Environ(), "CW_EXECUTOR_KILL_HELPER="+root)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			deadline := time.Now().Add(30 * time.Second)
			finished := false
		poll:
			for time.Now().Before(deadline) {
				select {
				case err := <-exited:
					if err != nil {
						t.Fatalf("apply failed before the kill: %v: %s", err, stderr.String())
					}
					t.Logf("apply finished before the kill")
					finished = true
					break poll
				default:
				}
				if len(lines(filepath.Join(root, "effects"))) >= killAfter {
					break poll
				}
				time.Sleep(time.Millisecond)
			}
			if !finished {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				<-exited
			}
			time.Sleep(300 * time.Millisecond) // let orphaned step scripts finish

			st, err := state.Open(filepath.Join(root, ".clockwork")).Load()
			if err != nil {
				t.Fatalf("state after SIGKILL: %v", err)
			}
			recorded := map[string]bool{}
			if st != nil {
				if err := contract.ValidateJSON(contract.SchemaState, mustMarshal(t, st)); err != nil {
					t.Fatalf("state after SIGKILL does not validate: %v", err)
				}
				for _, r := range st.Resources {
					for id, s := range r.Steps {
						if s.Status != "ok" {
							continue
						}
						recorded[id] = true
						if _, err := os.Stat(filepath.Join(root, "m", strings.ReplaceAll(id, "/", "_"))); err != nil {
							t.Errorf("step %s is recorded ok but its side effect is missing", id)
						}
					}
				}
			}
			t.Logf("killed after %d effects; %d steps recorded ok", len(lines(filepath.Join(root, "effects"))), len(recorded))

			rep, l, err := applyOnce(t.Context(), root)
			if err != nil {
				t.Fatalf("re-run: %v", err)
			}
			if l.Recovered == nil && !finished {
				t.Error("re-run did not notice the killed holder's lock")
			}
			if rep.Failed+rep.Skipped+rep.NotRun != 0 {
				t.Errorf("re-run: %d failed, %d skipped, %d not run", rep.Failed, rep.Skipped, rep.NotRun)
			}
			final, err := state.Open(filepath.Join(root, ".clockwork")).Load()
			if err != nil {
				t.Fatal(err)
			}
			if len(final.Resources) != killResources {
				t.Errorf("%d resources in state after the re-run, want %d", len(final.Resources), killResources)
			}
			for _, r := range final.Resources {
				if r.Status != contract.StatusApplied {
					t.Errorf("%s is %s after the re-run", r.Address, r.Status)
				}
			}
			runs := map[string]int{}
			for _, id := range lines(filepath.Join(root, "runs")) {
				runs[id]++
			}
			effects := map[string]int{}
			for _, id := range lines(filepath.Join(root, "effects")) {
				effects[id]++
			}
			al, _ := killPlan(nil)
			for _, s := range al.Steps {
				if effects[s.ID] != 1 {
					t.Errorf("side effect of %s done %d times, want 1", s.ID, effects[s.ID])
				}
				if recorded[s.ID] && runs[s.ID] != 1 {
					t.Errorf("%s was recorded ok before the kill but ran %d times", s.ID, runs[s.ID])
				}
			}
			// A third apply has nothing to do.
			rep, _, err = applyOnce(t.Context(), root)
			if err != nil || rep.OK != 0 || rep.Noop != len(al.Steps) {
				t.Errorf("third apply: %v, ok %d noop %d", err, rep.OK, rep.Noop)
			}
		})
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := contract.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
