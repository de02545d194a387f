// Package builtin is the built-in, deterministic compiler: it turns every
// step of an ActionList into a small, readable, idempotent script (bash, or
// python3 where clearer and present) without any network access.
//
// Invariants:
//   - Same ActionList and facts give a byte-identical bundle: no clock, no
//     randomness, no environment reads, maps only through sorted encoding.
//   - Every ActionList step, noop ones included, gets exactly one bundle step
//     (purpose = step id) and one script at scripts/NN_<slug>.<ext>, NN being
//     its 1-based position, zero-padded to the width of the step count.
//   - Scripts take their inputs from the environment (the bundle step's
//     run.env), never from their own text: editing a .cw value changes
//     bundle.json, not the script, so a script the user edited keeps working.
//     A value that is a secret or known only after apply reaches the script
//     as NAME_FROM=<variable>, which the script dereferences at run time; no
//     secret value is ever written into the bundle.
//   - Scripts never assume a working directory: relative paths in args are
//     resolved against $CW_ROOT, the bundle's own files against $CW_BUILD.
//   - What cannot be compiled (custom steps, missing runtimes, bad args) is
//     reported all at once in one *CompileError naming every step.
//
// Container steps (images, container services, networks, volumes) are
// generated in container.go, kept apart from the local kinds.
package builtin
