// Package runner runs one step's command somewhere: on this machine (Local)
// or, later, in a container, over SSH or in a cluster. Every implementation
// passes the conformance suite in runner/runnertest.
//
// Invariants:
//   - The environment of a command is exactly Request.Env; nothing is
//     inherited from the parent process. Cmd[0] is resolved with the PATH in
//     Request.Env, never the parent's.
//   - A command runs in its own process group. On timeout or context
//     cancellation the whole group is killed (SIGTERM, then SIGKILL after a
//     grace period), so grandchildren die with it.
//   - A background grandchild that keeps stdout or stderr open does not make
//     Run hang: Run returns a bounded time after the command itself exits.
//   - A non-zero exit is a Result, not an error; Run returns an error only
//     when the command could not start or the context was cancelled.
//
// MaskingWriter replaces secret values in output streams (logs) before they
// reach disk or a terminal.
package runner
