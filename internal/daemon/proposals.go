package daemon

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gofrs/flock"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/clockwork-iac/clockwork/internal/daemon/patch"
)

// Proposal statuses.
const (
	ProposalPending  = "pending"
	ProposalApproved = "approved"
	ProposalRejected = "rejected"
	// ProposalStale: the file changed after the proposal was written, so the
	// patch was not applied; the daemon proposes again if still needed.
	ProposalStale = "stale"
)

// ErrStale is returned by Approve when the target file changed since the
// proposal was made; the proposal is marked stale and nothing is written.
var ErrStale = errors.New("the file changed since the proposal was made")

// ErrNotPending is returned by Approve and Reject for a proposal that was
// already decided.
var ErrNotPending = errors.New("proposal is not pending")

// ErrNoProposal is returned for an unknown proposal id.
var ErrNoProposal = errors.New("no such proposal")

// Proposal is a .cw change waiting for a person: the sidecar
// .clockwork/proposals/<id>.json beside the reviewable <id>.patch.
type Proposal struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Resource string `json:"resource"`
	// Kind is the policy kind of the change (policy.KindPorts, ...).
	Kind string `json:"kind"`
	// File is the patched file, relative to the configuration directory.
	File string `json:"file"`
	// FileSHA256 is the hash of File when the proposal was made; Approve
	// refuses to apply the patch to anything else.
	FileSHA256 string `json:"file_sha256"`
	// Block and Path address the value (see patch.SetAttribute).
	Block string   `json:"block"`
	Path  []string `json:"path"`
	// Old is the source text of the value being replaced; New is the new
	// value as JSON, of cty type NewType.
	Old     string          `json:"old"`
	New     json.RawMessage `json:"new"`
	NewType json.RawMessage `json:"new_type"`
	// Reason says what was seen and why this change.
	Reason  string    `json:"reason"`
	Created time.Time `json:"created"`
	Decided time.Time `json:"decided,omitzero"`
	// Diff is the unified diff, as in <id>.patch.
	Diff string `json:"-"`
}

// ProposalsDir is where proposals of a configuration directory live.
func ProposalsDir(dir string) string { return filepath.Join(dir, ".clockwork", "proposals") }

// proposalRequest is what the daemon wants changed.
type proposalRequest struct {
	Resource, Kind, File, Block, Reason string
	Path                                []string
	Value                               cty.Value
}

// writeProposal computes the patch for req against the file as it is now and
// writes <id>.patch and <id>.json.
func writeProposal(dir string, now time.Time, req proposalRequest) (*Proposal, error) {
	src, err := os.ReadFile(filepath.Join(dir, req.File))
	if err != nil {
		return nil, fmt.Errorf("write proposal: %w", err)
	}
	found, err := patch.Lookup(src, req.Block, req.Path)
	if err != nil {
		return nil, fmt.Errorf("write proposal: %w", err)
	}
	out, err := patch.SetAttribute(src, req.Block, req.Path, req.Value)
	if err != nil {
		return nil, fmt.Errorf("write proposal: %w", err)
	}
	val, err := ctyjson.Marshal(req.Value, req.Value.Type())
	if err != nil {
		return nil, fmt.Errorf("write proposal: %w", err)
	}
	typ, err := ctyjson.MarshalType(req.Value.Type())
	if err != nil {
		return nil, fmt.Errorf("write proposal: %w", err)
	}
	fileSum := sha256.Sum256(src)
	idSum := sha256.Sum256([]byte(strings.Join([]string{req.Resource, req.File, req.Block, strings.Join(req.Path, "."), string(val), now.Format(time.RFC3339Nano)}, "\x00")))
	p := &Proposal{
		ID: hex.EncodeToString(idSum[:4]), Status: ProposalPending, Resource: req.Resource, Kind: req.Kind,
		File: req.File, FileSHA256: hex.EncodeToString(fileSum[:]), Block: req.Block, Path: req.Path,
		Old: found.Expr, New: val, NewType: typ, Reason: req.Reason, Created: now.UTC(),
		Diff: patch.UnifiedDiff(filepath.ToSlash(req.File), src, out),
	}
	unlock, err := lockProposals(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := writeFileAtomic(filepath.Join(ProposalsDir(dir), p.ID+".patch"), []byte(p.Diff), 0o644); err != nil {
		return nil, fmt.Errorf("write proposal: %w", err)
	}
	if err := saveProposal(dir, p); err != nil {
		return nil, err
	}
	return p, nil
}

// ListProposals returns every proposal of the configuration directory,
// oldest first, with its diff.
func ListProposals(dir string) ([]Proposal, error) {
	entries, err := os.ReadDir(ProposalsDir(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list proposals: %w", err)
	}
	var out []Proposal
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(id, ".") {
			continue
		}
		p, err := loadProposal(dir, id)
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// GetProposal returns one proposal with its diff.
func GetProposal(dir, id string) (*Proposal, error) { return loadProposal(dir, id) }

// Approve applies proposal id to its .cw file (hclwrite, comments kept) and
// marks it approved. The file must be byte-identical to what the proposal was
// made against; otherwise the proposal is marked stale and ErrStale returned.
// The daemon picks the changed file up on its next pass (fsnotify).
func Approve(dir, id string) (*Proposal, error) {
	unlock, err := lockProposals(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	p, err := loadProposal(dir, id)
	if err != nil {
		return nil, err
	}
	if p.Status != ProposalPending {
		return p, fmt.Errorf("approve %s: %w (it is %s)", id, ErrNotPending, p.Status)
	}
	path := filepath.Join(dir, p.File)
	src, err := os.ReadFile(path)
	if err != nil {
		return p, fmt.Errorf("approve %s: %w", id, err)
	}
	if sum := sha256.Sum256(src); hex.EncodeToString(sum[:]) != p.FileSHA256 {
		p.Status, p.Decided = ProposalStale, time.Now().UTC()
		if err := saveProposal(dir, p); err != nil {
			return p, err
		}
		return p, fmt.Errorf("approve %s: %s: %w", id, p.File, ErrStale)
	}
	typ, err := ctyjson.UnmarshalType(p.NewType)
	if err != nil {
		return p, fmt.Errorf("approve %s: bad value type: %w", id, err)
	}
	val, err := ctyjson.Unmarshal(p.New, typ)
	if err != nil {
		return p, fmt.Errorf("approve %s: bad value: %w", id, err)
	}
	out, err := patch.SetAttribute(src, p.Block, p.Path, val)
	if err != nil {
		return p, fmt.Errorf("approve %s: %w", id, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return p, fmt.Errorf("approve %s: %w", id, err)
	}
	if err := writeFileAtomic(path, out, st.Mode().Perm()); err != nil {
		return p, fmt.Errorf("approve %s: %w", id, err)
	}
	p.Status, p.Decided = ProposalApproved, time.Now().UTC()
	if err := saveProposal(dir, p); err != nil {
		return p, err
	}
	return p, nil
}

// Reject marks proposal id rejected; nothing else changes. The daemon writes
// a runbook for the resource if it is still unhealthy.
func Reject(dir, id string) (*Proposal, error) {
	unlock, err := lockProposals(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	p, err := loadProposal(dir, id)
	if err != nil {
		return nil, err
	}
	if p.Status != ProposalPending {
		return p, fmt.Errorf("reject %s: %w (it is %s)", id, ErrNotPending, p.Status)
	}
	p.Status, p.Decided = ProposalRejected, time.Now().UTC()
	if err := saveProposal(dir, p); err != nil {
		return p, err
	}
	return p, nil
}

func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r == '-') {
			return false
		}
	}
	return true
}

func loadProposal(dir, id string) (*Proposal, error) {
	if !validID(id) {
		return nil, fmt.Errorf("proposal %q: %w", id, ErrNoProposal)
	}
	b, err := os.ReadFile(filepath.Join(ProposalsDir(dir), id+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("proposal %s: %w", id, ErrNoProposal)
	}
	if err != nil {
		return nil, fmt.Errorf("proposal %s: %w", id, err)
	}
	var p Proposal
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("proposal %s: %w", id, err)
	}
	if diff, err := os.ReadFile(filepath.Join(ProposalsDir(dir), id+".patch")); err == nil {
		p.Diff = string(diff)
	}
	return &p, nil
}

func saveProposal(dir string, p *Proposal) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("save proposal %s: %w", p.ID, err)
	}
	if err := writeFileAtomic(filepath.Join(ProposalsDir(dir), p.ID+".json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("save proposal %s: %w", p.ID, err)
	}
	return nil
}

// lockProposals serialises writers of the proposals directory: the daemon,
// `clockwork approve` and `clockwork reject`.
func lockProposals(dir string) (func(), error) {
	pd := ProposalsDir(dir)
	if err := os.MkdirAll(pd, 0o755); err != nil {
		return nil, fmt.Errorf("lock proposals: %w", err)
	}
	l := flock.New(filepath.Join(pd, ".lock"))
	if err := l.Lock(); err != nil {
		return nil, fmt.Errorf("lock proposals: %w", err)
	}
	return func() { l.Unlock() }, nil
}
