// Package daemon keeps a configuration converged: it runs the same
// intake -> assembly -> forge pipeline as `clockwork apply` on a loop,
// restores drifted resources by re-running their unchanged steps, and when
// that is not enough makes the smallest safe fix its policy allows.
//
// The pipeline is reached only through the Pipeline interface (pipeline.go);
// the CLI implements it over the real stages. Everything else here is real:
// the loop, fsnotify, the .cw patcher, proposals, runbooks, events and the
// HTTP status page.
//
// A pass (pass.go) is level-triggered: it plans (re-reading every .cw),
// observes every resource, and then, per resource:
//   - reconcile first: a resource whose desired state changed, or that is
//     observed unhealthy, gets Apply with itself as the only target, at once,
//     then with per-resource exponential backoff (policy BackoffBase doubling
//     up to BackoffCap), forgotten after HealthyReset of health;
//   - after ReconcileAttempts reconciles that did not restore health, a fix,
//     in the decision-rule order: an artifact patch (Pipeline.PatchArtifact),
//     a .cw patch (a proposal in .clockwork/proposals/ unless policy makes it
//     automatic), or a runbook in .clockwork/runbooks/;
//   - automatic fixes are bounded by MaxFixesPerHour and Cooldown per
//     resource; past the budget the daemon writes a runbook and keeps
//     reporting.
//
// Invariants:
//   - One pass at a time per directory: passes run on the Run goroutine only,
//     and Run holds .clockwork/daemon.lock (flock) while it runs.
//   - Triggers (fsnotify, timer, Signal, HTTP approve) coalesce into a
//     one-slot channel; a burst of triggers runs at most one extra pass.
//   - A configuration with errors never reaches Apply as a change: the daemon
//     keeps the last good plan, reports the diagnostics, and only restores
//     resources of the last good configuration.
//   - Destructive operations (a resource removed from the .cw) and secret
//     rotation are never automatic: they produce a runbook.
//   - Every observation, decision and fix is one JSON line in
//     .clockwork/events.jsonl; event text goes through the configured masker.
//   - A panic in a pass is recovered, logged and recorded with the pass id;
//     the loop continues.
//   - Run returns only after the in-flight pass has finished; the pipeline
//     drains its running steps when the context is cancelled.
package daemon
