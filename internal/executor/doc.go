// Package executor walks an ActionList and runs each step's command from the
// validated bundle: the one graph walker of Clockwork (modelled on Go's
// cmd/go Builder.Do and Terraform's dag walk).
//
// Invariants:
//   - Each step counts its pending dependencies; ready steps run on
//     Options.Parallelism workers, dispatched in ActionList order. Results are
//     reported in ActionList order; OnStepDone sees completion order.
//   - A failed (or timed out) step marks its transitive dependents skipped
//     ("skipped: X failed"); independent branches continue. On cancel, no new
//     step starts, running steps are killed through their context, and what
//     finished is recorded; the rest is not_run.
//   - Unselected steps (Options.Select) count as done at once; their
//     resources' outputs come from state.
//   - Every step runs in BuildDir with an explicit environment (docs/steps.md
//     "Environment of every step"), never the parent's, and its output goes
//     through runner.MaskingWriter (every secret value masked) to
//     <LogDir>/<step id with "/" as "__">.log.
//   - With Options.Confine, the step's command is prefixed with the argv it
//     returns (internal/sandbox: the step may write only beneath
//     .clockwork/ and its declared paths), and CW_OUTPUT files live in
//     Options.TempDir (<StateDir>/tmp) instead of the system temp dir.
//   - Every finished step is recorded in the Session's state before its
//     dependents are dispatched; the Session writes it to disk by group
//     commit (within state.SessionInterval plus one write), so a kill loses
//     at most the steps in flight. A step cut short by cancellation is not
//     recorded. Output values that contain a secret are dropped, never
//     recorded.
//   - Resume: for a resource whose state status is "partial", a non-verify
//     step recorded "ok" in state with the same config hash is not run again
//     (status "resumed"). Verify steps always run.
//   - Resource status: "applied" when every planned (change != noop) step of
//     the resource in this ActionList finished ok in this run; "failed" when
//     one of its steps failed; "partial" when some planned steps finished and
//     others did not. A run that only re-checks a resource (noop or verify
//     steps) keeps its status unless a check fails. A resource whose delete
//     steps all succeeded leaves state.
package executor
