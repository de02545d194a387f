package contract

import "time"

// Resource statuses recorded in state.
const (
	StatusApplied = "applied" // every step of the resource finished
	StatusFailed  = "failed"  // a step failed; the resource needs another apply
	StatusPartial = "partial" // some steps finished; a kill or failure interrupted the rest
)

// State is .clockwork/state.json: what Clockwork did, never a secret value.
type State struct {
	Version string `json:"version"`
	// Lineage is a random id fixed when the state is first created; state of
	// another lineage is never overwritten.
	Lineage string `json:"lineage"`
	// Serial increases by one on every write.
	Serial int64 `json:"serial"`
	// Resources sorted by address.
	Resources []ResourceState `json:"resources"`
	// Outputs are the root module's non-sensitive outputs after the last
	// apply, by name; sensitive outputs are recorded as null.
	Outputs map[string]any `json:"outputs,omitempty"`
}

// ResourceState is what state records of one resource instance.
type ResourceState struct {
	Address string `json:"address"`
	Type    string `json:"type"`
	// Provider that last applied it ("local", "docker.remote", ...).
	Provider string `json:"provider,omitempty"`
	// ConfigHash of the evaluated configuration last applied.
	ConfigHash string `json:"config_hash"`
	// DependsOn are the resource addresses it depended on when applied, so
	// deletes can run in reverse order after it left the configuration.
	DependsOn []string `json:"depends_on,omitempty"`
	Status    string   `json:"status"`
	// Outputs published by its steps through $CW_OUTPUT, by key.
	Outputs map[string]string `json:"outputs,omitempty"`
	// Steps records each finished step by step id, so a killed apply resumes.
	Steps map[string]StepState `json:"steps,omitempty"`
	// DeleteSteps are the steps (with args) that remove the resource, kept so
	// a resource that left the configuration can still be deleted.
	DeleteSteps []Step `json:"delete_steps,omitempty"`
	// PreventDestroy mirrors lifecycle.prevent_destroy at the last apply.
	PreventDestroy bool       `json:"prevent_destroy,omitempty"`
	LastApplied    *time.Time `json:"last_applied,omitempty"`
	LastVerified   *time.Time `json:"last_verified,omitempty"`
	// BundleFingerprint is the fingerprint of the bundle that last ran.
	BundleFingerprint string `json:"bundle_fingerprint,omitempty"`
}

// StepState is the record of one finished (or failed) step run.
type StepState struct {
	Status     string     `json:"status"` // "ok" or "failed"
	ConfigHash string     `json:"config_hash,omitempty"`
	Finished   *time.Time `json:"finished,omitempty"`
	Error      string     `json:"error,omitempty"`
}

// Resource returns the state of the resource at addr, or nil.
func (s *State) Resource(addr string) *ResourceState {
	for i := range s.Resources {
		if s.Resources[i].Address == addr {
			return &s.Resources[i]
		}
	}
	return nil
}
