// Package schema is the one place where Clockwork's resource types are
// defined: for each type (file, directory, git_repo, image, service, network,
// volume, command, check, task) its attributes with name, cty type,
// required/optional, default and description, which attributes may also be
// written as nested blocks, and the computed attributes a resource publishes
// through $CW_OUTPUT after apply.
//
// Intake validates and normalizes configuration with it (Conform), the CLI
// prints it as JSON Schema (JSONSchema), and docs/resources.md is generated
// from it (Markdown; TestDocsUpToDate keeps the file in sync, rewrite it with
// `go test ./internal/schema -update`).
//
// Invariants:
//   - The set of types and attributes is fixed at build time; nothing here is
//     mutable after package initialization (the table is built by a function
//     on every call to an exported accessor that needs it, or kept in an
//     immutable package-level value that is never written after init).
//   - Conform never panics on any cty value: problems come back as Problems,
//     which intake turns into diagnostics with source ranges.
//   - Durations (interval, timeout) are normalized to whole seconds; modes to
//     four octal digits ("0644").
package schema
