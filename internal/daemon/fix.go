package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/clockwork-iac/clockwork/internal/daemon/patch"
	"github.com/clockwork-iac/clockwork/internal/daemon/policy"
)

// fix applies the decision rule to a resource that reconciling did not
// restore: an artifact patch, else a .cw patch, else a runbook.
func (d *Daemon) fix(ctx context.Context, id int64, st *resState, pol policy.Policy, now time.Time) {
	if st.proposal != "" || st.runbook != "" {
		return // waiting for a person; reconciling goes on with backoff
	}
	kind, port := d.classify(st)
	seen := d.seenText(st)
	switch kind {
	case policy.KindPorts:
		d.fixPort(id, st, pol, now, port, seen)
		return
	}
	dec := pol.Decide(kind)
	if dec != policy.Auto {
		d.handOver(id, st, kind,
			fmt.Sprintf("%d reconciles did not restore the resource, and the policy does not apply %s patches automatically (%s).", st.streak, kind, dec),
			[]string{fmt.Sprintf("Read the failing step's log and the script under .clockwork/build/; raise the step's %s by hand if that is the cause, then run `clockwork apply`.", kind),
				"Or add \"" + kind + "\" to auto_apply in the daemon block of clockwork.hcl."})
		return
	}
	if !d.allowFix(id, st, now) {
		return
	}
	step := st.failingStep
	if st.lastFailure != nil && st.lastFailure.StepID != "" {
		step = st.lastFailure.StepID
	}
	logTail := ""
	if st.lastFailure != nil {
		logTail = st.lastFailure.LogTail
	}
	desc, err := d.pipe.PatchArtifact(ctx, ArtifactPatch{Resource: st.info.Addr, StepID: step, Kind: kind, Reason: seen, LogTail: logTail})
	rule := fmt.Sprintf("fix 1: artifact patch (%s) after %d reconciles did not restore health", kind, st.streak)
	if err != nil {
		d.record(Event{Pass: id, Resource: st.info.Addr, Kind: EventFix, Seen: seen, Rule: rule, Result: "failed: " + err.Error()})
		why := "The artifact patch failed: " + err.Error()
		if errors.Is(err, ErrNoPatch) {
			why = "No artifact patch applies: " + err.Error()
		}
		d.handOver(id, st, kind, why, []string{"Read the failing step's log below and fix the cause (the service's command, its configuration, a missing dependency).",
			"Then run `clockwork apply`; the daemon picks the resource up again once it is healthy."})
		return
	}
	st.budget.Spend(now)
	st.streak = 0
	st.fixesDone = append(st.fixesDone, fmt.Sprintf("%s: artifact patch of %s: %s", now.UTC().Format(time.RFC3339), step, desc))
	d.metrics.fixes.WithLabelValues("artifact").Inc()
	d.record(Event{Pass: id, Resource: st.info.Addr, Kind: EventFix, Seen: seen, Rule: rule, Result: "applied: " + desc})
}

// allowFix checks the budget and cooldown; past the budget it writes the
// runbook. It reports whether an automatic fix may run now.
func (d *Daemon) allowFix(id int64, st *resState, now time.Time) bool {
	ok, why, until := st.budget.Allow(now)
	if ok {
		return true
	}
	if why == "cooldown" {
		if !st.heldUntil.Equal(until) {
			st.heldUntil = until
			d.record(Event{Pass: id, Resource: st.info.Addr, Kind: EventBudget, Seen: d.seenText(st),
				Rule: fmt.Sprintf("cooldown: %s after each automatic fix", st.budget.cooldown), Result: "next fix no sooner than " + until.UTC().Format(time.RFC3339)})
		}
		return false
	}
	d.metrics.budgetExhausted.Inc()
	d.record(Event{Pass: id, Resource: st.info.Addr, Kind: EventBudget, Seen: d.seenText(st),
		Rule: fmt.Sprintf("budget: at most %d automatic fixes per hour", st.budget.max), Result: "budget spent; handing over to a person"})
	d.handOver(id, st, "budget",
		fmt.Sprintf("The resource is still unhealthy after %d automatic fixes within the hour; the budget is %d per hour.", st.budget.Used(now), st.budget.max),
		[]string{"Read the failing step's log below; the automatic fixes (listed above) did not help, so the cause is likely in the service itself or its environment.",
			"Fix the cause, then run `clockwork apply`. The daemon keeps reconciling with backoff meanwhile."})
	return false
}

// fixPort handles a declared port that another process holds: a .cw patch
// moving the resource to a free port, proposed or applied per policy.
func (d *Daemon) fixPort(id int64, st *resState, pol policy.Policy, now time.Time, port int, seen string) {
	req, err := d.portPatch(st.info, port)
	if err != nil {
		d.handOver(id, st, policy.KindPorts, fmt.Sprintf("Port %d is taken by another process, and the daemon could not prepare a .cw patch: %v.", port, err),
			[]string{fmt.Sprintf("Find the process holding the port (`ss -ltnp 'sport = :%d'`) and stop it, or change the port in the .cw.", port)})
		return
	}
	req.Reason = seen
	rule := fmt.Sprintf("fix 2: .cw patch (ports): port %d is taken by another process", port)
	switch pol.Decide(policy.KindPorts) {
	case policy.Never:
		d.handOver(id, st, policy.KindPorts, fmt.Sprintf("Port %d is taken by another process and the policy does not allow port changes.", port),
			[]string{fmt.Sprintf("Stop the process holding port %d, or move the service: %s.", port, describeReq(req))})
	case policy.Approval:
		p, err := writeProposal(d.cfg.Dir, now, req)
		if err != nil {
			d.record(Event{Pass: id, Resource: st.info.Addr, Kind: EventError, Seen: seen, Rule: rule, Result: "cannot write proposal: " + err.Error()})
			return
		}
		st.proposal = p.ID
		d.metrics.fixes.WithLabelValues("proposal").Inc()
		d.record(Event{Pass: id, Resource: st.info.Addr, Kind: EventProposal, Seen: seen, Rule: rule + "; ports need approval",
			Result: fmt.Sprintf("proposal %s waits: %s (clockwork approve %s)", p.ID, describeReq(req), p.ID), Ref: p.ID})
	case policy.Auto:
		if !d.allowFix(id, st, now) {
			return
		}
		p, err := writeProposal(d.cfg.Dir, now, req)
		if err == nil {
			_, err = Approve(d.cfg.Dir, p.ID)
		}
		if err != nil {
			d.record(Event{Pass: id, Resource: st.info.Addr, Kind: EventFix, Seen: seen, Rule: rule, Result: "failed: " + err.Error()})
			return
		}
		st.budget.Spend(now)
		st.streak = 0
		st.fixesDone = append(st.fixesDone, fmt.Sprintf("%s: .cw patch %s: %s", now.UTC().Format(time.RFC3339), p.ID, describeReq(req)))
		d.metrics.fixes.WithLabelValues("cw").Inc()
		d.record(Event{Pass: id, Resource: st.info.Addr, Kind: EventFix, Seen: seen, Rule: rule + "; ports are automatic by policy", Result: "applied: " + describeReq(req), Ref: p.ID})
		d.Trigger("fix " + p.ID)
	}
}

func describeReq(r proposalRequest) string {
	return fmt.Sprintf("%s: set %s %s = %s", r.File, r.Block, strings.Join(r.Path, "."), ctyString(r.Value))
}

func ctyString(v cty.Value) string {
	if v.Type() == cty.Number {
		return v.AsBigFloat().Text('f', -1)
	}
	if v.Type() == cty.String {
		return strconv.Quote(v.AsString())
	}
	return v.GoString()
}

// checkProposal notices a person's decision on the resource's proposal.
func (d *Daemon) checkProposal(id int64, st *resState) {
	if st.proposal == "" {
		return
	}
	p, err := GetProposal(d.cfg.Dir, st.proposal)
	if err != nil {
		d.record(Event{Pass: id, Resource: st.info.Addr, Kind: EventError, Seen: err.Error(), Rule: "proposal vanished", Result: "forgotten"})
		st.proposal = ""
		return
	}
	switch p.Status {
	case ProposalPending:
		return
	case ProposalApproved:
		d.record(Event{Pass: id, Resource: st.info.Addr, Kind: EventProposal, Seen: "proposal approved", Rule: "apply the approved .cw", Result: "the plan picks the change up", Ref: p.ID})
		st.streak = 0
		st.nextAttempt = time.Time{}
	case ProposalRejected:
		d.record(Event{Pass: id, Resource: st.info.Addr, Kind: EventProposal, Seen: "proposal rejected", Rule: "a person said no", Result: "runbook", Ref: p.ID})
		d.handOver(id, st, p.Kind, "The proposed .cw patch was rejected: "+p.Reason,
			[]string{"Resolve the conflict another way (stop the process holding the port, or choose a port yourself in the .cw), then run `clockwork apply`."})
	case ProposalStale:
		d.record(Event{Pass: id, Resource: st.info.Addr, Kind: EventProposal, Seen: "proposal stale: the file changed", Rule: "re-evaluate on the new configuration", Ref: p.ID})
		st.streak = 0
	}
	st.proposal = ""
}

// handOver writes a runbook for the resource and stops automatic fixes for
// it until it is healthy again.
func (d *Daemon) handOver(id int64, st *resState, kind, why string, do []string) {
	rb := runbook{Resource: st.info.Addr, Pass: id, Time: d.clock.Now(), Why: why, Do: do, Done: st.fixesDone}
	if st.detail != "" {
		rb.Seen = append(rb.Seen, "observed: "+st.detail)
	}
	if f := st.lastFailure; f != nil {
		rb.Seen = append(rb.Seen, fmt.Sprintf("last reconcile: step %s %s: %s", f.StepID, f.Status, f.Err))
		rb.LogTail = f.LogTail
	}
	if st.bo.failures > 0 {
		rb.Seen = append(rb.Seen, fmt.Sprintf("%d reconciles with backoff (now %s)", st.bo.failures, st.bo.delay()))
	}
	rid, err := writeRunbook(d.cfg.Dir, rb, d.cfg.Mask)
	if err != nil {
		d.record(Event{Pass: id, Resource: st.info.Addr, Kind: EventError, Seen: why, Rule: "fix 3: runbook", Result: err.Error()})
		return
	}
	st.runbook = rid
	d.metrics.fixes.WithLabelValues("runbook").Inc()
	d.record(Event{Pass: id, Resource: st.info.Addr, Kind: EventRunbook, Seen: why, Rule: "fix 3: runbook (" + kind + ")",
		Result: "wrote " + filepath.ToSlash(filepath.Join(".clockwork", "runbooks", rid+".md")), Ref: rid})
}

func (d *Daemon) seenText(st *resState) string {
	var parts []string
	if st.detail != "" {
		parts = append(parts, st.detail)
	}
	if f := st.lastFailure; f != nil && f.Err != "" {
		parts = append(parts, fmt.Sprintf("%s: %s", f.StepID, f.Err))
	}
	return strings.Join(parts, "; ")
}

var (
	portInUse = regexp.MustCompile(`(?i)address already in use|eaddrinuse|port is already allocated|address in use|bind: .*in use`)
	portNum   = regexp.MustCompile(`(?::|port )(\d{2,5})\b`)
	timedOut  = regexp.MustCompile(`(?i)timed? ?out|deadline exceeded|timeout`)
)

// classify picks the kind of fix from what was seen. A port conflict is
// confirmed by trying to bind the port.
func (d *Daemon) classify(st *resState) (kind string, port int) {
	text := st.detail
	if f := st.lastFailure; f != nil {
		text += "\n" + f.Err + "\n" + f.LogTail
	}
	if portInUse.MatchString(text) {
		cands := slices.Clone(st.info.Ports)
		for _, m := range portNum.FindAllStringSubmatch(text, -1) {
			if n, err := strconv.Atoi(m[1]); err == nil && n > 0 && n < 65536 && !slices.Contains(cands, n) {
				cands = append(cands, n)
			}
		}
		for _, p := range cands {
			if !portFree(p) {
				return policy.KindPorts, p
			}
		}
	}
	step := st.failingStep
	if st.lastFailure != nil && st.lastFailure.StepID != "" {
		step = st.lastFailure.StepID
	}
	switch {
	case timedOut.MatchString(text):
		return policy.KindTimeout, 0
	case strings.Contains(step, "/verify_"):
		return policy.KindHealthCheck, 0
	default:
		return policy.KindRetries, 0
	}
}

// portFree reports whether nothing listens on port (all interfaces).
func portFree(port int) bool {
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// portPatch finds where the .cw declares the taken port for the resource and
// a free port to move it to.
func (d *Daemon) portPatch(info ResourceInfo, port int) (proposalRequest, error) {
	files, err := d.cwFiles(info.File)
	if err != nil {
		return proposalRequest{}, err
	}
	block := "resource." + info.Addr
	free := 0
	for p := port + 1; p < port+200 && p < 65536; p++ {
		if !slices.Contains(info.Ports, p) && portFree(p) {
			free = p
			break
		}
	}
	if free == 0 {
		return proposalRequest{}, fmt.Errorf("no free port between %d and %d", port+1, port+199)
	}
	newVal := cty.NumberIntVal(int64(free))
	for _, file := range files {
		src, err := os.ReadFile(filepath.Join(d.cfg.Dir, file))
		if err != nil {
			return proposalRequest{}, err
		}
		if _, err := patch.Lookup(src, block, []string{"ports"}); err != nil {
			continue
		}
		for i := 0; i < 64; i++ {
			path := []string{"ports", strconv.Itoa(i), "external"}
			found, err := patch.Lookup(src, block, path)
			if err != nil {
				break
			}
			if found.Value != cty.NilVal && found.Value.Type() == cty.Number && found.Value.AsBigFloat().String() == strconv.Itoa(port) {
				return proposalRequest{Resource: info.Addr, Kind: policy.KindPorts, File: file, Block: block, Path: path, Value: newVal}, nil
			}
			if found.VarRef != "" {
				if req, ok := d.varPatch(found.VarRef, port, newVal); ok {
					req.Resource = info.Addr
					return req, nil
				}
			}
		}
	}
	return proposalRequest{}, fmt.Errorf("port %d of %s not found as a literal or a variable in the .cw files", port, info.Addr)
}

// varPatch finds the value of variable name that sets port: a .cwvars
// assignment first (it wins over the default), else the variable's default.
func (d *Daemon) varPatch(name string, port int, v cty.Value) (proposalRequest, bool) {
	is := func(f patch.Found) bool {
		return f.Value != cty.NilVal && f.Value.Type() == cty.Number && f.Value.AsBigFloat().String() == strconv.Itoa(port)
	}
	vars, _ := filepath.Glob(filepath.Join(d.cfg.Dir, "*.cwvars"))
	sort.Sort(sort.Reverse(sort.StringSlice(vars))) // later files win
	for _, path := range vars {
		src, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if f, err := patch.Lookup(src, "", []string{name}); err == nil {
			if is(f) {
				return proposalRequest{Kind: policy.KindPorts, File: filepath.Base(path), Block: "", Path: []string{name}, Value: v}, true
			}
			return proposalRequest{}, false
		}
	}
	files, _ := d.cwFiles("")
	for _, file := range files {
		src, err := os.ReadFile(filepath.Join(d.cfg.Dir, file))
		if err != nil {
			continue
		}
		if f, err := patch.Lookup(src, "variable."+name, []string{"default"}); err == nil && is(f) {
			return proposalRequest{Kind: policy.KindPorts, File: file, Block: "variable." + name, Path: []string{"default"}, Value: v}, true
		}
	}
	return proposalRequest{}, false
}

// cwFiles lists the .cw files to search, the declaring file first.
func (d *Daemon) cwFiles(first string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(d.cfg.Dir, "*.cw"))
	if err != nil {
		return nil, err
	}
	var out []string
	if first != "" {
		out = append(out, first)
	}
	for _, m := range matches {
		if b := filepath.Base(m); b != first {
			out = append(out, b)
		}
	}
	return out, nil
}
