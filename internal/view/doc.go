// Package view renders plans and diagnostics for people (and diagnostics as
// JSON for tools). Views only format: they never decide, read state or
// touch the network.
//
// Invariants:
//   - Output is deterministic for the same input.
//   - No secret is ever printed: an arg "<attr>Var" shows as "(from $NAME)",
//     an element {"fromEnv": "CW_SECRET_..."} as "(sensitive)". Views never
//     receive secret values in the first place.
package view
