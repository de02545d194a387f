package contract

// Bundle is an ArtifactBundle: what a compiler proposes. Nothing in it is
// trusted until forge's validator accepts it.
type Bundle struct {
	Version string `json:"version"`
	// Fingerprint is the ActionList fingerprint the bundle was compiled from.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Compiler names what produced the bundle ("builtin", "openai:<model>").
	Compiler  string       `json:"compiler,omitempty"`
	Artifacts []Artifact   `json:"artifacts"`
	Steps     []BundleStep `json:"steps"`
	// Vars are non-secret values passed to every step in its environment.
	// Values are strings, numbers or booleans.
	Vars map[string]any `json:"vars,omitempty"`
}

// Artifact is one file the bundle writes under .clockwork/build/.
type Artifact struct {
	// Path is relative to .clockwork/build/, clean, and stays inside it.
	Path string `json:"path"`
	// Mode is an octal string such as "0644" or "0755".
	Mode string `json:"mode"`
	// Purpose is the id of the ActionList step the artifact serves.
	Purpose string `json:"purpose"`
	// Lang is bash, sh, python, node, deno, go, json, text, ...
	Lang    string `json:"lang"`
	Content string `json:"content"`
}

// BundleStep says how to run the ActionList step named by Purpose.
type BundleStep struct {
	Purpose string `json:"purpose"`
	Run     Run    `json:"run"`
}

// Run is one command invocation, executed in .clockwork/build/.
type Run struct {
	// Cmd[0] is an allowlisted runtime or an artifact of the bundle.
	Cmd []string          `json:"cmd"`
	Env map[string]string `json:"env,omitempty"`
	// Timeout in seconds (0: the step's or the CLI's default).
	Timeout int `json:"timeout,omitempty"`
	// Retries is how many times a failed run is retried with backoff.
	Retries int `json:"retries,omitempty"`
}

// StepFor returns the bundle step whose purpose is id, or nil.
func (b *Bundle) StepFor(id string) *BundleStep {
	for i := range b.Steps {
		if b.Steps[i].Purpose == id {
			return &b.Steps[i]
		}
	}
	return nil
}
