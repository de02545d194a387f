// Package ir is the intermediate representation intake produces and assembly
// consumes: a configuration with every variable resolved, every module
// expanded, count/for_each instances expanded, and every attribute evaluated.
//
// Invariants:
//   - Everything is sorted: Resources by Addr, Outputs and Variables by name,
//     DependsOn lexically. Iterating an IR never depends on map order.
//   - Every node keeps the hcl.Range of its declaration so later stages can
//     point a diagnostic at the user's .cw.
//   - Values known only after apply are cty unknowns carrying a Deferred mark;
//     sensitive values carry the Sensitive mark (see marks.go). Nothing else
//     in the IR is unknown or marked.
package ir
