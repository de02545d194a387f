package contract

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// Version is the format version of every contract this binary reads and writes.
const Version = "1"

// Change kinds of a step.
const (
	ChangeCreate = "create"
	ChangeUpdate = "update"
	ChangeDelete = "delete"
	ChangeNoop   = "noop"
)

// ActionList is the ordered plan: the output of assembly and the input of forge.
type ActionList struct {
	Version string `json:"version"`
	// Fingerprint is "sha256:<hex>" over the canonical JSON of Steps (see
	// ComputeFingerprint). It identifies the plan independent of state serial.
	Fingerprint string `json:"fingerprint"`
	// StateSerial is the serial of the state the plan was made against; forge
	// refuses a plan whose serial is older than the current state (stale plan).
	StateSerial int64 `json:"state_serial"`
	// StateLineage is the lineage of that state ("" when there was none).
	StateLineage string `json:"state_lineage,omitempty"`
	// Steps in execution order: topological, ties broken by step id.
	Steps []Step `json:"steps"`
}

// Step is one planned action on one resource.
type Step struct {
	// ID is "<resource address>/<name>", unique and stable across runs.
	ID string `json:"id"`
	// Name is the step kind, one of the Step* constants.
	Name string `json:"name"`
	// Resource is the address of the resource the step belongs to.
	Resource string `json:"resource"`
	// Change is create, update, delete or noop.
	Change string `json:"change"`
	// DependsOn lists step ids that must finish first (sorted).
	DependsOn []string `json:"depends_on,omitempty"`
	// Args are fully evaluated arguments (see docs/steps.md). Values known
	// only after apply appear as "<attr>Var": "ENV_NAME"; sensitive values as
	// "<attr>Var": "ENV_NAME" too, with ENV_NAME listed in SecretEnv.
	Args map[string]any `json:"args"`
	// SecretEnv names environment variables that carry sensitive values the
	// executor must supply at run time (never their values).
	SecretEnv []string `json:"secret_env,omitempty"`
	// Provider is the runner that executes the step: "local", "docker",
	// "docker.NAME", "ssh.NAME", ... Empty means "local".
	Provider string `json:"provider,omitempty"`
	// Retries is how many times a failed run is retried (with backoff).
	Retries int `json:"retries,omitempty"`
	// Timeout is the per-step timeout in seconds (0: the CLI default).
	Timeout int `json:"timeout,omitempty"`
	// ConfigHash is the hash of the resource's evaluated configuration
	// ("sha256:<hex>"); state records it after the step succeeds.
	ConfigHash string `json:"config_hash,omitempty"`
	// Source is where the resource is declared.
	Source *Source `json:"source,omitempty"`
}

// Source is a position in a .cw file, relative to the configuration directory.
type Source struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
}

func (s *Source) String() string {
	if s == nil {
		return ""
	}
	return fmt.Sprintf("%s:%d:%d", s.File, s.Line, s.Col)
}

// StepID returns the id of step kind name on resource addr.
func StepID(addr, name string) string { return addr + "/" + name }

// ComputeFingerprint returns "sha256:<hex>" over the compact JSON of the
// steps with their Change left out: the fingerprint identifies what the
// scripts must do (ids, kinds, args, order, dependencies), so a plan whose
// only difference is create -> noop after an apply reuses the same bundle.
// State serial and lineage are not part of it either.
func ComputeFingerprint(steps []Step) (string, error) {
	h := sha256.New()
	enc := json.NewEncoder(h)
	enc.SetEscapeHTML(false)
	for i := range steps {
		s := steps[i]
		s.Change = ""
		if err := enc.Encode(&s); err != nil {
			return "", fmt.Errorf("fingerprint step %s: %w", s.ID, err)
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// Step returns the step with the given id, or nil.
func (a *ActionList) Step(id string) *Step {
	for i := range a.Steps {
		if a.Steps[i].ID == id {
			return &a.Steps[i]
		}
	}
	return nil
}

// OutputEnv is the environment variable under which the executor passes the
// output key (as a step wrote it to $CW_OUTPUT) of the resource at addr to
// the steps that depend on it: OutputEnv("image.app", "IMAGE_REF") is
// "IMAGE_APP_IMAGE_REF". Every byte that is not [A-Za-z0-9] becomes "_";
// runs of "_" collapse and leading/trailing "_" are dropped.
func OutputEnv(addr, key string) string {
	return EnvSlug(addr + "_" + key)
}

// SecretEnvName is the environment variable that carries the sensitive value
// at attribute path attrPath (dotted) of the resource at addr.
func SecretEnvName(addr, attrPath string) string {
	return "CW_SECRET_" + EnvSlug(addr+"_"+attrPath)
}

// EnvSlug upper-cases s and turns it into a valid environment variable name.
func EnvSlug(s string) string {
	var b strings.Builder
	lastUnderscore := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
			lastUnderscore = false
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b.WriteByte(c)
			lastUnderscore = false
		default:
			if !lastUnderscore {
				b.WriteByte('_')
				lastUnderscore = true
			}
		}
	}
	return strings.TrimRight(b.String(), "_")
}
