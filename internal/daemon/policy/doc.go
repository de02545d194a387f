// Package policy is the daemon's fix policy: which kinds of change it may
// apply on its own, which wait for a person's approval, and the budgets that
// keep a broken service from causing a patch storm.
//
// The policy comes from the `daemon` block of clockwork.hcl in the
// configuration directory; other blocks in that file (the AI compiler's
// `compiler` block, ...) belong to other packages and are left alone.
//
// Invariants:
//   - Destructive operations and secret rotation are never automatic and can
//     never be approved through the daemon; no configuration changes that.
//   - A kind of change that no list names is never automatic: the daemon
//     writes a runbook for it.
//   - Load never returns a half-applied block: on error diagnostics the
//     returned Policy is Default().
package policy
