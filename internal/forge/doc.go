// Package forge is the trust boundary between whatever proposes scripts (the
// built-in compiler, an LLM, a user editing files) and the machine that runs
// them. It validates ArtifactBundles, writes .clockwork/build/, keeps its
// manifest, and reuses a build when nothing changed.
//
// Invariants:
//   - One validator (Validate, ValidateBundleJSON) for every bundle, from any
//     compiler or read back from disk. It reports every violation, sorted, in
//     a *ValidationError; callers use errors.As. See the Rule* constants.
//   - Artifact paths are relative, clean, ASCII [A-Za-z0-9._/-], free of "..",
//     leading '-', reserved names (manifest.json, bundle.json,
//     actionlist.json, facts.json, agent/) and case-folding collisions.
//   - run.cmd[0] is an allowlisted runtime by exact name or an executable
//     artifact whose shebang names one. A runtime may take only a short list
//     of options, then inline code or a script that is an artifact of the
//     bundle; go only as "go run <artifact>.go". Shebangs name an interpreter
//     in /bin, /usr/bin or /usr/local/bin, or "/usr/bin/env <runtime>" with
//     no options.
//   - Modes have no bits outside 0755 and are owner-readable; executables
//     start with a shebang that matches their lang; content is UTF-8 text
//     without NUL or U+FFFD, within the policy's size bounds.
//   - A rejected bundle writes nothing. Before writing, every path forge will
//     touch is checked on disk: a symlink or hard link at any component is a
//     violation. Writes go through an os.Root of the build directory (nothing
//     can escape it, even a symlink swapped in after the check), to a
//     temporary file created with O_EXCL|O_NOFOLLOW, on disk before it is
//     renamed into place (artifacts: all staged, one syncfs, then renamed;
//     on Linux, in each directory opened once through the root; staging
//     overlaps encoding, and nothing is renamed unless everything encoded).
//     manifest.json is written last.
//   - User edits are sacred: manifest.json records each artifact's hash and
//     mode as generated, and each step's run; anything on disk that differs
//     is the user's and is kept unless Force, and the bundle with the edits is
//     validated again. The files on disk are what runs (LoadBuilt).
//   - Build reuses the directory (no compile, no write) when the manifest has
//     the same ActionList fingerprint, compiler name and compiler settings.
//     Facts are recorded but are not part of that key.
package forge
