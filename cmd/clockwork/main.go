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
	// One-shot commands parse and plan large configurations and exit: trade
	// memory for less GC time. The daemon keeps Go's default.
	// A soft memory limit keeps small runs small (GC runs earlier when the
	// heap nears it); large configurations go past it at Go's normal pace.
	if os.Getenv("GOGC") == "" && (len(os.Args) < 2 || os.Args[1] != "daemon") {
		debug.SetGCPercent(400)
		if os.Getenv("GOMEMLIMIT") == "" {
			debug.SetMemoryLimit(64 << 20)
		}
	}
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
