// Package facts gathers EnvFacts: what the machine offers to the steps
// (OS, architecture, allowlisted runtimes and their versions, whether a
// container engine answers). Facts are gathered once per run, recorded in
// .clockwork/build/facts.json, printed by `clockwork facts`, and given to the
// compiler, which generates only for runtimes that are present.
package facts

// Facts describes the machine a bundle will run on.
type Facts struct {
	OS   string `json:"os"`   // runtime.GOOS
	Arch string `json:"arch"` // runtime.GOARCH
	// Runtimes by allowlisted name ("bash", "sh", "python3", "node", "deno",
	// "go"); absent ones have Present false.
	Runtimes map[string]Runtime `json:"runtimes"`
	// Engine reports the container engine (Docker or Podman API) if one answers.
	Engine Engine `json:"engine"`
	// Git reports whether git is installed (git_repo steps need it).
	Git Runtime `json:"git"`
}

// Runtime is one interpreter or tool.
type Runtime struct {
	Present bool   `json:"present"`
	Path    string `json:"path,omitempty"`
	Version string `json:"version,omitempty"`
	// Error says why a tool that was found is not usable (its version probe
	// failed or timed out); Present is false then.
	Error string `json:"error,omitempty"`
}

// Engine is the container engine found, if any.
type Engine struct {
	Available bool   `json:"available"`
	Host      string `json:"host,omitempty"` // e.g. unix:///run/podman/podman.sock
	Version   string `json:"version,omitempty"`
	// Name is the engine's platform name ("Docker Engine - Community",
	// "Podman Engine") when it reports one.
	Name string `json:"name,omitempty"`
	// APIVersion is the Engine API version the server speaks.
	APIVersion string `json:"api_version,omitempty"`
	Error      string `json:"error,omitempty"` // why it is not available
}

// Has reports whether the named runtime is present.
func (f *Facts) Has(name string) bool {
	if f == nil {
		return false
	}
	return f.Runtimes[name].Present
}
