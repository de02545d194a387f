package forge

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// DefaultAllowlist is the set of runtimes a bundle step may name as run.cmd[0]
// (or in the shebang of an executable artifact) unless the policy says
// otherwise. It is never widened implicitly.
var DefaultAllowlist = []string{"bash", "sh", "python3", "node", "deno", "go"}

// Default limits of DefaultPolicy.
const (
	DefaultMaxArtifactSize = 1 << 20  // 1 MiB per artifact
	DefaultMaxTotalSize    = 32 << 20 // 32 MiB for all artifacts together
	DefaultMaxArtifacts    = 2048
)

// Policy is what the validator enforces beyond the fixed rules.
type Policy struct {
	// Allowlist of runtimes allowed as run.cmd[0] and in shebangs. Nil means
	// DefaultAllowlist; an empty non-nil list allows no runtime at all.
	Allowlist []string
	// MaxArtifactSize bounds each artifact's content in bytes (0: default).
	MaxArtifactSize int64
	// MaxTotalSize bounds the sum of all artifacts' content (0: default).
	MaxTotalSize int64
	// MaxArtifacts bounds the number of artifacts (0: default).
	MaxArtifacts int
}

// DefaultPolicy returns the policy used when the user configures none.
func DefaultPolicy() Policy {
	return Policy{
		Allowlist:       append([]string(nil), DefaultAllowlist...),
		MaxArtifactSize: DefaultMaxArtifactSize,
		MaxTotalSize:    DefaultMaxTotalSize,
		MaxArtifacts:    DefaultMaxArtifacts,
	}
}

// withDefaults fills zero fields with the defaults.
func (p Policy) withDefaults() Policy {
	d := DefaultPolicy()
	if p.Allowlist == nil {
		p.Allowlist = d.Allowlist
	}
	if p.MaxArtifactSize <= 0 {
		p.MaxArtifactSize = d.MaxArtifactSize
	}
	if p.MaxTotalSize <= 0 {
		p.MaxTotalSize = d.MaxTotalSize
	}
	if p.MaxArtifacts <= 0 {
		p.MaxArtifacts = d.MaxArtifacts
	}
	return p
}

func (p Policy) allows(runtime string) bool {
	for _, a := range p.Allowlist {
		if a == runtime {
			return true
		}
	}
	return false
}

// Violation rules.
const (
	RulePath      = "path"      // artifact path unsafe, reserved, or escaping the build dir on disk
	RuleRuntime   = "runtime"   // run.cmd names something that is not an allowlisted runtime or bundle artifact
	RulePurpose   = "purpose"   // purposes do not match the ActionList one to one
	RuleMode      = "mode"      // file mode unparsable or with bits outside 0755
	RuleShebang   = "shebang"   // executable without a shebang naming an allowlisted runtime matching its lang
	RuleContent   = "content"   // not valid UTF-8 text, NUL byte, lossy decoding
	RuleSize      = "size"      // artifact too large, bundle too large, too many artifacts
	RuleSchema    = "schema"    // JSON Schema violation, wrong version, out-of-bounds timeout/retries
	RuleCollision = "collision" // two paths equal under case folding, or a file where a directory is needed
	RuleEnv       = "env"       // run.env or vars key invalid or overriding a reserved variable
)

// Violation is one broken rule.
type Violation struct {
	Rule     string // one of the Rule* constants
	Artifact string // artifact path, when the violation is about an artifact
	Step     string // bundle step purpose, when it is about a step
	Message  string
}

func (v Violation) String() string {
	var b strings.Builder
	b.WriteString(v.Rule)
	b.WriteString(": ")
	if v.Artifact != "" {
		fmt.Fprintf(&b, "artifact %q: ", v.Artifact)
	}
	if v.Step != "" {
		fmt.Fprintf(&b, "step %q: ", v.Step)
	}
	b.WriteString(v.Message)
	return b.String()
}

// ValidationError is a rejected bundle: every violation found, sorted by
// rule, artifact, step and message.
type ValidationError struct {
	Violations []Violation
}

// Error lists every violation, one per line: "rule: artifact X: message".
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		lines[i] = v.String()
	}
	return "bundle rejected:\n" + strings.Join(lines, "\n")
}

// Has reports whether some violation is of the given rule.
func (e *ValidationError) Has(rule string) bool {
	for _, v := range e.Violations {
		if v.Rule == rule {
			return true
		}
	}
	return false
}

// Rules returns the distinct rules violated, sorted.
func (e *ValidationError) Rules() []string {
	var out []string
	for _, v := range e.Violations {
		if len(out) == 0 || out[len(out)-1] != v.Rule {
			out = append(out, v.Rule)
		}
	}
	return out
}

// AsValidationError returns the *ValidationError in err's chain, if any.
func AsValidationError(err error) (*ValidationError, bool) {
	var ve *ValidationError
	ok := errors.As(err, &ve)
	return ve, ok
}

// violations collects violations while validating.
type violations []Violation

func (vs *violations) add(rule, artifact, step, format string, args ...any) {
	*vs = append(*vs, Violation{Rule: rule, Artifact: artifact, Step: step, Message: fmt.Sprintf(format, args...)})
}

// err returns nil or a *ValidationError with the violations sorted and
// deduplicated.
func (vs violations) err() error {
	if len(vs) == 0 {
		return nil
	}
	out := append([]Violation(nil), vs...)
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		if a.Artifact != b.Artifact {
			return a.Artifact < b.Artifact
		}
		if a.Step != b.Step {
			return a.Step < b.Step
		}
		return a.Message < b.Message
	})
	dedup := out[:1]
	for _, v := range out[1:] {
		if v != dedup[len(dedup)-1] {
			dedup = append(dedup, v)
		}
	}
	return &ValidationError{Violations: dedup}
}
