package policy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// FileName is the project configuration file the policy is read from.
const FileName = "clockwork.hcl"

// Kinds of change the daemon can make. Artifact kinds change the bundle
// only; configuration kinds change a .cw file.
const (
	KindRetries     = "retries"
	KindTimeout     = "timeout"
	KindHealthCheck = "health_check"
	KindLogging     = "logging"

	KindPorts      = "ports"
	KindMounts     = "mounts"
	KindVolumes    = "volumes"
	KindPrivileges = "privileges"
	KindImage      = "image"

	// KindDestroy and KindSecrets are never automatic and never approvable.
	KindDestroy = "destroy"
	KindSecrets = "secrets"
)

// ArtifactKinds are the kinds that patch the bundle, not the .cw.
var artifactKinds = []string{KindRetries, KindTimeout, KindHealthCheck, KindLogging}

var configKinds = []string{KindPorts, KindMounts, KindVolumes, KindPrivileges, KindImage}

// IsArtifactKind reports whether kind changes only the artifact bundle.
func IsArtifactKind(kind string) bool { return slices.Contains(artifactKinds, kind) }

// Decision is what the policy says about one kind of change.
type Decision int

const (
	// Never: the daemon writes a runbook; a person acts.
	Never Decision = iota
	// Approval: the daemon writes a proposal and waits for `clockwork approve`.
	Approval
	// Auto: the daemon applies the change itself, within the budget.
	Auto
)

func (d Decision) String() string {
	switch d {
	case Auto:
		return "automatic"
	case Approval:
		return "needs approval"
	default:
		return "never automatic (runbook)"
	}
}

// Policy holds the daemon's budgets and risk tiers. The zero value is not
// useful; start from Default.
type Policy struct {
	// MaxFixesPerHour bounds automatic fixes per resource in any sliding hour.
	MaxFixesPerHour int
	// Cooldown is the minimum time between two automatic fixes of one resource.
	Cooldown time.Duration
	// BackoffBase is the wait after the first failed reconcile; it doubles
	// with each further failure.
	BackoffBase time.Duration
	// BackoffCap bounds the reconcile backoff.
	BackoffCap time.Duration
	// HealthyReset is how long a resource must stay healthy before its
	// backoff is forgotten.
	HealthyReset time.Duration
	// ReconcileAttempts is how many reconciles (re-running unchanged steps)
	// must fail to restore health before the daemon tries a fix.
	ReconcileAttempts int
	// AutoApply lists the kinds applied automatically.
	AutoApply []string
	// RequireApproval lists the kinds written as proposals.
	RequireApproval []string
}

// Default is the policy when clockwork.hcl has no daemon block.
func Default() Policy {
	return Policy{
		MaxFixesPerHour:   2,
		Cooldown:          10 * time.Minute,
		BackoffBase:       time.Second,
		BackoffCap:        5 * time.Minute,
		HealthyReset:      2 * time.Minute,
		ReconcileAttempts: 3,
		AutoApply:         []string{KindRetries, KindTimeout, KindHealthCheck, KindLogging},
		RequireApproval:   []string{KindPorts, KindMounts, KindVolumes, KindPrivileges, KindImage},
	}
}

// Decide says how the daemon may make a change of the given kind.
func (p Policy) Decide(kind string) Decision {
	switch {
	case kind == KindDestroy || kind == KindSecrets:
		return Never
	case slices.Contains(p.AutoApply, kind):
		return Auto
	case slices.Contains(p.RequireApproval, kind):
		return Approval
	default:
		return Never
	}
}

// Describe writes the policy in words, for `clockwork daemon policy`.
func (p Policy) Describe(w io.Writer) {
	fmt.Fprintf(w, "Reconcile: re-run a resource's unchanged steps at once; on failure back off %s, doubling, up to %s;\n", p.BackoffBase, p.BackoffCap)
	fmt.Fprintf(w, "  backoff is forgotten after %s healthy; a fix is tried after %d reconciles fail to restore health.\n", p.HealthyReset, p.ReconcileAttempts)
	fmt.Fprintf(w, "Budget: at most %d automatic fixes per resource per hour, %s cooldown after each; past it, a runbook.\n", p.MaxFixesPerHour, p.Cooldown)
	fmt.Fprintln(w, "Kinds of change:")
	all := append(append([]string{}, artifactKinds...), configKinds...)
	all = append(all, KindDestroy, KindSecrets)
	for _, k := range all {
		where := ".cw patch"
		if IsArtifactKind(k) {
			where = "artifact patch"
		}
		if k == KindDestroy || k == KindSecrets {
			where = "operation"
		}
		fmt.Fprintf(w, "  %-13s %-15s %s\n", k, where, p.Decide(k))
	}
}

// Load reads the daemon block of dir/clockwork.hcl. A missing file or block
// gives Default() and no diagnostics. Attributes left out keep their
// defaults. Blocks other than daemon are ignored.
func Load(dir string) (Policy, hcl.Diagnostics) {
	path := filepath.Join(dir, FileName)
	src, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Default(), nil
	}
	if err != nil {
		return Default(), hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read project configuration", Detail: err.Error()}}
	}
	return Parse(src, FileName)
}

// Parse is Load for file contents already in memory; filename is used in
// diagnostics only.
func Parse(src []byte, filename string) (Policy, hcl.Diagnostics) {
	f, diags := hclparse.NewParser().ParseHCL(src, filename)
	if diags.HasErrors() {
		return Default(), diags
	}
	content, _, d := f.Body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "daemon"}}})
	diags = append(diags, d...)
	p := Default()
	var blocks []*hcl.Block
	for _, b := range content.Blocks {
		if b.Type == "daemon" {
			blocks = append(blocks, b)
		}
	}
	if len(blocks) > 1 {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate daemon block",
			Detail: fmt.Sprintf("Only one daemon block is allowed; the first is at %s.", blocks[0].DefRange), Subject: blocks[1].DefRange.Ptr()})
	}
	if len(blocks) > 0 {
		diags = append(diags, decodeBlock(blocks[0].Body, &p)...)
	}
	if diags.HasErrors() {
		return Default(), diags
	}
	return p, diags
}

var blockSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "max_fixes_per_hour"}, {Name: "cooldown"}, {Name: "backoff_base"}, {Name: "backoff_cap"},
	{Name: "healthy_reset"}, {Name: "reconcile_attempts"}, {Name: "auto_apply"}, {Name: "require_approval"},
}}

func decodeBlock(body hcl.Body, p *Policy) hcl.Diagnostics {
	content, diags := body.Content(blockSchema)
	for name, attr := range content.Attributes {
		v, d := attr.Expr.Value(nil)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		bad := func(detail string) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid daemon policy",
				Detail: fmt.Sprintf("%s: %s", name, detail), Subject: attr.Expr.Range().Ptr()})
		}
		switch name {
		case "max_fixes_per_hour", "reconcile_attempts":
			n, err := toInt(v)
			if err != nil || n < 0 {
				bad("expected a whole number, 0 or more")
				continue
			}
			if name == "max_fixes_per_hour" {
				p.MaxFixesPerHour = n
			} else if n == 0 {
				bad("must be at least 1")
			} else {
				p.ReconcileAttempts = n
			}
		case "cooldown", "backoff_base", "backoff_cap", "healthy_reset":
			dur, err := toDuration(v)
			if err != nil {
				bad(err.Error())
				continue
			}
			switch name {
			case "cooldown":
				p.Cooldown = dur
			case "backoff_base":
				p.BackoffBase = dur
			case "backoff_cap":
				p.BackoffCap = dur
			case "healthy_reset":
				p.HealthyReset = dur
			}
		case "auto_apply", "require_approval":
			kinds, err := toKinds(v)
			if err != nil {
				bad(err.Error())
				continue
			}
			if name == "auto_apply" {
				p.AutoApply = kinds
			} else {
				p.RequireApproval = kinds
			}
		}
	}
	if p.BackoffBase <= 0 {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid daemon policy", Detail: "backoff_base must be more than 0", Subject: body.MissingItemRange().Ptr()})
	}
	if p.BackoffCap < p.BackoffBase {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid daemon policy", Detail: "backoff_cap must not be less than backoff_base", Subject: body.MissingItemRange().Ptr()})
	}
	for _, k := range p.AutoApply {
		if slices.Contains(p.RequireApproval, k) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid daemon policy",
				Detail: fmt.Sprintf("%q is in both auto_apply and require_approval", k), Subject: body.MissingItemRange().Ptr()})
		}
	}
	return diags
}

func toInt(v cty.Value) (int, error) {
	v, err := convert.Convert(v, cty.Number)
	if err != nil || v.IsNull() || !v.IsKnown() {
		return 0, fmt.Errorf("not a number")
	}
	bf := v.AsBigFloat()
	if !bf.IsInt() {
		return 0, fmt.Errorf("not a whole number")
	}
	i, _ := bf.Int64()
	if i > 1<<31 {
		return 0, fmt.Errorf("too large")
	}
	return int(i), nil
}

func toDuration(v cty.Value) (time.Duration, error) {
	v, err := convert.Convert(v, cty.String)
	if err != nil || v.IsNull() || !v.IsKnown() {
		return 0, fmt.Errorf("expected a duration string such as \"10m\"")
	}
	d, err := time.ParseDuration(v.AsString())
	if err != nil {
		return 0, fmt.Errorf("expected a duration string such as \"10m\": %w", err)
	}
	if d < 0 {
		return 0, fmt.Errorf("must not be negative")
	}
	return d, nil
}

func toKinds(v cty.Value) ([]string, error) {
	v, err := convert.Convert(v, cty.List(cty.String))
	if err != nil || v.IsNull() || !v.IsKnown() {
		return nil, fmt.Errorf("expected a list of strings")
	}
	known := append(append([]string{}, artifactKinds...), configKinds...)
	var out []string
	for _, e := range v.AsValueSlice() {
		k := e.AsString()
		switch {
		case k == KindDestroy || k == KindSecrets:
			return nil, fmt.Errorf("%q is never automatic and cannot be approved through the daemon", k)
		case !slices.Contains(known, k):
			return nil, fmt.Errorf("unknown kind %q; known kinds: %s", k, strings.Join(known, ", "))
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}
