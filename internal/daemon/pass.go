package daemon

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/clockwork-iac/clockwork/internal/daemon/policy"
)

// Health of a resource as the daemon last saw it.
const (
	HealthUnknown   = "unknown"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)

// resState is what the daemon remembers about one resource between passes.
type resState struct {
	info   ResourceInfo
	health string
	detail string
	// since is when the resource entered its current health.
	since time.Time
	// failingStep is the verify step that failed in the last observation.
	failingStep string

	bo          backoff
	nextAttempt time.Time
	// streak counts reconciles since the resource was last healthy for
	// HealthyReset (or since the last fix); at ReconcileAttempts a fix is due.
	streak int
	// lastFailure is the last failed step of a reconcile.
	lastFailure *StepOutcome
	applyFailed bool

	budget budget
	// heldUntil is the end of the cooldown already reported, so the event is
	// written once per cooldown.
	heldUntil time.Time
	fixesDone []string // what fixes were applied in this episode

	proposal string // pending proposal id
	runbook  string // runbook written in this episode (cleared when healthy)
	// destroyNoted is the plan fingerprint for which a destroy runbook was written.
	destroyNoted string
}

func (d *Daemon) state(info ResourceInfo, pol policy.Policy) *resState {
	st := d.res[info.Addr]
	if st == nil {
		st = &resState{health: HealthUnknown}
		d.res[info.Addr] = st
	}
	st.info = info
	st.bo.base, st.bo.cap = pol.BackoffBase, pol.BackoffCap
	st.budget.max, st.budget.cooldown = pol.MaxFixesPerHour, pol.Cooldown
	return st
}

// runPass runs one pass, recovering a panic and recording the outcome.
func (d *Daemon) runPass(ctx context.Context) {
	d.passID++
	id := d.passID
	reasons := d.takeReasons()
	start := d.clock.Now()
	result := "failed"
	defer func() {
		if r := recover(); r != nil {
			result = "panic"
			d.log.Error("pass panicked", "pass", id, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			d.record(Event{Pass: id, Kind: EventError, Seen: fmt.Sprintf("panic: %v", r), Rule: "recover the pass", Result: "pass aborted; the next pass starts from fresh observations"})
		}
		elapsed := d.clock.Now().Sub(start)
		d.metrics.passes.WithLabelValues(result).Inc()
		d.metrics.passDuration.Observe(elapsed.Seconds())
		d.publish(PassStatus{ID: id, Started: start.UTC(), Duration: elapsed.String(), Result: result, Trigger: reasons})
		d.log.Debug("pass done", "pass", id, "result", result, "duration", elapsed, "trigger", strings.Join(reasons, ", "))
	}()
	result = d.pass(ctx, id)
}

// pass is one level-triggered pass: plan, observe, reconcile, fix.
func (d *Daemon) pass(ctx context.Context, id int64) string {
	pol := d.currentPolicy(id)
	result := "ok"

	plan, err := d.pipe.Plan(ctx)
	configOK := err == nil && plan != nil
	if !configOK {
		result = "config_error"
		var diags []string
		if plan != nil {
			diags = plan.Diagnostics
		}
		if err == nil {
			err = errors.New("plan returned nothing")
		}
		text := strings.Join(diags, "\n")
		if text == "" {
			text = err.Error()
		}
		if text != d.lastDiag {
			d.lastDiag = text
			res := "no changes applied; resources of the last good configuration are still restored"
			if d.lastGood == nil {
				res = "no valid configuration yet; nothing applied"
			}
			d.record(Event{Pass: id, Kind: EventDiagnostics, Seen: text, Rule: "a configuration with errors is never applied; keep the last good one", Result: res})
		}
		d.setDiagnostics(orText(diags, err.Error()))
	} else {
		if d.lastDiag != "" {
			d.record(Event{Pass: id, Kind: EventDiagnostics, Seen: "configuration valid again", Rule: "apply the new configuration", Result: "fingerprint " + plan.Fingerprint})
			d.lastDiag = ""
		}
		d.setDiagnostics(nil)
		if len(plan.Diagnostics) > 0 && (d.lastGood == nil || d.lastGood.Fingerprint != plan.Fingerprint) {
			d.record(Event{Pass: id, Kind: EventDiagnostics, Seen: strings.Join(plan.Diagnostics, "\n"), Rule: "warnings do not stop a pass"})
		}
		d.lastGood = plan
	}
	good := d.lastGood
	if good == nil {
		return result
	}
	if configOK {
		keep := map[string]bool{}
		for _, r := range good.Resources {
			keep[r.Addr] = true
		}
		for addr := range d.res {
			if !keep[addr] {
				delete(d.res, addr)
			}
		}
	}

	obs, err := d.pipe.Observe(ctx)
	observed := err == nil
	if err != nil {
		result = "failed"
		d.record(Event{Pass: id, Kind: EventError, Seen: fmt.Sprintf("observe: %v", err), Rule: "health unknown this pass", Result: "only changed resources are applied"})
	}
	byAddr := make(map[string]Observation, len(obs))
	for _, o := range obs {
		byAddr[o.Resource] = o
	}

	var targets []string
	unhealthy := 0
	for _, info := range good.Resources {
		st := d.state(info, pol)
		if info.Destroy {
			if configOK && st.destroyNoted != good.Fingerprint {
				st.destroyNoted = good.Fingerprint
				d.handOver(id, st, policy.KindDestroy,
					"The configuration no longer declares this resource, so the plan deletes it. Deleting is never automatic.",
					[]string{"Run `clockwork plan` to review the delete, then `clockwork apply` to carry it out.",
						"Or restore the resource's block in the .cw if it was removed by mistake."})
			}
			continue
		}
		now := d.clock.Now()
		if observed {
			d.observe(id, st, byAddr, pol, now)
		}
		if st.health == HealthUnhealthy {
			unhealthy++
		}
		d.checkProposal(id, st)
		failing := st.health == HealthUnhealthy || st.applyFailed
		if !(failing || (configOK && info.Changed)) {
			continue
		}
		if now.Before(st.nextAttempt) {
			continue
		}
		if failing && st.streak >= pol.ReconcileAttempts {
			d.fix(ctx, id, st, pol, now)
		}
		targets = append(targets, info.Addr)
	}
	d.metrics.unhealthy.Set(float64(unhealthy))
	d.record(Event{Pass: id, Kind: EventObserve, Seen: fmt.Sprintf("%d resources, %d unhealthy", len(good.Resources), unhealthy), Result: fmt.Sprintf("%d to reconcile", len(targets))})

	if len(targets) > 0 && ctx.Err() == nil {
		if !d.reconcile(ctx, id, targets, configOK) {
			result = "failed"
		}
	}
	return result
}

func orText(diags []string, text string) []string {
	if len(diags) > 0 {
		return diags
	}
	return []string{text}
}

// observe folds one observation into st.
func (d *Daemon) observe(id int64, st *resState, byAddr map[string]Observation, pol policy.Policy, now time.Time) {
	o, seen := byAddr[st.info.Addr]
	healthy := !seen || o.Healthy
	if healthy {
		switch st.health {
		case HealthUnhealthy:
			d.record(Event{Pass: id, Resource: st.info.Addr, Kind: EventObserve, Seen: "healthy again", Result: fmt.Sprintf("after %d reconciles", st.bo.failures)})
			st.since = now
		case HealthUnknown:
			st.since = now
		}
		st.health, st.detail, st.failingStep = HealthHealthy, o.Detail, ""
		if now.Sub(st.since) >= pol.HealthyReset {
			st.forget()
		}
		return
	}
	if st.health != HealthUnhealthy {
		if st.health == HealthHealthy && now.Sub(st.since) >= pol.HealthyReset {
			st.forget() // it was healthy long enough before this failure
		}
		d.metrics.drift.Inc()
		d.record(Event{Pass: id, Resource: st.info.Addr, Kind: EventDrift, Seen: o.Detail, Rule: "observed state differs from declared"})
		st.since = now
	}
	st.health, st.detail, st.failingStep = HealthUnhealthy, o.Detail, o.StepID
}

// forget ends an episode: the resource stayed healthy for HealthyReset, so
// its backoff, reconcile streak and hand-over are reset (client-go's
// Forget).
func (st *resState) forget() {
	st.bo.Forget()
	st.nextAttempt = time.Time{}
	st.streak, st.runbook, st.heldUntil, st.fixesDone = 0, "", time.Time{}, nil
}

// reconcile re-runs the unchanged steps of targets in one Apply. It reports
// whether every target succeeded.
func (d *Daemon) reconcile(ctx context.Context, id int64, targets []string, configOK bool) bool {
	res, err := d.pipe.Apply(ctx, targets)
	now := d.clock.Now()
	if errors.Is(err, ErrBusy) {
		d.record(Event{Pass: id, Kind: EventError, Seen: err.Error(), Rule: "never run beside a manual apply", Result: "retry on a later pass"})
		for _, addr := range targets {
			st := d.res[addr]
			st.nextAttempt = now.Add(st.bo.base)
		}
		return false
	}
	failedStep := map[string]*StepOutcome{}
	if res != nil {
		for i := range res.Results {
			o := &res.Results[i]
			if o.Status == "failed" && failedStep[o.Resource] == nil {
				failedStep[o.Resource] = o
			}
		}
	}
	allOK := true
	for _, addr := range targets {
		st := d.res[addr]
		fail := failedStep[addr]
		if err != nil && fail == nil {
			fail = &StepOutcome{Resource: addr, Status: "failed", Err: err.Error()}
		}
		wasFailing := st.health == HealthUnhealthy || st.applyFailed
		seen := st.detail
		rule := "reconcile: re-run the resource's unchanged steps"
		if !wasFailing {
			seen, rule = "desired state changed", "apply the changed resource"
		}
		var delay time.Duration
		if fail != nil || wasFailing {
			delay = st.bo.Failure()
			st.streak++
		}
		st.nextAttempt = now.Add(delay)
		st.applyFailed = fail != nil
		result := "ok"
		if fail != nil {
			allOK = false
			st.lastFailure = fail
			result = "failed: " + fail.Err
			if fail.StepID != "" {
				result = fmt.Sprintf("failed: %s: %s", fail.StepID, fail.Err)
			}
			d.metrics.reconciles.WithLabelValues("failed").Inc()
		} else {
			d.metrics.reconciles.WithLabelValues("ok").Inc()
			if wasFailing {
				// The steps include the resource's verify steps: it is healthy
				// from now, and stays so unless a later observation says not.
				st.health, st.since, st.detail, st.failingStep = HealthHealthy, now, "restored by reconcile", ""
			}
		}
		if delay > 0 {
			rule += fmt.Sprintf(" (attempt %d; next no sooner than %s)", st.bo.failures, delay)
		}
		d.record(Event{Pass: id, Resource: addr, Kind: EventReconcile, Seen: seen, Rule: rule, Result: result})
	}
	return allOK
}

// nextWake is the earliest time a resource waiting out its backoff may be
// retried or confirmed.
func (d *Daemon) nextWake() (time.Time, bool) {
	var next time.Time
	for _, st := range d.res {
		if st.nextAttempt.IsZero() {
			continue
		}
		if st.health != HealthUnhealthy && !st.applyFailed {
			continue
		}
		if next.IsZero() || st.nextAttempt.Before(next) {
			next = st.nextAttempt
		}
	}
	return next, !next.IsZero()
}

func (d *Daemon) currentPolicy(id int64) policy.Policy {
	if d.cfg.Policy != nil {
		return *d.cfg.Policy
	}
	p, diags := policy.Load(d.cfg.Dir)
	if diags.HasErrors() {
		if text := diags.Error(); text != d.lastPolicyDiag {
			d.lastPolicyDiag = text
			d.record(Event{Pass: id, Kind: EventDiagnostics, Seen: text, Rule: "keep the previous daemon policy"})
		}
		return d.policy
	}
	if d.lastPolicyDiag != "" {
		d.lastPolicyDiag = ""
		d.record(Event{Pass: id, Kind: EventDiagnostics, Seen: policy.FileName + " valid again", Rule: "use the new daemon policy"})
	}
	d.policy = p
	return p
}
