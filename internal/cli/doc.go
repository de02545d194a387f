// Package cli is Clockwork's command line: cobra commands that parse flags,
// call the pipeline, and render results through views (human or --json).
// Nothing here calls os.Exit: Run returns the exit code.
//
// Exit codes: 0 success; 1 error (including configuration diagnostics and
// failed steps); 2 with `plan --detailed-exitcode` when there are changes.
package cli
