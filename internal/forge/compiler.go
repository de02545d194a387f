package forge

import (
	"context"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/facts"
)

// Compiler proposes an ArtifactBundle for an ActionList. Its output is
// untrusted: forge validates every bundle before writing or running it.
type Compiler interface {
	// Name identifies the compiler in the bundle and manifest ("builtin",
	// "openai").
	Name() string
	// Settings returns a stable string of everything that changes the
	// compiler's output besides the ActionList (model, prompt version, ...).
	// A change of Settings invalidates cached bundles.
	Settings() string
	// Compile returns a bundle with one step per ActionList step.
	Compile(ctx context.Context, al *contract.ActionList, f *facts.Facts) (*contract.Bundle, error)
}
