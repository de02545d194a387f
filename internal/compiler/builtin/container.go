package builtin

// This file is the hook for container steps: build_image, remove_image,
// ensure_service and remove_service of kind "container", ensure_network,
// remove_network, ensure_volume and remove_volume. The container work
// replaces the body of containerStep with generators of its own (one per
// kind, like the ones in files.go), reading args with the args helpers and
// checking u.facts.Engine; everything else in the compiler stays as is.

// containerStep generates the script of a container step. It returns the
// script or the reason it cannot; Compile reports the reason with the step
// and resource.
func (c *Compiler) containerStep(u *unit, a *args) (script, error) {
	return script{}, ErrContainer
}
