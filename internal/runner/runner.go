package runner

import (
	"context"
	"io"
	"time"
)

// Runner runs one command to completion.
type Runner interface {
	// Run runs req.Cmd and waits for it. The error is non-nil only when the
	// command could not be started or ctx ended (then it wraps ctx.Err());
	// a command that ran and exited non-zero, or timed out, is reported in
	// Result.
	Run(ctx context.Context, req Request) (Result, error)
}

// Request is one command invocation.
type Request struct {
	// Cmd is the program and its arguments. Cmd[0] without a slash is looked
	// up in the PATH given in Env; with a slash it is relative to Dir.
	Cmd []string
	// Dir is the working directory.
	Dir string
	// Env is the complete environment ("KEY=VALUE"); nothing is inherited.
	Env []string
	// Stdin is the standard input (nil: empty).
	Stdin io.Reader
	// Stdout and Stderr receive the output (nil: discarded). When they are
	// the same comparable writer, at most one goroutine writes at a time.
	Stdout, Stderr io.Writer
	// Timeout bounds the run (0: no timeout besides ctx).
	Timeout time.Duration
	// Confine, when set, runs on the OS thread that starts the command,
	// just before it does, and may restrict that thread (Landlock): the
	// command inherits the restriction. The thread is never reused: the
	// runner starts the command from a goroutine locked to a thread of its
	// own, which ends with it. An error fails the run before it starts.
	Confine func() error
}

// Result is how a command ended.
type Result struct {
	// ExitCode is the exit status; 128+N when killed by signal N.
	ExitCode int
	// TimedOut is true when Request.Timeout expired and the process group was
	// killed.
	TimedOut bool
	// Duration is the wall time from start to exit.
	Duration time.Duration
}
