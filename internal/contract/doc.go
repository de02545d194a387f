// Package contract holds the three versioned data contracts that cross stage
// boundaries: the ActionList (assembly -> forge), the ArtifactBundle
// (compiler -> forge) and the state file (forge <-> assembly).
//
// Invariants:
//   - Every contract carries "version": "1" and has a JSON Schema embedded in
//     the binary (see Schema); every read and write is checked against it.
//   - Encoding is canonical: Marshal sorts map keys, uses two-space
//     indentation and a trailing newline, so equal values give equal bytes.
//   - No contract ever holds a secret value. A step that needs one names the
//     environment variable (see Step.SecretEnv) and the executor supplies the
//     value at run time only.
//
// The arguments each step kind takes are documented in docs/steps.md; the
// constants in steps.go are the single list of step kinds.
package contract
