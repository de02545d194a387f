// Command apply benchmarks the executor and the state session: N independent
// steps and a chain of N, each running `bash scripts/x.sh` that writes a
// file, then a no-op re-run of each, against the floor measured in the same
// run (N sequential `bash -c true` spawns from Go). It prints wall time and
// peak RSS (getrusage of this process) and the ratios the forge issue sets
// as targets: independent <= 1.5x floor, chain <= 2x, no-op < 0.5 s, peak
// memory < 100 MB.
//
//	go run ./bench/apply [-n 1000] [-parallelism 10]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/executor"
	"github.com/clockwork-iac/clockwork/internal/state"
)

const script = `printf '%s\n' "$CONTENT" > "$CW_ROOT/out/$CW_RESOURCE.txt"
`

func main() {
	n := flag.Int("n", 1000, "steps per scenario")
	par := flag.Int("parallelism", 10, "executor parallelism")
	keep := flag.Bool("keep", false, "keep the work directory")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	floorOnly := flag.Bool("floor", false, "only measure and print the spawn floor in seconds (used by cli.sh)")
	createIn := flag.String("create-cost", "", "only measure and print the cost in microseconds of creating one file in a new directory beneath this one (used by cli.sh)")
	flag.Parse()
	if *createIn != "" {
		d, err := createCost(*createIn, *n)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench/apply:", err)
			os.Exit(1)
		}
		fmt.Printf("%.0f\n", float64(d.Microseconds())/float64(*n))
		return
	}
	if *floorOnly {
		d, err := spawnFloor(*n)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench/apply:", err)
			os.Exit(1)
		}
		fmt.Printf("%.3f\n", d.Seconds())
		return
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench/apply:", err)
			os.Exit(1)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(context.Background(), *n, *par, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench/apply:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(ctx context.Context, n, par int, keep bool) error {
	work, err := os.MkdirTemp("", "cw-bench-apply-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(work)
	} else {
		fmt.Println("work directory:", work)
	}

	floor, err := spawnFloor(n)
	if err != nil {
		return err
	}
	fmt.Printf("%-28s %9s  %8s  %s\n", "scenario", "wall", "peak RSS", "vs floor / target")
	fmt.Printf("%-28s %9.3fs  %6.1fMB  (%.2f ms per spawn)\n", fmt.Sprintf("floor: %d x bash -c true", n), floor.Seconds(), peakMB(), float64(floor.Microseconds())/1000/float64(n))

	// The steps' own work, without the executor: the same script, env and
	// directory, run sequentially. The gap between this and the chain is
	// the executor's and the state's cost.
	scriptFloor, err := scriptOnly(work, n)
	if err != nil {
		return err
	}
	fmt.Printf("%-28s %9.3fs  %6.1fMB  %.2fx (the script itself, sequential)\n", fmt.Sprintf("%d x bash scripts/x.sh", n), scriptFloor.Seconds(), peakMB(), scriptFloor.Seconds()/floor.Seconds())

	ok := true
	for _, sc := range []struct {
		name   string
		chain  bool
		target float64
	}{
		{fmt.Sprintf("%d independent", n), false, 1.5},
		{fmt.Sprintf("chain of %d", n), true, 2},
	} {
		root := filepath.Join(work, map[bool]string{false: "independent", true: "chain"}[sc.chain])
		self0, kids0 := cpu()
		d, err := apply(ctx, root, n, par, sc.chain, false)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		self1, kids1 := cpu()
		// The machine is shared: compare with the mean of the floor measured
		// just before and just after the scenario.
		after, err := spawnFloor(n)
		if err != nil {
			return err
		}
		ref := (floor + after) / 2
		ratio := d.Seconds() / ref.Seconds()
		verdict := "ok"
		if ratio > sc.target {
			verdict, ok = "MISSED", false
		}
		fmt.Printf("%-28s %9.3fs  %6.1fMB  %.2fx (target <= %.1fx) %s\n", sc.name, d.Seconds(), peakMB(), ratio, sc.target, verdict)
		fmt.Printf("%-28s %9s  %8s  clockwork CPU %.2f ms/step, step processes CPU %.2f ms/step\n", "", "", "",
			float64((self1-self0).Microseconds())/1000/float64(n), float64((kids1-kids0).Microseconds())/1000/float64(n))
		fmt.Printf("%-28s %9.3fs  %6.1fMB  (reference %.3fs)\n", "  floor again", after.Seconds(), peakMB(), ref.Seconds())
		floor = after

		d, err = apply(ctx, root, n, par, sc.chain, true)
		if err != nil {
			return fmt.Errorf("%s no-op: %w", sc.name, err)
		}
		verdict = "ok"
		if d > 500*time.Millisecond {
			verdict, ok = "MISSED", false
		}
		fmt.Printf("%-28s %9.3fs  %6.1fMB  (target < 0.5s) %s\n", "  no-op re-run", d.Seconds(), peakMB(), verdict)
	}
	verdict := "ok"
	if peakMB() >= 100 {
		verdict, ok = "MISSED", false
	}
	fmt.Printf("%-28s %9s  %6.1fMB  (target < 100MB) %s\n", "peak memory", "", peakMB(), verdict)
	if !ok {
		return fmt.Errorf("a target was missed")
	}
	return nil
}

func spawnFloor(n int) (time.Duration, error) {
	start := time.Now()
	for range n {
		if err := exec.Command("bash", "-c", "true").Run(); err != nil {
			return 0, fmt.Errorf("floor: %w", err)
		}
	}
	return time.Since(start), nil
}

// createCost creates n empty files in a new directory beneath dir, one
// after the other, and returns the time it took. An apply of N file
// resources creates about 4N files (two artifacts, a log and the file), so
// a filesystem where creating is slow weighs on every scenario but not on
// the spawn floor.
func createCost(dir string, n int) (time.Duration, error) {
	d, err := os.MkdirTemp(dir, "create-cost-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(d)
	start := time.Now()
	for i := range n {
		f, err := os.OpenFile(filepath.Join(d, fmt.Sprintf("f%05d.log", i)), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return 0, err
		}
		if err := f.Close(); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

func scriptOnly(work string, n int) (time.Duration, error) {
	root := filepath.Join(work, "script-only")
	build := filepath.Join(root, ".clockwork", "build")
	for _, d := range []string{filepath.Join(build, "scripts"), filepath.Join(root, "out")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return 0, err
		}
	}
	if err := os.WriteFile(filepath.Join(build, "scripts", "x.sh"), []byte(script), 0o755); err != nil {
		return 0, err
	}
	start := time.Now()
	for i := range n {
		addr := fmt.Sprintf("file.f%05d", i)
		cmd := exec.Command("bash", "scripts/x.sh")
		cmd.Dir = build
		cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "CW_ROOT=" + root, "CW_RESOURCE=" + addr, "CONTENT=hello from " + addr}
		if err := cmd.Run(); err != nil {
			return 0, fmt.Errorf("script floor: %w", err)
		}
	}
	return time.Since(start), nil
}

// apply runs one apply of the scenario in root: lock, load state, plan
// (noop for resources applied at the same hash), execute, close.
func apply(ctx context.Context, root string, n, par int, chain, expectNoop bool) (time.Duration, error) {
	build := filepath.Join(root, ".clockwork", "build")
	if !expectNoop {
		for _, d := range []string{filepath.Join(build, "scripts"), filepath.Join(root, "out")} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return 0, err
			}
		}
		if err := os.WriteFile(filepath.Join(build, "scripts", "x.sh"), []byte(script), 0o755); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	store := state.Open(filepath.Join(root, ".clockwork"))
	lock, err := store.Lock(ctx, "apply")
	if err != nil {
		return 0, err
	}
	defer lock.Unlock()
	st, err := store.Load()
	if err != nil {
		return 0, err
	}
	al, b := plan(st, n, chain)
	sess := store.Begin(st)
	rep, err := executor.Execute(ctx, al, b, sess, executor.Options{
		Root: root, BuildDir: build, StateDir: filepath.Join(root, ".clockwork"),
		Parallelism: par, Environ: os.Environ(), Select: executor.SelectApply,
	})
	if cerr := sess.Close(); err == nil {
		err = cerr
	}
	d := time.Since(start)
	if err != nil {
		return d, err
	}
	if os.Getenv("CW_BENCH_DEBUG") != "" {
		var sum time.Duration
		for _, r := range rep.Results {
			sum += r.Duration
		}
		fmt.Printf("    debug: sum of step durations %.3fs, mean %.2fms\n", sum.Seconds(), float64(sum.Microseconds())/1000/float64(max(1, rep.OK)))
	}
	want := n
	if expectNoop {
		want = 0
	}
	if rep.OK != want || rep.Failed != 0 {
		return d, fmt.Errorf("%d ok, %d failed, want %d ok", rep.OK, rep.Failed, want)
	}
	if !expectNoop {
		got, _ := os.ReadDir(filepath.Join(root, "out"))
		if len(got) != n {
			return d, fmt.Errorf("%d files written, want %d", len(got), n)
		}
	}
	return d, nil
}

// plan builds what assembly would: one ensure_file per resource, noop when
// state has it applied at the same config hash.
func plan(st *contract.State, n int, chain bool) (*contract.ActionList, *contract.Bundle) {
	applied := map[string]string{}
	if st != nil {
		for _, r := range st.Resources {
			if r.Status == contract.StatusApplied {
				applied[r.Address] = r.ConfigHash
			}
		}
	}
	al := &contract.ActionList{Version: contract.Version, Fingerprint: "sha256:bench"}
	b := &contract.Bundle{Version: contract.Version, Fingerprint: "sha256:bench"}
	for i := range n {
		addr := fmt.Sprintf("file.f%05d", i)
		hash := "sha256:" + addr
		s := contract.Step{ID: addr + "/ensure_file", Name: contract.StepEnsureFile, Resource: addr, Change: contract.ChangeCreate,
			ConfigHash: hash, Args: map[string]any{"path": "out/" + addr + ".txt"}}
		if applied[addr] == hash {
			s.Change = contract.ChangeNoop
		}
		if chain && i > 0 {
			s.DependsOn = []string{fmt.Sprintf("file.f%05d/ensure_file", i-1)}
		}
		al.Steps = append(al.Steps, s)
		b.Steps = append(b.Steps, contract.BundleStep{Purpose: s.ID, Run: contract.Run{
			Cmd: []string{"bash", "scripts/x.sh"}, Env: map[string]string{"CONTENT": "hello from " + addr}}})
	}
	return al, b
}

// cpu returns the user+system CPU time of this process and of its waited-for
// children so far.
func cpu() (self, children time.Duration) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
	children = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return self, children
}

func peakMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // KiB on Linux
}
