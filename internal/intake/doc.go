// Package intake turns a directory of .cw files into the IR (internal/ir):
// it parses every *.cw file of the directory as one configuration with
// hcl/v2, resolves variables (default < *.cwvars < CW_VAR_<name> <
// --var-file < --var), expands modules (local directories and git
// repositories pinned in clockwork.lock) and count/for_each instances, and
// evaluates every attribute with go-cty against the resource schemas of
// internal/schema.
//
// Invariants:
//   - Load is deterministic: the same files, options and lock give the same
//     IR and the same diagnostics, on every machine. File names in ranges are
//     relative to Options.Dir; nothing reads the clock or os.Environ
//     (Options.Environ is the environment); impure functions (timestamp,
//     uuid, bcrypt, ...) are rejected.
//   - Load reports every problem it can find in one pass, each with a source
//     range where there is one, sorted by file and offset, and never panics.
//   - A reference to a value known only after apply (image.app.ref,
//     git_repo.r.commit, command.c.outputs.KEY) is an unknown value marked
//     ir.Deferred{Resource, Attr, Key}; values from sensitive variables carry
//     ir.Sensitive. Output blocks of the root module use
//     Options.StateOutputs for computed values when present.
//   - The only side effects are git clones into Options.ModuleCacheDir and
//     writing clockwork.lock when a new git module was resolved (or by
//     UpdateLock).
//   - ir.Resource.Attrs holds every configurable schema attribute (computed
//     ones are not in it); a reference to another resource sees its Attrs
//     plus its computed attributes as Deferred unknowns. Deferred.Attr is the
//     attribute name ("ref") or "outputs.KEY" for command.c.outputs.KEY.
//   - Files of 256 KiB and more are parsed in chunks in parallel, split
//     between top-level blocks; any problem in a chunk makes Load parse the
//     whole file instead, so diagnostics never depend on the split.
//
// Dump renders an ir.Config as stable text; the golden tests under
// testdata/<case>/ (*.cw, optional *.cwvars and args.txt) compare it with
// ir.golden, and the diagnostics (hcl's text writer, no color, width 0)
// with diags.golden; `go test ./internal/intake -update` rewrites them.
//
// clockwork.lock is JSON:
//
//	{
//	  "version": "1",
//	  "modules": {
//	    "module.web": {"source": "git::https://host/web.git", "ref": "v1.2", "commit": "<sha>"}
//	  }
//	}
//
// keyed by module path ("module.a.module.b" for nested calls). When the
// source or ref in the .cw differs from the lock, Load reports "Module pin
// changed" and does not follow it; UpdateLock re-resolves every pin.
package intake
