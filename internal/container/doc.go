// Package container drives a container engine (Docker Engine, or Podman's
// Docker-compatible socket) through the official Engine API client: it builds
// images, and ensures services (containers), networks and volumes exist as
// declared. It is what `clockwork step docker <op>` runs (see StepMain), so
// the scripts the built-in compiler generates stay short and readable.
//
// Invariants:
//   - Every operation is idempotent: ensuring what already exists as declared
//     changes nothing; removing what is missing succeeds.
//   - A container's declared configuration is summarised by a config hash
//     (sha256 over canonical JSON of the spec and the resolved image ID),
//     stored in the label clockwork.config-hash, as Docker Compose does. A
//     running container with the same hash is left untouched; a different
//     hash replaces it.
//   - An image build is skipped when the image tagged Tags[0] carries the
//     same clockwork.context-hash (and build-args hash) label.
//   - Everything created carries the label clockwork.managed=true.
//   - Errors name the resource and carry the engine's own message (and, for
//     a container that exits at once, its exit code and last log lines).
//   - Nothing here reads the process environment except Connect (for
//     DOCKER_HOST) and StepMain, which takes its environment as an argument.
package container
