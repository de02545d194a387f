package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/executor"
	"github.com/clockwork-iac/clockwork/internal/forge"
	"github.com/clockwork-iac/clockwork/internal/pipeline"
)

func (a *app) buildCmd() *cobra.Command {
	var c common
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Compile the plan into scripts under .clockwork/build (never executes)",
		Long: "Compile the ActionList into an ArtifactBundle, validate it, and write .clockwork/build/.\n" +
			"An unchanged plan reuses the bundle; a script you edited is kept unless --force.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := a.options(&c)
			if err != nil {
				return exit(1, err)
			}
			res, err := pipeline.Build(cmd.Context(), o)
			if err != nil {
				return a.pipelineError(&c, err)
			}
			a.reportBuild(&c, res.Build, res.Planned.Plan.ActionList)
			return nil
		},
	}
	c.addChdir(cmd)
	c.addVars(cmd)
	c.addJSON(cmd)
	c.addTargets(cmd)
	c.addBuild(cmd)
	return cmd
}

func (a *app) reportBuild(c *common, br *forge.BuildResult, al *contract.ActionList) {
	if br == nil {
		return
	}
	if c.json {
		b, _ := contract.Marshal(map[string]any{
			"fingerprint": al.Fingerprint,
			"reused":      br.Reused,
			"written":     nonNil(br.Written),
			"kept":        nonNil(br.Kept),
			"kept_steps":  nonNil(br.KeptSteps),
			"removed":     nonNil(br.Removed),
		})
		a.stdio.Out.Write(b)
		return
	}
	w := a.stdio.Out
	switch {
	case br.Reused:
		fmt.Fprintf(w, "Bundle is up to date (plan %s): nothing to build.\n", short(al.Fingerprint))
	case len(br.Written) == 0 && len(br.Removed) == 0:
		fmt.Fprintf(w, "Bundle for plan %s checked: every script is up to date.\n", short(al.Fingerprint))
	default:
		fmt.Fprintf(w, "Built bundle for plan %s: %d artifact(s) written, %d removed.\n", short(al.Fingerprint), len(br.Written), len(br.Removed))
	}
	for _, k := range br.Kept {
		fmt.Fprintf(w, "Kept your edit of %s (use --force to regenerate it).\n", k)
	}
	for _, k := range br.KeptSteps {
		fmt.Fprintf(w, "Kept your edit of the run of step %s in bundle.json (use --force to regenerate it).\n", k)
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func short(fp string) string {
	fp = strings.TrimPrefix(fp, "sha256:")
	if len(fp) > 12 {
		return fp[:12]
	}
	return fp
}

// pipelineError renders an error from the pipeline and returns the exit error.
func (a *app) pipelineError(c *common, err error) error {
	var de *pipeline.DiagError
	if errors.As(err, &de) {
		a.diagnostics(c, de)
		return exit(1, nil)
	}
	var ve *forge.ValidationError
	if errors.As(err, &ve) {
		fmt.Fprintln(a.stdio.Err, "Error: the bundle was rejected; nothing was written or run:")
		for _, v := range ve.Violations {
			fmt.Fprintf(a.stdio.Err, "  - %s\n", violationLine(v))
		}
		return exit(1, nil)
	}
	return exit(1, err)
}

func violationLine(v forge.Violation) string {
	var b strings.Builder
	b.WriteString(v.Rule)
	if v.Artifact != "" {
		b.WriteString(": artifact " + v.Artifact)
	}
	if v.Step != "" {
		b.WriteString(": step " + v.Step)
	}
	b.WriteString(": " + v.Message)
	return b.String()
}

func (a *app) applyCmd() *cobra.Command {
	var c common
	cmd := &cobra.Command{
		Use:   "apply [PLANFILE]",
		Short: "Build if needed, run the steps, and record state",
		Long: "Plan, build the bundle if the plan changed, run every step that changes something (and the\n" +
			"idempotent service steps, which restart what died), record state after every step.\n" +
			"With PLANFILE (from plan --out), apply exactly that plan: it is refused when state changed\n" +
			"since it was made (stale) or when planning now gives another plan. Never waits for input.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				b, err := os.ReadFile(args[0])
				if err != nil {
					return exit(1, err)
				}
				al, err := contract.ParseActionList(b)
				if err != nil {
					return exit(1, fmt.Errorf("%s: %w", args[0], err))
				}
				c.savedPlan = al
			}
			return a.runOp(cmd, &c, "apply")
		},
	}
	a.execFlags(cmd, &c)
	return cmd
}

func (a *app) destroyCmd() *cobra.Command {
	var c common
	cmd := &cobra.Command{
		Use:   "destroy",
		Short: "Delete everything recorded in state, in reverse dependency order",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runOp(cmd, &c, "destroy")
		},
	}
	a.execFlags(cmd, &c)
	return cmd
}

func (a *app) verifyCmd() *cobra.Command {
	var c common
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Run only the verify steps and report each; exit 1 if any fails",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runOp(cmd, &c, "verify")
		},
	}
	a.execFlags(cmd, &c)
	return cmd
}

func (a *app) execFlags(cmd *cobra.Command, c *common) {
	c.addChdir(cmd)
	c.addVars(cmd)
	c.addJSON(cmd)
	c.addTargets(cmd)
	c.addBuild(cmd)
	c.addExec(cmd)
}

func (a *app) runOp(cmd *cobra.Command, c *common, op string) error {
	o, err := a.options(c)
	if err != nil {
		return exit(1, err)
	}
	o.SavedPlan = c.savedPlan
	prog := newProgress(a.stdio.Out, a.stdio.Terminal && !c.json)
	o.OnStepStart = prog.start
	o.OnStepDone = prog.done
	var res *pipeline.ApplyResult
	switch op {
	case "apply":
		res, err = pipeline.Apply(cmd.Context(), o)
	case "destroy":
		res, err = pipeline.Destroy(cmd.Context(), o)
	case "verify":
		res, err = pipeline.Verify(cmd.Context(), o)
	}
	prog.finish()
	if res != nil && res.Build != nil && !c.json && op != "verify" {
		a.reportBuild(c, res.Build, res.Planned.Plan.ActionList)
		if res.Report != nil && res.Report.OK+res.Report.Failed > 0 {
			fmt.Fprintf(a.stdio.Out, "Confinement: %s.\n", o.ConfineSummary())
		}
	}
	if res != nil && res.Report != nil {
		a.reportRun(c, op, res)
	}
	if err != nil {
		return a.pipelineError(c, err)
	}
	if res != nil && res.Report != nil && res.Report.Failed > 0 {
		return exit(1, nil)
	}
	return nil
}

func (a *app) reportRun(c *common, op string, res *pipeline.ApplyResult) {
	al := res.Planned.Plan.ActionList
	rep := res.Report
	if c.json {
		type stepOut struct {
			ID       string  `json:"id"`
			Resource string  `json:"resource"`
			Change   string  `json:"change"`
			Status   string  `json:"status"`
			Attempts int     `json:"attempts,omitempty"`
			Seconds  float64 `json:"seconds"`
			Error    string  `json:"error,omitempty"`
			Log      string  `json:"log,omitempty"`
		}
		var steps []stepOut
		for i, r := range rep.Results {
			if r.Status == "not_run" || r.Status == "noop" {
				continue
			}
			s := al.Steps[i]
			steps = append(steps, stepOut{ID: s.ID, Resource: s.Resource, Change: s.Change, Status: r.Status,
				Attempts: r.Attempts, Seconds: r.Duration.Seconds(), Error: firstNonEmpty(r.Err, r.SkippedBecause), Log: r.LogPath})
		}
		if steps == nil {
			steps = []stepOut{}
		}
		b, _ := contract.Marshal(map[string]any{
			"operation": op, "run_id": res.RunID, "steps": steps,
			"ok": rep.OK, "failed": rep.Failed, "skipped": rep.Skipped,
			"outputs": visibleOutputs(res),
		})
		a.stdio.Out.Write(b)
		return
	}
	w := a.stdio.Out
	ran, checked := 0, 0
	for i, r := range rep.Results {
		if r.Status == "not_run" || r.Status == "noop" {
			continue
		}
		s := al.Steps[i]
		if op == "apply" && s.Change == contract.ChangeNoop && r.Status == "ok" {
			// An unchanged service's idempotent ensure: found as declared,
			// unless it had to start it again.
			if why := res.Drifted[s.Resource]; why != "" {
				ran++
				fmt.Fprintf(w, "~ %s: repaired (%s)\n", s.ID, why)
				continue
			}
			if what := restarted(res.PriorOutputs[s.Resource], r.Outputs); what != "" {
				ran++
				fmt.Fprintf(w, "~ %s: restarted (%s)\n", s.ID, what)
				continue
			}
			checked++
			continue
		}
		ran++
		line := fmt.Sprintf("%s %s: %s", changeSymbol(s), s.ID, r.Status)
		if r.Duration > 0 {
			line += fmt.Sprintf(" (%s)", r.Duration.Round(10*time.Millisecond))
		}
		if r.Attempts > 1 {
			line += fmt.Sprintf(" after %d attempts", r.Attempts)
		}
		fmt.Fprintln(w, line)
		if r.Status == "skipped" && r.SkippedBecause != "" {
			fmt.Fprintf(w, "    %s\n", r.SkippedBecause)
		}
		if r.Err != "" && r.Status != "ok" {
			fmt.Fprintf(w, "    error: %s\n", r.Err)
			if r.LogTail != "" {
				for _, l := range strings.Split(strings.TrimRight(r.LogTail, "\n"), "\n") {
					fmt.Fprintf(w, "    | %s\n", l)
				}
			}
			if r.LogPath != "" {
				fmt.Fprintf(w, "    log: %s\n", r.LogPath)
			}
		}
	}
	switch op {
	case "verify":
		if ran == 0 {
			fmt.Fprintln(w, "No verify steps in this configuration.")
			return
		}
		fmt.Fprintf(w, "Verify: %d passed, %d failed, %d skipped.\n", rep.OK, rep.Failed, rep.Skipped)
	default:
		if ran == 0 {
			if checked > 0 {
				fmt.Fprintf(w, "No changes. Everything is as declared (%d running service(s) checked).\n", checked)
			} else {
				fmt.Fprintln(w, "No changes. Everything is as declared.")
			}
		} else {
			title := "Apply"
			if op == "destroy" {
				title = "Destroy"
			}
			state := "complete!"
			if rep.Failed > 0 {
				state = "failed."
			}
			fmt.Fprintf(w, "%s %s Steps: %d ok, %d failed, %d skipped. Logs: %s\n", title, state, rep.OK, rep.Failed, rep.Skipped, res.LogDir)
		}
		outs := visibleOutputs(res)
		if len(outs) > 0 {
			fmt.Fprintln(w, "\nOutputs:")
			names := make([]string, 0, len(outs))
			for k := range outs {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				v := outs[k]
				if res.Sensitive[k] {
					fmt.Fprintf(w, "  %s = (sensitive)\n", k)
					continue
				}
				b, _ := contract.Marshal(v)
				fmt.Fprintf(w, "  %s = %s\n", k, strings.TrimSpace(string(b)))
			}
		}
	}
}

func visibleOutputs(res *pipeline.ApplyResult) map[string]any {
	out := map[string]any{}
	for k, v := range res.Outputs {
		if res.Sensitive[k] {
			out[k] = "(sensitive)"
			continue
		}
		out[k] = v
	}
	return out
}

func changeSymbol(s contract.Step) string {
	switch s.Change {
	case contract.ChangeCreate:
		return "+"
	case contract.ChangeUpdate:
		return "~"
	case contract.ChangeDelete:
		return "-"
	}
	return " "
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// progress shows a single updating line on a terminal; elsewhere it prints
// nothing while steps run (results follow in ActionList order).
type progress struct {
	out      io.Writer
	tty      bool
	mu       sync.Mutex // guards the fields below
	finished int
	running  map[string]bool
}

func newProgress(w io.Writer, tty bool) *progress {
	return &progress{out: w, tty: tty, running: map[string]bool{}}
}

func (p *progress) start(s contract.Step) {
	if !p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running[s.ID] = true
	p.draw(s.ID)
}

func (p *progress) done(s contract.Step, r executor.StepResult) {
	if !p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.running, s.ID)
	p.finished++
	p.draw(s.ID)
}

func (p *progress) draw(last string) {
	line := fmt.Sprintf("\r\033[K[%d done, %d running] %s", p.finished, len(p.running), last)
	fmt.Fprint(p.out, line)
}

func (p *progress) finish() {
	if p.tty {
		fmt.Fprint(p.out, "\r\033[K")
	}
}

// restarted says what changed when an unchanged service's ensure step
// published another pid or container id than state recorded: it found the
// service dead (or gone) and started it again.
func restarted(prior, outputs map[string]string) string {
	for _, k := range []string{"PID", "CONTAINER_ID"} {
		old, now := prior[k], outputs[k]
		if old != "" && now != "" && old != now {
			if k == "PID" {
				return fmt.Sprintf("it was not running; pid %s, was %s", now, old)
			}
			return "its container was missing or replaced"
		}
	}
	return ""
}
