// Command clockwork declares, plans, builds, applies and keeps infrastructure
// described in .cw files. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/clockwork-iac/clockwork/internal/cli"
)

func main() {
	os.Exit(run())
}

func run() int {
	tuneGC(os.Args[1:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return cli.Run(ctx, os.Args[1:], cli.Stdio{
		In:         os.Stdin,
		Out:        os.Stdout,
		Err:        os.Stderr,
		Environ:    os.Environ(),
		Terminal:   isTerminal(os.Stdout),
		Executable: exe,
	})
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	return fi.Mode()&os.ModeCharDevice != 0
}

// tuneGC trades memory for speed in one-shot commands, which parse and plan
// a whole configuration and exit: GOGC=400. Commands that also build and run
// steps hold the bundle besides the plan, so they get a soft memory limit
// that keeps an apply of 1,000 resources under 100 MB; plan alone is left
// unlimited so 10,000 resources plan in under a second. The daemon keeps
// Go's defaults. GOGC and GOMEMLIMIT in the environment win.
func tuneGC(args []string) {
	cmd := ""
	if len(args) > 0 {
		cmd = args[0]
	}
	if cmd == "daemon" || os.Getenv("GOGC") != "" {
		return
	}
	debug.SetGCPercent(400)
	switch cmd {
	case "apply", "build", "destroy", "verify":
		if os.Getenv("GOMEMLIMIT") == "" {
			debug.SetMemoryLimit(64 << 20)
		}
	}
}
