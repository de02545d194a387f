// Package assembly turns an evaluated configuration (ir.Config) and the
// recorded state into a plan: the ActionList that forge compiles and runs.
//
// It builds the desired-state graph of resources (NewGraph), plans each
// resource's steps as docs/steps.md specifies, diffs each resource against
// state by its config hash (create, update, delete, noop), orders the steps
// topologically with ties broken by step id, and fingerprints the result.
//
// Invariants:
//   - Pure and deterministic: no clock, no environment, no filesystem, no
//     randomness and no map-order dependence. The same IR and state give a
//     byte-identical ActionList on every machine, whatever the order of
//     cfg.Resources. The one door to the filesystem is Options.ContentHash,
//     which the caller opens (FSHasher) to hash image contexts and file
//     sources.
//   - No secret value ever enters the ActionList, its fingerprint, a config
//     hash or an error message. A sensitive value becomes an environment
//     variable name ("<attr>Var" or {"fromEnv": NAME}) listed in the step's
//     SecretEnv; the values travel only in Plan.Secrets, in memory.
//   - Args hold plain JSON-able Go values (string, bool, int64, float64,
//     []any, map[string]any); never a cty value.
//   - Every problem is an hcl.Diagnostic pointing at the resource's (or the
//     attribute's) range in the user's .cw.
//
// Ordering rules (documented in docs/steps.md and here):
//   - Within a resource, steps run in docs/steps.md order and each depends on
//     the previous one.
//   - A resource changes (create, update) when its config hash differs from
//     state's, and also (update) when it consumes a value known only after
//     apply from a resource that changes, or is an image one of whose
//     dependencies changes. Otherwise it is a noop.
//   - The first step of a resource depends on the last step of every resource
//     it depends on (ir.Resource.DependsOn and every resource whose deferred
//     outputs it consumes).
//   - A delete runs after the deletes of every resource that depended on it
//     (reverse dependency order, from the DependsOn recorded in state).
//   - Deletes have no edges to creates or updates: a removed resource and a
//     new one are independent, as their addresses differ. Steps are listed in
//     topological order with ties broken by step id (see sortSteps).
package assembly
