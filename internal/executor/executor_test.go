package executor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/runner"
	"github.com/clockwork-iac/clockwork/internal/state"
	"github.com/google/go-cmp/cmp"
)

// fixture is a configuration directory with .clockwork/{build,logs} and a
// locked state store.
type fixture struct {
	root, build, stateDir string
	store                 *state.Store
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := t.TempDir()
	f := &fixture{root: root, build: filepath.Join(root, ".clockwork", "build"), stateDir: filepath.Join(root, ".clockwork")}
	if err := os.MkdirAll(filepath.Join(f.build, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	f.store = state.Open(f.stateDir)
	l, err := f.store.Lock(t.Context(), "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Unlock() })
	return f
}

func (f *fixture) script(t *testing.T, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(f.build, "scripts", name), []byte("set -eu\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) opts() Options {
	local := &runner.Local{Grace: 300 * time.Millisecond}
	return Options{
		Root: f.root, BuildDir: f.build, StateDir: f.stateDir, RunID: "run1",
		Environ: []string{"PATH=" + DefaultPath, "HOME=/home/test"},
		Runner:  func(string) (runner.Runner, error) { return local, nil },
		Backoff: func(int) time.Duration { return time.Millisecond },
	}
}

// exec runs al with b on the stored state and returns the report, the run
// error and the state on disk afterwards.
func (f *fixture) exec(t *testing.T, ctx context.Context, al *contract.ActionList, b *contract.Bundle, opts Options) (*Report, error, *contract.State) {
	t.Helper()
	st, err := f.store.Load()
	if err != nil {
		t.Fatal(err)
	}
	sess := f.store.Begin(st)
	rep, runErr := Execute(ctx, al, b, sess, opts)
	if err := sess.Close(); err != nil {
		t.Fatalf("close session: %v", err)
	}
	after, err := state.Open(f.stateDir).Load()
	if err != nil {
		t.Fatalf("state after run: %v", err)
	}
	return rep, runErr, after
}

type stepSpec struct {
	id     string // "<addr>/<name>"
	deps   []string
	script string // file under scripts/
	env    map[string]string
	change string
}

func plan(specs ...stepSpec) (*contract.ActionList, *contract.Bundle) {
	al := &contract.ActionList{Version: "1", Fingerprint: "sha256:plan"}
	b := &contract.Bundle{Version: "1", Fingerprint: "sha256:bundle"}
	for _, s := range specs {
		addr := resourceOfStep(s.id)
		change := s.change
		if change == "" {
			change = contract.ChangeCreate
		}
		al.Steps = append(al.Steps, contract.Step{
			ID: s.id, Name: s.id[len(addr)+1:], Resource: addr, Change: change, DependsOn: s.deps,
			ConfigHash: "sha256:" + addr, Args: map[string]any{},
		})
		b.Steps = append(b.Steps, contract.BundleStep{Purpose: s.id, Run: contract.Run{Cmd: []string{"bash", "scripts/" + s.script}, Env: s.env}})
	}
	return al, b
}

func statuses(rep *Report) map[string]string {
	m := map[string]string{}
	for _, r := range rep.Results {
		m[r.StepID] = r.Status
	}
	return m
}

// times reads the start/end nanosecond stamps the "timed" script writes.
func readStamp(t *testing.T, path string) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

const timedScript = `mkdir -p "$CW_ROOT/t"
date +%s%N > "$CW_ROOT/t/$CW_RESOURCE.start"
sleep "${SLEEP:-0}"
date +%s%N > "$CW_ROOT/t/$CW_RESOURCE.end"
echo "$CW_STEP_ID" >> "$CW_ROOT/order"
`

func TestParallelStepsOverlap(t *testing.T) {
	for _, tc := range []struct {
		name        string
		parallelism int
		wantMax     int
	}{
		{"four at once", 4, 4},
		{"two at once", 2, 2},
		{"one at a time", 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			// Each step waits (up to 3s) until as many steps as may run at
			// once have started, so overlap does not depend on machine load.
			f.script(t, "barrier.sh", `mkdir -p "$CW_ROOT/t"
date +%s%N > "$CW_ROOT/t/$CW_RESOURCE.start"
for i in $(seq 300); do [ "$(ls "$CW_ROOT/t" | grep -c start)" -ge "$BARRIER" ] && break; sleep 0.01; done
sleep 0.1
date +%s%N > "$CW_ROOT/t/$CW_RESOURCE.end"
`)
			var specs []stepSpec
			for i := range 4 {
				specs = append(specs, stepSpec{id: fmt.Sprintf("file.p%d/ensure_file", i), script: "barrier.sh", env: map[string]string{"BARRIER": strconv.Itoa(tc.wantMax)}})
			}
			al, b := plan(specs...)
			opts := f.opts()
			opts.Parallelism = tc.parallelism
			rep, err, _ := f.exec(t, t.Context(), al, b, opts)
			if err != nil || rep.OK != 4 {
				t.Fatalf("run: %v, %+v", err, statuses(rep))
			}
			type ev struct {
				at    int64
				delta int
			}
			var evs []ev
			for i := range 4 {
				evs = append(evs, ev{readStamp(t, filepath.Join(f.root, "t", fmt.Sprintf("file.p%d.start", i))), 1})
				evs = append(evs, ev{readStamp(t, filepath.Join(f.root, "t", fmt.Sprintf("file.p%d.end", i))), -1})
			}
			sort.Slice(evs, func(i, j int) bool {
				return evs[i].at < evs[j].at || evs[i].at == evs[j].at && evs[i].delta < evs[j].delta
			})
			cur, most := 0, 0
			for _, e := range evs {
				cur += e.delta
				most = max(most, cur)
			}
			if most != tc.wantMax {
				t.Errorf("at most %d steps ran at once, want %d", most, tc.wantMax)
			}
		})
	}
}

func TestChainOrderAndReportOrder(t *testing.T) {
	f := newFixture(t)
	f.script(t, "timed.sh", timedScript)
	// The slow step finishes only after the chain did.
	f.script(t, "slow.sh", `for i in $(seq 2000); do grep -q file.c "$CW_ROOT/order" 2>/dev/null && break; sleep 0.01; done
echo "$CW_STEP_ID" >> "$CW_ROOT/order"
`)
	al, b := plan(
		stepSpec{id: "file.slow/ensure_file", script: "slow.sh"},
		stepSpec{id: "file.a/ensure_file", script: "timed.sh"},
		stepSpec{id: "file.b/ensure_file", deps: []string{"file.a/ensure_file"}, script: "timed.sh"},
		stepSpec{id: "file.c/ensure_file", deps: []string{"file.b/ensure_file"}, script: "timed.sh"},
	)
	opts := f.opts()
	var doneOrder []string
	opts.OnStepDone = func(s contract.Step, r StepResult) { doneOrder = append(doneOrder, s.ID) }
	rep, err, st := f.exec(t, t.Context(), al, b, opts)
	if err != nil {
		t.Fatal(err)
	}
	order, _ := os.ReadFile(filepath.Join(f.root, "order"))
	var chain []string
	for _, l := range strings.Fields(string(order)) {
		if l != "file.slow/ensure_file" {
			chain = append(chain, l)
		}
	}
	if d := cmp.Diff([]string{"file.a/ensure_file", "file.b/ensure_file", "file.c/ensure_file"}, chain); d != "" {
		t.Errorf("chain ran out of order (-want +got):\n%s", d)
	}
	var reported []string
	for _, r := range rep.Results {
		reported = append(reported, r.StepID)
	}
	want := []string{"file.slow/ensure_file", "file.a/ensure_file", "file.b/ensure_file", "file.c/ensure_file"}
	if d := cmp.Diff(want, reported); d != "" {
		t.Errorf("report order (-want +got):\n%s", d)
	}
	if doneOrder[len(doneOrder)-1] != "file.slow/ensure_file" {
		t.Errorf("OnStepDone order %v: want completion order, slow step last", doneOrder)
	}
	if len(st.Resources) != 4 {
		t.Fatalf("state has %d resources, want 4", len(st.Resources))
	}
	for _, r := range st.Resources {
		if r.Status != contract.StatusApplied || r.ConfigHash != "sha256:"+r.Address || r.Type != "file" || r.Provider != "local" ||
			r.BundleFingerprint != "sha256:bundle" || r.LastApplied == nil || r.Steps[r.Address+"/ensure_file"].Status != "ok" {
			t.Errorf("state of %s: %+v", r.Address, r)
		}
	}
}

func TestFailureSkipsDependents(t *testing.T) {
	f := newFixture(t)
	f.script(t, "ok.sh", `echo ok > "$CW_ROOT/$CW_RESOURCE.done"`+"\n")
	f.script(t, "fail.sh", "echo 'about to fail' >&2\nexit 3\n")
	al, b := plan(
		stepSpec{id: "service.db/ensure_service", script: "fail.sh"},
		stepSpec{id: "service.db/verify_http", deps: []string{"service.db/ensure_service"}, script: "ok.sh"},
		stepSpec{id: "service.app/ensure_service", deps: []string{"service.db/verify_http"}, script: "ok.sh"},
		stepSpec{id: "file.other/ensure_file", script: "ok.sh"},
		stepSpec{id: "file.after/ensure_file", deps: []string{"file.other/ensure_file"}, script: "ok.sh"},
	)
	rep, err, st := f.exec(t, t.Context(), al, b, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"service.db/ensure_service": StatusFailed, "service.db/verify_http": StatusSkipped,
		"service.app/ensure_service": StatusSkipped, "file.other/ensure_file": StatusOK, "file.after/ensure_file": StatusOK,
	}
	if d := cmp.Diff(want, statuses(rep)); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}
	if rep.OK != 2 || rep.Failed != 1 || rep.Skipped != 2 {
		t.Errorf("counts ok %d failed %d skipped %d", rep.OK, rep.Failed, rep.Skipped)
	}
	fr := rep.Results[0]
	if fr.ExitCode != 3 || fr.Err != "exit status 3" || !strings.Contains(fr.LogTail, "about to fail") || fr.LogPath != filepath.Join(f.stateDir, "logs", "run1", "service.db__ensure_service.log") {
		t.Errorf("failed result: %+v", fr)
	}
	for _, i := range []int{1, 2} {
		if got := rep.Results[i].SkippedBecause; got != "skipped: service.db/ensure_service failed" {
			t.Errorf("%s: SkippedBecause %q", rep.Results[i].StepID, got)
		}
	}
	if _, err := os.Stat(filepath.Join(f.root, "service.app.done")); err == nil {
		t.Error("a skipped step ran")
	}
	db := st.Resource("service.db")
	if db == nil || db.Status != contract.StatusFailed || db.Steps["service.db/ensure_service"].Error != "exit status 3" {
		t.Errorf("state of the failed resource: %+v", db)
	}
	if st.Resource("service.app") != nil {
		t.Error("a skipped resource is in state")
	}
	if r := st.Resource("file.after"); r == nil || r.Status != contract.StatusApplied {
		t.Errorf("independent branch not applied: %+v", r)
	}
}

// alive reports whether pid is a live, non-zombie process.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return !(i > 0 && i+2 < len(b) && b[i+2] == 'Z')
}

func TestTimeoutKillsProcessGroup(t *testing.T) {
	f := newFixture(t)
	f.script(t, "hang.sh", `sleep 100 & echo $! > "$CW_ROOT/grandchild.pid"; wait`+"\n")
	al, b := plan(
		stepSpec{id: "command.hang/run_command", script: "hang.sh"},
		stepSpec{id: "command.next/run_command", deps: []string{"command.hang/run_command"}, script: "hang.sh"},
	)
	b.Steps[0].Run.Timeout = 1
	opts := f.opts()
	opts.StepTimeout = time.Hour // the bundle's timeout wins
	start := time.Now()
	rep, err, _ := f.exec(t, t.Context(), al, b, opts)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("run took %v with a 1s timeout", el)
	}
	r := rep.Results[0]
	if r.Status != StatusTimedOut || r.Err != "timed out after 1s" {
		t.Errorf("result %+v, want timed_out", r)
	}
	if rep.Results[1].SkippedBecause != "skipped: command.hang/run_command timed out" {
		t.Errorf("dependent: %+v", rep.Results[1])
	}
	pid := int(readStamp(t, filepath.Join(f.root, "grandchild.pid")))
	deadline := time.Now().Add(3 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(pid) {
		t.Errorf("grandchild %d survived the timeout", pid)
	}
}

func TestOutputsFlowToDependents(t *testing.T) {
	f := newFixture(t)
	f.script(t, "publish.sh", `echo "IMAGE_REF=app:1.2" >> "$CW_OUTPUT"
printf 'NOTES<<EOF\nline one\nline two\nEOF\n' >> "$CW_OUTPUT"
`)
	f.script(t, "consume.sh", `printf '%s|%s' "$IMAGE_APP_IMAGE_REF" "$IMAGE_APP_NOTES" > "$CW_ROOT/$CW_RESOURCE.seen"`+"\n")
	f.script(t, "bad.sh", `echo "not a valid line" >> "$CW_OUTPUT"`+"\n")
	al, b := plan(
		stepSpec{id: "image.app/build_image", script: "publish.sh"},
		stepSpec{id: "service.web/ensure_service", deps: []string{"image.app/build_image"}, script: "consume.sh"},
		stepSpec{id: "check.web/verify_http", deps: []string{"service.web/ensure_service"}, script: "consume.sh"},
		stepSpec{id: "command.bad/run_command", script: "bad.sh"},
	)
	rep, err, st := f.exec(t, t.Context(), al, b, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"service.web", "check.web"} { // direct and transitive
		got, _ := os.ReadFile(filepath.Join(f.root, who+".seen"))
		if string(got) != "app:1.2|line one\nline two" {
			t.Errorf("%s saw %q", who, got)
		}
	}
	want := map[string]string{"IMAGE_REF": "app:1.2", "NOTES": "line one\nline two"}
	if d := cmp.Diff(want, rep.Results[0].Outputs); d != "" {
		t.Errorf("reported outputs (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want, st.Resource("image.app").Outputs); d != "" {
		t.Errorf("outputs in state (-want +got):\n%s", d)
	}
	if r := rep.Results[3]; r.Status != StatusFailed || !strings.Contains(r.Err, "outputs line 1") || r.Attempts != 1 {
		t.Errorf("step with bad outputs: %+v", r)
	}
}

func TestOutputsFromStateForUnselectedSteps(t *testing.T) {
	f := newFixture(t)
	f.script(t, "publish.sh", `echo "IMAGE_REF=app:1" >> "$CW_OUTPUT"`+"\n")
	f.script(t, "consume.sh", `printf '%s' "$IMAGE_APP_IMAGE_REF" > "$CW_ROOT/seen"`+"\n")
	al, b := plan(
		stepSpec{id: "image.app/build_image", script: "publish.sh"},
		stepSpec{id: "service.web/ensure_service", deps: []string{"image.app/build_image"}, script: "consume.sh"},
	)
	if _, err, _ := f.exec(t, t.Context(), al, b, f.opts()); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(filepath.Join(f.root, "seen"))
	al.Steps[0].Change = contract.ChangeNoop
	opts := f.opts()
	opts.Select = SelectApply
	rep, err, _ := f.exec(t, t.Context(), al, b, opts)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"image.app/build_image": StatusNoop, "service.web/ensure_service": StatusOK}, statuses(rep)); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}
	if got, _ := os.ReadFile(filepath.Join(f.root, "seen")); string(got) != "app:1" {
		t.Errorf("dependent of an unselected step saw %q, want the output recorded in state", got)
	}
}

func TestExactEnvironment(t *testing.T) {
	f := newFixture(t)
	f.script(t, "publish.sh", `echo "K=v" >> "$CW_OUTPUT"`+"\n")
	al, b := plan(
		stepSpec{id: "file.up/ensure_file", script: "publish.sh"},
		stepSpec{id: "file.me/ensure_file", deps: []string{"file.up/ensure_file"}, change: contract.ChangeUpdate, env: map[string]string{"RUN_ENV": "r"}},
	)
	b.Steps[1].Run.Cmd = []string{"env", "-0"} // prints exactly its environment to the log
	b.Vars = map[string]any{"NAME": "web", "PORT": int64(8080), "DEBUG": true, "RATIO": 0.5}
	al.Steps[1].SecretEnv = []string{"CW_SECRET_FILE_ME_TOKEN"}
	opts := f.opts()
	opts.Environ = append(opts.Environ, "KEEP=1", "DROP=1")
	opts.PassEnv = []string{"KEEP", "ABSENT"}
	opts.Secrets = map[string]string{"CW_SECRET_FILE_ME_TOKEN": "tok-xyz-123", "CW_SECRET_OTHER": "unused-secret"}
	opts.Clockwork = "/usr/local/bin/clockwork"
	rep, err, _ := f.exec(t, t.Context(), al, b, opts)
	if err != nil || rep.OK != 2 {
		t.Fatalf("%v %+v", err, rep.Results)
	}
	raw, _ := os.ReadFile(rep.Results[1].LogPath)
	got := map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	if !strings.HasPrefix(got["CW_OUTPUT"], os.TempDir()) {
		t.Errorf("CW_OUTPUT %q should be a temp file outside .clockwork", got["CW_OUTPUT"])
	}
	got["CW_OUTPUT"] = "(temp)"
	want := map[string]string{
		"PATH": DefaultPath, "HOME": "/home/test", "KEEP": "1",
		"CW_ROOT": f.root, "CW_BUILD": f.build, "CW_STATE_DIR": f.stateDir, "CW_OUTPUT": "(temp)",
		"CW_STEP_ID": "file.me/ensure_file", "CW_RESOURCE": "file.me", "CW_CHANGE": "update",
		"CW_CLOCKWORK": "/usr/local/bin/clockwork",
		"NAME":         "web", "PORT": "8080", "DEBUG": "true", "RATIO": "0.5", "RUN_ENV": "r",
		"FILE_UP_K":               "v",
		"CW_SECRET_FILE_ME_TOKEN": "***", // masked in the log
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("step environment (-want +got):\n%s", d)
	}
}

func TestSecretsNeverRecorded(t *testing.T) {
	const secret = "hunter2-very-secret"
	f := newFixture(t)
	f.script(t, "leaky.sh", `echo "token is $CW_SECRET_DB_PASSWORD"
echo "to stderr: $CW_SECRET_DB_PASSWORD" >&2
echo "PASSWORD=$CW_SECRET_DB_PASSWORD" >> "$CW_OUTPUT"
echo "DSN=postgres://u:$CW_SECRET_DB_PASSWORD@h/db" >> "$CW_OUTPUT"
echo "HOST=db.local" >> "$CW_OUTPUT"
`)
	f.script(t, "leaky-fail.sh", `echo "failing with $CW_SECRET_DB_PASSWORD"; exit 1`+"\n")
	al, b := plan(
		stepSpec{id: "service.db/ensure_service", script: "leaky.sh"},
		stepSpec{id: "command.x/run_command", script: "leaky-fail.sh"},
		stepSpec{id: "command.y/run_command", script: "leaky.sh"},
	)
	al.Steps[0].SecretEnv = []string{"CW_SECRET_DB_PASSWORD"}
	al.Steps[1].SecretEnv = []string{"CW_SECRET_DB_PASSWORD"}
	al.Steps[2].SecretEnv = []string{"CW_SECRET_MISSING"}
	opts := f.opts()
	opts.Secrets = map[string]string{"CW_SECRET_DB_PASSWORD": secret}
	rep, err, st := f.exec(t, t.Context(), al, b, opts)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"HOST": "db.local"}, st.Resource("service.db").Outputs); d != "" {
		t.Errorf("outputs in state (-want +got):\n%s", d)
	}
	if r := rep.Results[2]; r.Status != StatusFailed || r.Err != "secret CW_SECRET_MISSING is not provided" {
		t.Errorf("step with a missing secret: %+v", r)
	}
	log, _ := os.ReadFile(rep.Results[0].LogPath)
	if !strings.Contains(string(log), "token is ***") || !strings.Contains(string(log), "to stderr: ***") {
		t.Errorf("log not masked as expected:\n%s", log)
	}
	if strings.Contains(rep.Results[1].LogTail, secret) {
		t.Error("log tail holds the secret")
	}
	hits := 0
	_ = filepath.WalkDir(f.stateDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), secret) {
				t.Errorf("%s holds the secret", p)
				hits++
			}
		}
		return nil
	})
	if hits == 0 {
		t.Logf("secret found in 0 files under %s", f.stateDir)
	}
}

func TestRetriesWithBackoff(t *testing.T) {
	f := newFixture(t)
	f.script(t, "flaky.sh", `n=$(cat "$CW_ROOT/$CW_RESOURCE.n" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$CW_ROOT/$CW_RESOURCE.n"
echo "attempt $n"
[ "$n" -ge "$SUCCEED_AT" ]
`)
	al, b := plan(
		stepSpec{id: "command.flaky/run_command", script: "flaky.sh", env: map[string]string{"SUCCEED_AT": "3"}},
		stepSpec{id: "command.never/run_command", script: "flaky.sh", env: map[string]string{"SUCCEED_AT": "99"}},
	)
	b.Steps[0].Run.Retries = 3
	al.Steps[1].Retries = 2
	opts := f.opts()
	var mu sync.Mutex
	var waits []int
	opts.Backoff = func(a int) time.Duration {
		mu.Lock()
		waits = append(waits, a)
		mu.Unlock()
		return 10 * time.Millisecond
	}
	rep, err, _ := f.exec(t, t.Context(), al, b, opts)
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Results[0]; r.Status != StatusOK || r.Attempts != 3 {
		t.Errorf("flaky step: %+v, want ok after 3 attempts", r)
	}
	if r := rep.Results[1]; r.Status != StatusFailed || r.Attempts != 3 {
		t.Errorf("never-succeeding step: %+v, want failed after 3 attempts", r)
	}
	slices.Sort(waits)
	if d := cmp.Diff([]int{0, 0, 1, 1}, waits); d != "" {
		t.Errorf("backoff attempts (-want +got):\n%s", d)
	}
	log, _ := os.ReadFile(rep.Results[0].LogPath)
	if !strings.Contains(string(log), "attempt 3 of 4") || !strings.Contains(string(log), "exit status 1") {
		t.Errorf("log:\n%s", log)
	}
	if DefaultBackoff(0) != 500*time.Millisecond || DefaultBackoff(2) != 2*time.Second || DefaultBackoff(10) != 10*time.Second {
		t.Errorf("DefaultBackoff: %v %v %v", DefaultBackoff(0), DefaultBackoff(2), DefaultBackoff(10))
	}
}

func TestCancelDrains(t *testing.T) {
	f := newFixture(t)
	f.script(t, "quick.sh", `echo done > "$CW_ROOT/$CW_RESOURCE.done"`+"\n")
	f.script(t, "hang.sh", `sleep 100 & echo $! > "$CW_ROOT/$CW_RESOURCE.pid"; wait`+"\n")
	al, b := plan(
		stepSpec{id: "command.quick/run_command", script: "quick.sh"},
		stepSpec{id: "command.h1/run_command", deps: []string{"command.quick/run_command"}, script: "hang.sh"},
		stepSpec{id: "command.h2/run_command", deps: []string{"command.quick/run_command"}, script: "hang.sh"},
		stepSpec{id: "command.later/run_command", deps: []string{"command.quick/run_command"}, script: "quick.sh"},
		stepSpec{id: "command.dep/run_command", deps: []string{"command.h1/run_command"}, script: "quick.sh"},
	)
	opts := f.opts()
	opts.Parallelism = 2
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		for {
			_, e1 := os.Stat(filepath.Join(f.root, "command.h1.pid"))
			_, e2 := os.Stat(filepath.Join(f.root, "command.h2.pid"))
			if e1 == nil && e2 == nil {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	start := time.Now()
	rep, err, st := f.exec(t, ctx, al, b, opts)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("run error %v, want context.Canceled", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("cancelled run took %v", el)
	}
	want := map[string]string{
		"command.quick/run_command": StatusOK, "command.h1/run_command": StatusFailed, "command.h2/run_command": StatusFailed,
		"command.later/run_command": StatusNotRun, "command.dep/run_command": StatusNotRun,
	}
	if d := cmp.Diff(want, statuses(rep)); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}
	if r := st.Resource("command.quick"); r == nil || r.Status != contract.StatusApplied {
		t.Errorf("the step finished before cancel is not recorded: %+v", r)
	}
	if st.Resource("command.h1") != nil {
		t.Error("an interrupted step was recorded in state")
	}
	for _, p := range []string{"command.h1.pid", "command.h2.pid"} {
		pid := int(readStamp(t, filepath.Join(f.root, p)))
		deadline := time.Now().Add(3 * time.Second)
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if alive(pid) {
			t.Errorf("grandchild %d of a cancelled step survived", pid)
		}
	}
}

func TestResumePartialResource(t *testing.T) {
	f := newFixture(t)
	f.script(t, "mark.sh", `echo x >> "$CW_ROOT/$(echo $CW_STEP_ID | tr / _).mark"`+"\n")
	al, b := plan(
		stepSpec{id: "service.web/ensure_service", script: "mark.sh"},
		stepSpec{id: "service.web/verify_http", deps: []string{"service.web/ensure_service"}, script: "mark.sh"},
		stepSpec{id: "file.cfg/ensure_file", script: "mark.sh"},
	)
	// State as a killed run left it: ensure_service done, verify not yet,
	// file.cfg done at another config.
	st := state.New()
	st.Resources = []contract.ResourceState{
		{Address: "service.web", Type: "service", ConfigHash: "sha256:service.web", Status: contract.StatusPartial,
			Steps: map[string]contract.StepState{"service.web/ensure_service": {Status: "ok", ConfigHash: "sha256:service.web"}}},
		{Address: "file.cfg", Type: "file", ConfigHash: "sha256:old", Status: contract.StatusPartial,
			Steps: map[string]contract.StepState{"file.cfg/ensure_file": {Status: "ok", ConfigHash: "sha256:old"}}},
	}
	if err := f.store.Save(st); err != nil {
		t.Fatal(err)
	}
	rep, err, after := f.exec(t, t.Context(), al, b, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"service.web/ensure_service": StatusResumed, "service.web/verify_http": StatusOK, "file.cfg/ensure_file": StatusOK}
	if d := cmp.Diff(want, statuses(rep)); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}
	if _, err := os.Stat(filepath.Join(f.root, "service.web_ensure_service.mark")); err == nil {
		t.Error("a step recorded ok ran again")
	}
	for _, r := range after.Resources {
		if r.Status != contract.StatusApplied {
			t.Errorf("%s is %s after resume, want applied", r.Address, r.Status)
		}
	}
}

func TestDeleteRemovesResourceAndRecordsDeleteSteps(t *testing.T) {
	f := newFixture(t)
	f.script(t, "ok.sh", "true\n")
	al, b := plan(stepSpec{id: "file.a/ensure_file", script: "ok.sh"})
	opts := f.opts()
	del := contract.Step{ID: "file.a/remove_file", Name: "remove_file", Resource: "file.a", Change: contract.ChangeDelete, Args: map[string]any{"path": "a.txt"}}
	opts.DeleteSteps = map[string][]contract.Step{"file.a": {del}}
	opts.DependsOn = map[string][]string{"file.a": {"directory.d"}}
	opts.PreventDestroy = map[string]bool{"file.a": true}
	_, err, st := f.exec(t, t.Context(), al, b, opts)
	if err != nil {
		t.Fatal(err)
	}
	r := st.Resource("file.a")
	if r == nil || len(r.DeleteSteps) != 1 || r.DeleteSteps[0].Args["path"] != "a.txt" || !slices.Equal(r.DependsOn, []string{"directory.d"}) || !r.PreventDestroy {
		t.Fatalf("recorded resource: %+v", r)
	}
	dal, db := plan(stepSpec{id: "file.a/remove_file", script: "ok.sh", change: contract.ChangeDelete})
	rep, err, st := f.exec(t, t.Context(), dal, db, f.opts())
	if err != nil || rep.OK != 1 {
		t.Fatalf("delete run: %v %+v", err, rep.Results)
	}
	if st.Resource("file.a") != nil {
		t.Errorf("deleted resource still in state: %+v", st.Resources)
	}
}

func TestVerifyOnlyRecordsLastVerified(t *testing.T) {
	f := newFixture(t)
	f.script(t, "ok.sh", "true\n")
	f.script(t, "fail.sh", "exit 1\n")
	al, b := plan(
		stepSpec{id: "service.web/ensure_service", script: "ok.sh"},
		stepSpec{id: "service.web/verify_http", deps: []string{"service.web/ensure_service"}, script: "ok.sh"},
		stepSpec{id: "check.c/verify_tcp", script: "ok.sh"},
	)
	if _, err, _ := f.exec(t, t.Context(), al, b, f.opts()); err != nil {
		t.Fatal(err)
	}
	for i := range al.Steps {
		al.Steps[i].Change = contract.ChangeNoop
	}
	b.Steps[2].Run.Cmd = []string{"bash", "scripts/fail.sh"}
	opts := f.opts()
	opts.Select = SelectVerify
	later := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	opts.Now = func() time.Time { return later }
	rep, err, st := f.exec(t, t.Context(), al, b, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"service.web/ensure_service": StatusNoop, "service.web/verify_http": StatusOK, "check.c/verify_tcp": StatusFailed}
	if d := cmp.Diff(want, statuses(rep)); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}
	web := st.Resource("service.web")
	if web.LastVerified == nil || !web.LastVerified.Equal(later) || web.Status != contract.StatusApplied || web.LastApplied.Equal(later) {
		t.Errorf("verified resource: %+v", web)
	}
	if c := st.Resource("check.c"); c.Status != contract.StatusFailed {
		t.Errorf("failed check: status %s, want failed", c.Status)
	}
}

func TestResourceType(t *testing.T) {
	for addr, want := range map[string]string{
		"file.a": "file", `file.f["x.y"]`: "file", "file.f[0]": "file",
		"module.m.service.web": "service", `module.m["a.b"].module.n.image.app`: "image",
	} {
		if got := ResourceType(addr); got != want {
			t.Errorf("ResourceType(%q) = %q, want %q", addr, got, want)
		}
	}
}

func TestSelectApply(t *testing.T) {
	for _, tc := range []struct {
		s    contract.Step
		want bool
	}{
		{contract.Step{Name: "ensure_file", Change: "create"}, true},
		{contract.Step{Name: "ensure_file", Change: "noop"}, false},
		{contract.Step{Name: "verify_http", Change: "noop"}, true},
		{contract.Step{Name: "ensure_service", Change: "noop", Args: map[string]any{"kind": "process"}}, true},
		{contract.Step{Name: "ensure_service", Change: "noop", Args: map[string]any{"kind": "container"}}, false},
	} {
		if got := SelectApply(tc.s); got != tc.want {
			t.Errorf("SelectApply(%s %s %v) = %v", tc.s.Name, tc.s.Change, tc.s.Args, got)
		}
	}
}

func TestCancelledBeforeStartRunsNothing(t *testing.T) {
	f := newFixture(t)
	f.script(t, "mark.sh", `: > "$CW_ROOT/ran"`+"\n")
	al, b := plan(stepSpec{id: "command.a/run_command", script: "mark.sh"}, stepSpec{id: "command.b/run_command", script: "mark.sh"})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	rep, err, _ := f.exec(t, ctx, al, b, f.opts())
	if !errors.Is(err, context.Canceled) || rep.NotRun != 2 {
		t.Errorf("run: %v, %+v", err, statuses(rep))
	}
	if _, err := os.Stat(filepath.Join(f.root, "ran")); err == nil {
		t.Error("a step ran after cancel")
	}
}

func TestStopsWhenStateCannotBeRecorded(t *testing.T) {
	f := newFixture(t)
	f.script(t, "ok.sh", "sleep 0.2\n")
	al, b := plan(
		stepSpec{id: "command.a/run_command", script: "ok.sh"},
		stepSpec{id: "command.b/run_command", deps: []string{"command.a/run_command"}, script: "ok.sh"},
		stepSpec{id: "command.c/run_command", deps: []string{"command.b/run_command"}, script: "ok.sh"},
		stepSpec{id: "command.d/run_command", deps: []string{"command.c/run_command"}, script: "ok.sh"},
	)
	st, _ := f.store.Load()
	sess := f.store.Begin(st)
	defer sess.Close()
	// Break the lock under the session: every write now fails.
	lockInfo, _ := os.ReadFile(filepath.Join(f.stateDir, state.LockFile))
	id := strings.Split(strings.Split(string(lockInfo), `"id":"`)[1], `"`)[0]
	if err := state.Open(f.stateDir).ForceUnlock(id); err != nil {
		t.Fatal(err)
	}
	opts := f.opts()
	opts.Parallelism = 1
	rep, err := Execute(t.Context(), al, b, sess, opts)
	if !errors.Is(err, state.ErrLockLost) {
		t.Fatalf("run error %v, want ErrLockLost", err)
	}
	// The failed write is noticed within a step or two (writes are
	// asynchronous); the rest of the chain must not run.
	if got := statuses(rep)["command.d/run_command"]; got != StatusNotRun {
		t.Errorf("last step after the state failure: %s, want not_run (%v)", got, statuses(rep))
	}
}

func TestPlanProblems(t *testing.T) {
	t.Run("cycle", func(t *testing.T) {
		f := newFixture(t)
		f.script(t, "ok.sh", "true\n")
		al, b := plan(
			stepSpec{id: "command.a/run_command", deps: []string{"command.b/run_command"}, script: "ok.sh"},
			stepSpec{id: "command.b/run_command", deps: []string{"command.a/run_command"}, script: "ok.sh"},
			stepSpec{id: "command.c/run_command", script: "ok.sh"},
		)
		rep, err, _ := f.exec(t, t.Context(), al, b, f.opts())
		if !errors.Is(err, ErrCycle) {
			t.Errorf("run error %v, want ErrCycle", err)
		}
		want := map[string]string{"command.a/run_command": StatusNotRun, "command.b/run_command": StatusNotRun, "command.c/run_command": StatusOK}
		if d := cmp.Diff(want, statuses(rep)); d != "" {
			t.Errorf("statuses (-want +got):\n%s", d)
		}
	})
	t.Run("no bundle step", func(t *testing.T) {
		f := newFixture(t)
		f.script(t, "ok.sh", "true\n")
		al, b := plan(stepSpec{id: "command.a/run_command", script: "ok.sh"}, stepSpec{id: "command.b/run_command", deps: []string{"command.a/run_command"}, script: "ok.sh"})
		b.Steps = b.Steps[1:]
		rep, err, _ := f.exec(t, t.Context(), al, b, f.opts())
		if err != nil {
			t.Fatal(err)
		}
		if r := rep.Results[0]; r.Status != StatusFailed || r.Err != "the bundle has no command for this step" || !strings.Contains(r.LogTail, "no command") {
			t.Errorf("step without a bundle command: %+v", r)
		}
		if rep.Results[1].Status != StatusSkipped {
			t.Errorf("its dependent: %+v", rep.Results[1])
		}
	})
	t.Run("unknown runner", func(t *testing.T) {
		f := newFixture(t)
		f.script(t, "ok.sh", "true\n")
		al, b := plan(stepSpec{id: "command.a/run_command", script: "ok.sh"})
		al.Steps[0].Provider = "ssh.web"
		opts := f.opts()
		opts.Runner = func(p string) (runner.Runner, error) {
			if p == "local" {
				return &runner.Local{}, nil
			}
			return nil, fmt.Errorf("no runner for provider %q yet", p)
		}
		rep, err, _ := f.exec(t, t.Context(), al, b, opts)
		if err != nil {
			t.Fatal(err)
		}
		if r := rep.Results[0]; r.Status != StatusFailed || !strings.Contains(r.Err, `no runner for provider "ssh.web"`) {
			t.Errorf("step with an unknown provider: %+v", r)
		}
	})
}

// TestResumeOnlyStepsLeft: a partial resource whose remaining steps were all
// done becomes applied.
func TestResumeCompletesResource(t *testing.T) {
	f := newFixture(t)
	f.script(t, "ok.sh", "true\n")
	al, b := plan(stepSpec{id: "file.a/ensure_file", script: "ok.sh"})
	st := state.New()
	st.Resources = []contract.ResourceState{{Address: "file.a", Type: "file", ConfigHash: "sha256:file.a", Status: contract.StatusPartial,
		Steps: map[string]contract.StepState{"file.a/ensure_file": {Status: "ok", ConfigHash: "sha256:file.a"}}}}
	if err := f.store.Save(st); err != nil {
		t.Fatal(err)
	}
	rep, err, after := f.exec(t, t.Context(), al, b, f.opts())
	if err != nil || rep.Results[0].Status != StatusResumed {
		t.Fatalf("%v %+v", err, rep.Results)
	}
	if r := after.Resource("file.a"); r.Status != contract.StatusApplied || r.LastApplied == nil {
		t.Errorf("resource after resume: %+v", r)
	}
}
