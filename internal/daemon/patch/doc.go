// Package patch edits .cw files the way a careful person would: it changes
// one value and leaves every other byte alone, so comments, blank lines and
// alignment survive. It also renders a unified diff of the change for review.
//
// SetAttribute uses hclsyntax to find the value and hclwrite to produce the
// new tokens: a whole attribute is replaced through hclwrite's
// Body.SetAttributeValue; a value nested inside a list or object literal is
// spliced in place at its exact source range.
//
// Invariants:
//   - The input is never modified; the output always parses (SetAttribute
//     re-parses it and returns an error otherwise).
//   - Only the addressed value changes: the bytes before and after it are
//     identical to the input.
package patch
