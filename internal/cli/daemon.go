package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/clockwork-iac/clockwork/internal/daemon"
	"github.com/clockwork-iac/clockwork/internal/pipeline"
)

// addDaemonCmds adds daemon, approve, reject, proposals and events.
func (a *app) addDaemonCmds(root *cobra.Command) {
	root.AddCommand(a.daemonCmd(), a.approveCmd(true), a.approveCmd(false), a.proposalsCmd(), a.eventsCmd())
}

func (a *app) daemonCmd() *cobra.Command {
	var (
		c            common
		interval     time.Duration
		listen       string
		logFormat    string
		logLevel     string
		noWatch      bool
		retryBackoff time.Duration
	)
	cmd := &cobra.Command{
		Use:   "daemon",
		Short: "Keep the configuration converged: reconcile drift, repair within budgets, serve status",
		Long: "Run in the foreground (a service manager or nohup backgrounds it). Every pass re-reads the\n" +
			".cw files, observes every resource (service processes, containers, files, checks) and re-runs\n" +
			"the unchanged steps of what drifted, with per-resource backoff; when that does not help it makes\n" +
			"the smallest fix the policy allows (see `clockwork daemon policy`). Passes run on a timer, on\n" +
			"a change to *.cw/*.cwvars/clockwork.hcl, and at once when a service process or container dies.\n" +
			"Events go to .clockwork/events.jsonl and stderr; HTTP on --listen serves /, /healthz, /metrics\n" +
			"and /api/status. SIGINT or SIGTERM stops it after the running steps finish.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := a.options(&c)
			if err != nil {
				return exit(1, err)
			}
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
				return exit(2, fmt.Errorf("--log-level: %w", err))
			}
			hopts := &slog.HandlerOptions{Level: lvl}
			var h slog.Handler
			switch logFormat {
			case "text":
				h = slog.NewTextHandler(a.stdio.Err, hopts)
			case "json":
				h = slog.NewJSONHandler(a.stdio.Err, hopts)
			default:
				return exit(2, fmt.Errorf("--log-format must be text or json, not %q", logFormat))
			}
			logger := slog.New(h)
			o.Logger = logger
			do := pipeline.DaemonOptions{}
			if retryBackoff > 0 {
				do.RetryBackoff = func(int) time.Duration { return retryBackoff }
			}
			p := pipeline.NewDaemonPipeline(o, do)
			defer p.Close()
			d := daemon.New(daemon.Config{Dir: c.chdir, Interval: interval, Listen: listen, NoWatch: noWatch, Mask: p.Mask}, p, nil, logger)
			ctx := cmd.Context()
			p.Watch(ctx, d.Signal)
			logger.Info("daemon starting", "dir", c.chdir, "interval", interval, "listen", listen)
			if err := d.Run(ctx); err != nil {
				return exit(1, err)
			}
			logger.Info("daemon stopped")
			return nil
		},
	}
	c.addChdir(cmd)
	c.addVars(cmd)
	c.addBuild(cmd)
	c.addExec(cmd)
	f := cmd.Flags()
	f.DurationVar(&interval, "interval", time.Minute, "time between full passes (plus up to 10% jitter)")
	f.StringVar(&listen, "listen", daemon.DefaultListen, "HTTP address for the status page, /metrics and /api/status (\"\" for none)")
	f.StringVar(&logFormat, "log-format", "text", "log line format: text or json")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.BoolVar(&noWatch, "no-watch", false, "do not watch the .cw files (passes on the timer and liveness signals only)")
	f.DurationVar(&retryBackoff, "retry-backoff", 0, "fixed wait between retries of a failing step (default: 0.5s doubling up to 10s)")
	_ = f.MarkHidden("retry-backoff")
	cmd.AddCommand(a.daemonPolicyCmd())
	return cmd
}

func (a *app) daemonPolicyCmd() *cobra.Command {
	var c common
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Show the daemon's policy: budgets, backoff and which changes are automatic",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, diags := daemon.LoadPolicy(c.chdir)
			if diags.HasErrors() {
				return exit(1, diags)
			}
			if c.json {
				return writeJSON(a.stdio.Out, p)
			}
			p.Describe(a.stdio.Out)
			return nil
		},
	}
	c.addChdir(cmd)
	c.addJSON(cmd)
	return cmd
}

func (a *app) approveCmd(approve bool) *cobra.Command {
	var c common
	use, short := "approve ID", "Apply a proposed .cw patch (the daemon picks it up on its next pass)"
	if !approve {
		use, short = "reject ID", "Reject a proposed .cw patch; the daemon writes a runbook instead"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var (
				p   *daemon.Proposal
				err error
			)
			if approve {
				p, err = daemon.Approve(c.chdir, args[0])
			} else {
				p, err = daemon.Reject(c.chdir, args[0])
			}
			if err != nil {
				return exit(1, err)
			}
			if c.json {
				return writeJSON(a.stdio.Out, p)
			}
			if approve {
				fmt.Fprintf(a.stdio.Out, "approved %s: %s patched (%s)\n", p.ID, p.File, p.Resource)
			} else {
				fmt.Fprintf(a.stdio.Out, "rejected %s (%s)\n", p.ID, p.Resource)
			}
			return nil
		},
	}
	c.addChdir(cmd)
	c.addJSON(cmd)
	return cmd
}

func (a *app) proposalsCmd() *cobra.Command {
	var (
		c   common
		all bool
	)
	cmd := &cobra.Command{
		Use:   "proposals",
		Short: "List the daemon's .cw patch proposals (pending ones unless --all)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ps, err := daemon.ListProposals(c.chdir)
			if err != nil {
				return exit(1, err)
			}
			var shown []daemon.Proposal
			for _, p := range ps {
				if all || p.Status == daemon.ProposalPending {
					shown = append(shown, p)
				}
			}
			if c.json {
				if shown == nil {
					shown = []daemon.Proposal{}
				}
				return writeJSON(a.stdio.Out, shown)
			}
			if len(shown) == 0 {
				fmt.Fprintln(a.stdio.Out, "no pending proposals")
				return nil
			}
			for _, p := range shown {
				daemon.WriteProposal(a.stdio.Out, p)
			}
			return nil
		},
	}
	c.addChdir(cmd)
	c.addJSON(cmd)
	cmd.Flags().BoolVar(&all, "all", false, "also list approved, rejected and stale proposals")
	return cmd
}

func (a *app) eventsCmd() *cobra.Command {
	var (
		c      common
		follow bool
	)
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Print the daemon's events (.clockwork/events.jsonl); --follow keeps printing new ones",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := daemon.EventsPath(c.chdir)
			if follow {
				var w io.Writer = a.stdio.Out
				if !c.json {
					w = &eventLines{w: a.stdio.Out}
				}
				if err := daemon.Follow(cmd.Context(), path, w); err != nil {
					return exit(1, err)
				}
				return nil
			}
			evs, err := daemon.ReadEvents(path)
			if err != nil {
				return exit(1, err)
			}
			for _, e := range evs {
				if c.json {
					b, err := json.Marshal(e)
					if err != nil {
						return exit(1, err)
					}
					fmt.Fprintf(a.stdio.Out, "%s\n", b)
					continue
				}
				fmt.Fprintln(a.stdio.Out, e.String())
			}
			if len(evs) == 0 && !c.json {
				fmt.Fprintf(a.stdio.Err, "no events in %s yet\n", filepath.ToSlash(path))
			}
			return nil
		},
	}
	c.addChdir(cmd)
	c.addJSON(cmd)
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing events as the daemon records them, until interrupted")
	return cmd
}

// eventLines renders the JSON lines Follow writes as one-line text events.
type eventLines struct {
	w   io.Writer
	buf []byte
}

func (e *eventLines) Write(p []byte) (int, error) {
	e.buf = append(e.buf, p...)
	for {
		i := bytes.IndexByte(e.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := e.buf[:i]
		var ev daemon.Event
		if err := json.Unmarshal(line, &ev); err == nil {
			fmt.Fprintln(e.w, ev.String())
		} else if s := strings.TrimSpace(string(line)); s != "" {
			fmt.Fprintln(e.w, s)
		}
		e.buf = e.buf[i+1:]
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return exit(1, errors.New("encode json: "+err.Error()))
	}
	return nil
}
