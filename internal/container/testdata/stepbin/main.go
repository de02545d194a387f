// Command stepbin is a stand-in for the clockwork binary in tests of
// generated scripts: `stepbin step docker OP ...` runs container.StepMain,
// exactly what `clockwork step docker` runs.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/clockwork-iac/clockwork/internal/container"
)

func main() {
	if len(os.Args) < 3 || os.Args[1] != "step" || os.Args[2] != "docker" {
		fmt.Fprintln(os.Stderr, "usage: stepbin step docker OP [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := container.StepMain(ctx, os.Args[3:], os.Stdout, os.Stderr, os.Environ())
	stop()
	os.Exit(code)
}
