package daemon

import (
	"sort"
	"time"
)

// PassStatus describes one pass.
type PassStatus struct {
	ID       int64     `json:"id"`
	Started  time.Time `json:"started"`
	Duration string    `json:"duration"`
	// Result is ok, config_error, failed or panic.
	Result  string   `json:"result"`
	Trigger []string `json:"trigger,omitempty"`
}

// ResourceStatus is one resource as the last pass left it.
type ResourceStatus struct {
	Addr   string `json:"addr"`
	Type   string `json:"type"`
	Kind   string `json:"kind,omitempty"`
	Health string `json:"health"`
	Detail string `json:"detail,omitempty"`
	// Since is when the resource entered its current health.
	Since time.Time `json:"since,omitzero"`
	// Reconciles counts reconciles since the backoff was last reset.
	Reconciles  int       `json:"reconciles"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	// FixesLastHour counts automatic fixes in the last hour.
	FixesLastHour int    `json:"fixes_last_hour"`
	LastError     string `json:"last_error,omitempty"`
	Proposal      string `json:"proposal,omitempty"`
	Runbook       string `json:"runbook,omitempty"`
}

// Status is what /api/status serves.
type Status struct {
	Dir         string           `json:"dir"`
	LastPass    *PassStatus      `json:"last_pass,omitempty"`
	Fingerprint string           `json:"fingerprint,omitempty"`
	Diagnostics []string         `json:"diagnostics,omitempty"`
	Resources   []ResourceStatus `json:"resources"`
	// Drift lists the addresses observed unhealthy.
	Drift     []string   `json:"drift"`
	Proposals []Proposal `json:"pending_proposals"`
	Events    []Event    `json:"recent_events,omitempty"`
}

type snapshot struct {
	lastPass    *PassStatus
	fingerprint string
	diagnostics []string
	resources   []ResourceStatus
}

func (d *Daemon) setDiagnostics(diags []string) {
	d.mu.Lock()
	d.snap.diagnostics = diags
	d.mu.Unlock()
}

// publish copies the pass goroutine's view into the snapshot Status reads.
func (d *Daemon) publish(ps PassStatus) {
	now := d.clock.Now()
	var rs []ResourceStatus
	var order []string
	if d.lastGood != nil {
		for _, r := range d.lastGood.Resources {
			order = append(order, r.Addr)
		}
	}
	seen := map[string]bool{}
	for _, addr := range order {
		st := d.res[addr]
		if st == nil || seen[addr] {
			continue
		}
		seen[addr] = true
		s := ResourceStatus{Addr: addr, Type: st.info.Type, Kind: st.info.Kind, Health: st.health, Detail: st.detail, Since: st.since.UTC(),
			Reconciles: st.bo.failures, FixesLastHour: st.budget.Used(now), Proposal: st.proposal, Runbook: st.runbook}
		if st.info.Destroy {
			s.Health, s.Detail = HealthUnknown, "removed from the configuration; run `clockwork apply` to delete it"
		}
		if st.since.IsZero() {
			s.Since = time.Time{}
		}
		if st.nextAttempt.After(now) {
			s.NextAttempt = st.nextAttempt.UTC()
		}
		if st.applyFailed && st.lastFailure != nil {
			s.LastError = st.lastFailure.Err
		}
		rs = append(rs, s)
	}
	fp := ""
	if d.lastGood != nil {
		fp = d.lastGood.Fingerprint
	}
	d.mu.Lock()
	d.snap.lastPass, d.snap.fingerprint, d.snap.resources = &ps, fp, rs
	d.mu.Unlock()
}

// Status returns the daemon's view after the last pass, with the pending
// proposals as they are on disk now.
func (d *Daemon) Status() Status {
	d.mu.Lock()
	s := Status{Dir: d.cfg.Dir, LastPass: d.snap.lastPass, Fingerprint: d.snap.fingerprint,
		Diagnostics: d.snap.diagnostics, Resources: append([]ResourceStatus{}, d.snap.resources...)}
	rec := d.events
	d.mu.Unlock()
	s.Drift = []string{}
	for _, r := range s.Resources {
		if r.Health == HealthUnhealthy {
			s.Drift = append(s.Drift, r.Addr)
		}
	}
	sort.Strings(s.Drift)
	s.Proposals = []Proposal{}
	if all, err := ListProposals(d.cfg.Dir); err == nil {
		for _, p := range all {
			if p.Status == ProposalPending {
				s.Proposals = append(s.Proposals, p)
			}
		}
	}
	if rec != nil {
		s.Events = rec.Recent()
	}
	return s
}
