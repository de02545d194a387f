// Command gen supports bench/plan/run.sh. It has two modes:
//
//	gen -n N -shape independent|chain -dir DIR
//	    writes N file resources as .cw files (1000 per file) into DIR; with
//	    -shape chain each resource depends on the previous one.
//	gen -measure [-runs R] -- CMD ARGS...
//	    runs CMD R times (stdout discarded) and prints
//	    "<best wall ms> <best user+sys CPU ms> <peak RSS KiB>". CPU time is
//	    the steadier figure on a shared, loaded machine.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run() error {
	n := flag.Int("n", 1000, "number of resources")
	shape := flag.String("shape", "independent", "independent or chain")
	dir := flag.String("dir", "", "directory to write the configuration into")
	measure := flag.Bool("measure", false, "run the command after -- and report time and peak memory")
	runs := flag.Int("runs", 3, "runs for -measure (the fastest is reported)")
	flag.Parse()
	if *measure {
		return measureCmd(flag.Args(), *runs)
	}
	if *dir == "" {
		return errors.New("-dir is required")
	}
	if *shape != "independent" && *shape != "chain" {
		return fmt.Errorf("unknown -shape %q", *shape)
	}
	return generate(*dir, *n, *shape == "chain")
}

func generate(dir string, n int, chain bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	const perFile = 1000
	for start := 0; start < n; start += perFile {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("res_%05d.cw", start/perFile)))
		if err != nil {
			return err
		}
		w := bufio.NewWriter(f)
		for i := start; i < min(n, start+perFile); i++ {
			fmt.Fprintf(w, "resource \"file\" \"f%05d\" {\n", i)
			fmt.Fprintf(w, "  path    = \"out/f%05d.txt\"\n", i)
			fmt.Fprintf(w, "  content = \"file number %d\\n\"\n", i)
			if chain && i > 0 {
				fmt.Fprintf(w, "  depends_on = [file.f%05d]\n", i-1)
			}
			fmt.Fprintf(w, "}\n\n")
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

func measureCmd(args []string, runs int) error {
	if len(args) == 0 {
		return errors.New("-measure needs a command after --")
	}
	best, bestCPU := time.Duration(-1), time.Duration(-1)
	var peak int64
	for i := 0; i < max(runs, 1); i++ {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stderr = os.Stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w", args[0], err)
		}
		d := time.Since(start)
		if best < 0 || d < best {
			best = d
		}
		cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		if bestCPU < 0 || cpu < bestCPU {
			bestCPU = cpu
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > peak {
			peak = ru.Maxrss // KiB on Linux
		}
	}
	fmt.Printf("%d %d %d\n", best.Milliseconds(), bestCPU.Milliseconds(), peak)
	return nil
}
