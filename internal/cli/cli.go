package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/forge"
	"github.com/clockwork-iac/clockwork/internal/pipeline"
	"github.com/clockwork-iac/clockwork/internal/view"
)

// Stdio is the outside world the CLI talks to.
type Stdio struct {
	In      io.Reader
	Out     io.Writer
	Err     io.Writer
	Environ []string
	// Terminal reports whether Out is a terminal (progress line, colour).
	Terminal bool
	// Executable is the path of this binary (CW_CLOCKWORK for steps).
	Executable string
}

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

// exit returns an error that makes Run return code. A nil err means the
// message was already printed.
func exit(code int, err error) error { return &exitError{code: code, err: err} }

// Run executes the command line args and returns the exit code.
func Run(ctx context.Context, args []string, stdio Stdio) int {
	if stdio.In == nil {
		stdio.In = os.Stdin
	}
	app := &app{stdio: stdio}
	root := app.root()
	root.SetArgs(args)
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stdio.Err, "Error: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stdio.Err, "Error: %v\n", err)
	return 1
}

type app struct {
	stdio Stdio
}

// common holds the flags most commands share.
type common struct {
	chdir       string
	vars        []string
	varFiles    []string
	json        bool
	targets     []string
	compiler    string
	aiRepairs   int
	aiMode      string
	force       bool
	parallelism int
	timeout     time.Duration
	passEnv     []string
	noColor     bool
	allowlist   []string
	noConfine   bool
	savedPlan   *contract.ActionList
	out         string
}

func (c *common) addChdir(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&c.chdir, "chdir", "C", ".", "configuration directory")
}

func (c *common) addVars(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&c.vars, "var", nil, "set a variable: --var NAME=VALUE (repeatable)")
	cmd.Flags().StringArrayVar(&c.varFiles, "var-file", nil, "read variables from an HCL file (repeatable)")
}

func (c *common) addJSON(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&c.json, "json", false, "machine-readable JSON output")
}

func (c *common) addTargets(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&c.targets, "target", nil, "limit to a resource address and its dependencies (repeatable)")
}

func (c *common) addBuild(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.compiler, "compiler", "", "compiler: builtin (default) or openai")
	cmd.Flags().IntVar(&c.aiRepairs, "ai-max-repairs", 2, "with --compiler openai: repair rounds after a rejected bundle")
	cmd.Flags().StringVar(&c.aiMode, "ai-mode", "", "with --compiler openai: whole (default) or mixed")
	cmd.Flags().BoolVar(&c.force, "force", false, "regenerate the bundle, overwriting edited artifacts")
	cmd.Flags().StringArrayVar(&c.allowlist, "allow-runtime", nil, "allowlisted runtimes (replaces the default bash, sh, python3, node, deno, go)")
}

func (c *common) addExec(cmd *cobra.Command) {
	cmd.Flags().IntVar(&c.parallelism, "parallelism", 10, "steps run at once")
	cmd.Flags().DurationVar(&c.timeout, "timeout-per-step", 10*time.Minute, "default timeout of one step")
	cmd.Flags().StringArrayVar(&c.passEnv, "pass-env", nil, "environment variable to pass through to steps (repeatable)")
	cmd.Flags().BoolVar(&c.noConfine, "no-confine", false, "run steps without Landlock write confinement")
}

func (a *app) options(c *common) (pipeline.Options, error) {
	o := pipeline.Options{
		Dir:         c.chdir,
		Vars:        c.vars,
		VarFiles:    c.varFiles,
		Environ:     a.stdio.Environ,
		Targets:     c.targets,
		Force:       c.force,
		Parallelism: c.parallelism,
		StepTimeout: c.timeout,
		PassEnv:     c.passEnv,
		Clockwork:   a.stdio.Executable,
		NoConfine:   c.noConfine,
	}
	if len(c.allowlist) > 0 {
		p := forge.DefaultPolicy()
		p.Allowlist = c.allowlist
		o.Policy = p
	}
	comp, err := a.compiler(c)
	if err != nil {
		return o, err
	}
	o.Compiler = comp
	return o, nil
}

func (a *app) color(c *common) bool {
	return a.stdio.Terminal && !c.noColor && os.Getenv("NO_COLOR") == ""
}

// diagnostics prints configuration diagnostics and reports whether any is an error.
func (a *app) diagnostics(c *common, de *pipeline.DiagError) {
	if c.json {
		_ = view.DiagnosticsJSON(a.stdio.Out, de.Diags)
		return
	}
	view.Diagnostics(a.stdio.Err, de.Files, de.Diags, a.color(c), 0)
}

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:           "clockwork",
		Short:         "Declare what you want in .cw files; Clockwork plans it, writes readable scripts, checks and runs them, and keeps it so",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		a.initCmd(), a.fmtCmd(), a.validateCmd(), a.planCmd(), a.buildCmd(), a.applyCmd(),
		a.verifyCmd(), a.destroyCmd(), a.stateCmd(), a.graphCmd(), a.schemaCmd(), a.factsCmd(),
		a.forceUnlockCmd(), a.stepCmd(), a.versionCmd(),
	)
	a.addDaemonCmds(root)
	return root
}
