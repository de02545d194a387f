package cli

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/spf13/cobra"

	"github.com/clockwork-iac/clockwork/internal/assembly"
	"github.com/clockwork-iac/clockwork/internal/contract"
	"github.com/clockwork-iac/clockwork/internal/facts"
	"github.com/clockwork-iac/clockwork/internal/intake"
	"github.com/clockwork-iac/clockwork/internal/pipeline"
	"github.com/clockwork-iac/clockwork/internal/schema"
	"github.com/clockwork-iac/clockwork/internal/state"
	"github.com/clockwork-iac/clockwork/internal/view"
)

// Version is the binary's version, set at link time.
var Version = "0.1.0-dev"

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(a.stdio.Out, "clockwork %s\n", Version)
			return nil
		},
	}
}

func (a *app) validateCmd() *cobra.Command {
	var c common
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the configuration: syntax, types, references, schemas",
		Long:  "Parse every *.cw in the directory as one configuration and report every problem at once.\nExit 1 when there are errors, 0 otherwise.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := a.options(&c)
			if err != nil {
				return exit(1, err)
			}
			o.Offline = true // validate writes nothing: modules come from `clockwork init`
			res, diags := pipeline.Load(cmd.Context(), o, true, nil)
			if !diags.HasErrors() && res != nil && res.Config != nil {
				_, gd := assembly.NewGraph(res.Config)
				diags = append(diags, gd...)
			}
			var files map[string]*hcl.File
			if res != nil {
				files = res.Files
			}
			if c.json {
				if err := view.DiagnosticsJSON(a.stdio.Out, diags); err != nil {
					return exit(1, err)
				}
			} else if len(diags) > 0 {
				view.Diagnostics(a.stdio.Err, files, diags, a.color(&c), 0)
			}
			if diags.HasErrors() {
				return exit(1, nil)
			}
			if !c.json {
				fmt.Fprintln(a.stdio.Out, "Success! The configuration is valid.")
			}
			return nil
		},
	}
	c.addChdir(cmd)
	c.addVars(cmd)
	c.addJSON(cmd)
	return cmd
}

func (a *app) planCmd() *cobra.Command {
	var c common
	var detailed, destroy bool
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show the ActionList: what apply would do (never compiles, writes nothing)",
		Long: "Show the steps apply would run: + create, ~ update, - delete.\n" +
			"With --json, print exactly the ActionList JSON.\n" +
			"Exit codes with --detailed-exitcode: 0 no changes, 1 error, 2 changes.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := a.options(&c)
			if err != nil {
				return exit(1, err)
			}
			o.Offline = true // plan writes nothing: modules come from `clockwork init`
			p, diags, err := pipeline.Plan(cmd.Context(), o, destroy)
			if err != nil {
				return exit(1, err)
			}
			if diags.HasErrors() {
				a.diagnostics(&c, &pipeline.DiagError{Diags: diags, Files: p.Files()})
				return exit(1, nil)
			}
			if len(diags) > 0 && !c.json {
				view.Diagnostics(a.stdio.Err, p.Files(), diags, a.color(&c), 0)
			}
			al := p.Plan.ActionList
			if c.out != "" {
				b, err := contract.MarshalValidated(contract.SchemaActionList, al)
				if err != nil {
					return exit(1, err)
				}
				if err := os.WriteFile(c.out, b, 0o644); err != nil {
					return exit(1, err)
				}
			}
			if c.json {
				b, err := contract.MarshalValidated(contract.SchemaActionList, al)
				if err != nil {
					return exit(1, err)
				}
				a.stdio.Out.Write(b)
			} else {
				view.PlanHumanForget(a.stdio.Out, al, p.Plan.Forget, a.color(&c))
			}
			drift := pipeline.Refresh(c.chdir, al)
			if len(drift) > 0 && !c.json {
				fmt.Fprintf(a.stdio.Out, "\nDrift: %d unchanged resource(s) differ on disk; apply will restore them:\n", len(drift))
				for _, addr := range slices.Sorted(maps.Keys(drift)) {
					fmt.Fprintf(a.stdio.Out, "  ~ %s: %s\n", addr, drift[addr])
				}
			}
			if detailed && (hasChanges(al) || len(p.Plan.Forget) > 0 || len(drift) > 0) {
				return exit(2, nil)
			}
			return nil
		},
	}
	c.addChdir(cmd)
	c.addVars(cmd)
	c.addJSON(cmd)
	c.addTargets(cmd)
	cmd.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 2 when there are changes, 0 when none, 1 on error")
	cmd.Flags().BoolVar(&destroy, "destroy", false, "plan deletes for everything in state")
	cmd.Flags().StringVar(&c.out, "out", "", "also save the plan (the ActionList) to this file, for `clockwork apply FILE`")
	return cmd
}

func hasChanges(al *contract.ActionList) bool {
	for _, s := range al.Steps {
		if s.Change != contract.ChangeNoop {
			return true
		}
	}
	return false
}

func (a *app) fmtCmd() *cobra.Command {
	var c common
	var check bool
	cmd := &cobra.Command{
		Use:   "fmt [FILE...]",
		Short: "Rewrite .cw and .cwvars files in the canonical layout",
		Long:  "Format every *.cw and *.cwvars in the directory (or the files given).\nWith --check, change nothing: list the files that need formatting and exit 3 if any.",
		RunE: func(cmd *cobra.Command, args []string) error {
			files := args
			if len(files) == 0 {
				for _, pat := range []string{"*.cw", "*.cwvars"} {
					m, _ := filepath.Glob(filepath.Join(c.chdir, pat))
					files = append(files, m...)
				}
				sort.Strings(files)
			}
			var diags hcl.Diagnostics
			parsed := map[string]*hcl.File{}
			var unformatted []string
			for _, f := range files {
				src, err := os.ReadFile(f)
				if err != nil {
					return exit(1, err)
				}
				file, d := hclsyntax.ParseConfig(src, f, hcl.InitialPos)
				parsed[f] = file
				if d.HasErrors() {
					diags = append(diags, d...)
					continue
				}
				out := hclwrite.Format(src)
				if bytes.Equal(out, src) {
					continue
				}
				unformatted = append(unformatted, f)
				if !check {
					if err := writeFilePreservingMode(f, out); err != nil {
						return exit(1, err)
					}
				}
			}
			if diags.HasErrors() {
				view.Diagnostics(a.stdio.Err, parsed, diags, a.color(&c), 0)
				return exit(1, nil)
			}
			for _, f := range unformatted {
				fmt.Fprintln(a.stdio.Out, f)
			}
			if check && len(unformatted) > 0 {
				return exit(3, nil)
			}
			return nil
		},
	}
	c.addChdir(cmd)
	cmd.Flags().BoolVar(&check, "check", false, "only check; exit 3 when a file is not formatted")
	return cmd
}

func writeFilePreservingMode(path string, data []byte) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp := path + ".cwfmt.tmp"
	if err := os.WriteFile(tmp, data, fi.Mode().Perm()); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func (a *app) graphCmd() *cobra.Command {
	var c common
	var format string
	cmd := &cobra.Command{
		Use:   "graph",
		Short: "Print the resource dependency graph (dot or mermaid)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := a.options(&c)
			if err != nil {
				return exit(1, err)
			}
			o.Offline = true
			res, diags := pipeline.Load(cmd.Context(), o, true, nil)
			var files map[string]*hcl.File
			if res != nil {
				files = res.Files
			}
			if diags.HasErrors() {
				view.Diagnostics(a.stdio.Err, files, diags, a.color(&c), 0)
				return exit(1, nil)
			}
			g, gd := assembly.NewGraph(res.Config)
			if gd.HasErrors() {
				view.Diagnostics(a.stdio.Err, files, gd, a.color(&c), 0)
				return exit(1, nil)
			}
			var out string
			switch format {
			case "dot":
				out = g.DOT()
			case "mermaid":
				out = g.Mermaid()
			default:
				return exit(1, fmt.Errorf("unknown graph format %q (use dot or mermaid)", format))
			}
			if !strings.HasSuffix(out, "\n") {
				out += "\n"
			}
			fmt.Fprint(a.stdio.Out, out)
			return nil
		},
	}
	c.addChdir(cmd)
	c.addVars(cmd)
	cmd.Flags().StringVar(&format, "format", "dot", "dot or mermaid")
	return cmd
}

func (a *app) schemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema [actionlist|bundle|state|resource TYPE]",
		Short: "Print an embedded JSON Schema",
		Long: "Print the JSON Schema of a data contract (actionlist, bundle, state) or of a resource type\n" +
			"(for editors). Without arguments, list what is available.",
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				fmt.Fprintln(a.stdio.Out, "contracts: "+strings.Join(contract.SchemaNames, ", "))
				fmt.Fprintln(a.stdio.Out, "resources: "+strings.Join(schema.Types(), ", "))
				return nil
			}
			if args[0] == "resource" {
				if len(args) != 2 {
					return exit(1, fmt.Errorf("usage: clockwork schema resource TYPE (types: %s)", strings.Join(schema.Types(), ", ")))
				}
				r, ok := schema.Lookup(args[1])
				if !ok {
					return exit(1, fmt.Errorf("unknown resource type %q (types: %s)", args[1], strings.Join(schema.Types(), ", ")))
				}
				b, err := r.JSONSchema()
				if err != nil {
					return exit(1, err)
				}
				a.stdio.Out.Write(b)
				if len(b) > 0 && b[len(b)-1] != '\n' {
					fmt.Fprintln(a.stdio.Out)
				}
				return nil
			}
			if len(args) != 1 {
				return exit(1, fmt.Errorf("unexpected argument %q", args[1]))
			}
			b, err := contract.Schema(args[0])
			if err != nil {
				return exit(1, err)
			}
			a.stdio.Out.Write(b)
			return nil
		},
	}
}

func (a *app) factsCmd() *cobra.Command {
	var c common
	cmd := &cobra.Command{
		Use:   "facts",
		Short: "Print EnvFacts: OS, architecture, runtimes and the container engine",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := facts.Gather(cmd.Context(), a.stdio.Environ)
			if c.json {
				b, err := f.JSON()
				if err != nil {
					return exit(1, err)
				}
				a.stdio.Out.Write(b)
				return nil
			}
			facts.Human(a.stdio.Out, f)
			return nil
		},
	}
	c.addJSON(cmd)
	return cmd
}

func (a *app) stateCmd() *cobra.Command {
	var c common
	cmd := &cobra.Command{
		Use:   "state",
		Short: "Inspect recorded state",
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List resources in state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := state.Open(filepath.Join(c.chdir, ".clockwork")).Load()
			if err != nil {
				return exit(1, err)
			}
			if st == nil {
				if c.json {
					fmt.Fprintln(a.stdio.Out, "[]")
				}
				return nil
			}
			if c.json {
				type row struct {
					Address string `json:"address"`
					Status  string `json:"status"`
				}
				rows := []row{}
				for _, r := range st.Resources {
					rows = append(rows, row{r.Address, r.Status})
				}
				b, _ := contract.Marshal(rows)
				a.stdio.Out.Write(b)
				return nil
			}
			for _, r := range st.Resources {
				if r.Status == contract.StatusApplied {
					fmt.Fprintln(a.stdio.Out, r.Address)
				} else {
					fmt.Fprintf(a.stdio.Out, "%s (%s)\n", r.Address, r.Status)
				}
			}
			return nil
		},
	}
	show := &cobra.Command{
		Use:   "show ADDR",
		Short: "Show one resource's recorded state as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := state.Open(filepath.Join(c.chdir, ".clockwork")).Load()
			if err != nil {
				return exit(1, err)
			}
			var r *contract.ResourceState
			if st != nil {
				r = st.Resource(args[0])
			}
			if r == nil {
				return exit(1, fmt.Errorf("no resource %q in state", args[0]))
			}
			b, err := contract.Marshal(r)
			if err != nil {
				return exit(1, err)
			}
			a.stdio.Out.Write(b)
			return nil
		},
	}
	for _, sc := range []*cobra.Command{list, show} {
		c.addChdir(sc)
	}
	c.addJSON(list)
	cmd.AddCommand(list, show)
	return cmd
}

func (a *app) forceUnlockCmd() *cobra.Command {
	var c common
	cmd := &cobra.Command{
		Use:   "force-unlock LOCK_ID",
		Short: "Break a stale state lock (only when its holder is gone)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := state.Open(filepath.Join(c.chdir, ".clockwork")).ForceUnlock(args[0]); err != nil {
				return exit(1, err)
			}
			fmt.Fprintln(a.stdio.Out, "Lock released.")
			return nil
		},
	}
	c.addChdir(cmd)
	return cmd
}

func (a *app) initCmd() *cobra.Command {
	var c common
	var upgrade bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Start a configuration here, or resolve and pin its modules",
		Long: "In a directory without .cw files, write a starter main.cw.\n" +
			"Otherwise resolve the modules (local and git) into .clockwork/modules and pin git modules in\n" +
			"clockwork.lock; with --upgrade, re-resolve pins whose source or version changed.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, _ := filepath.Glob(filepath.Join(c.chdir, "*.cw"))
			if len(m) == 0 {
				if err := os.MkdirAll(c.chdir, 0o755); err != nil {
					return exit(1, err)
				}
				p := filepath.Join(c.chdir, "main.cw")
				if err := os.WriteFile(p, []byte(starterConfig), 0o644); err != nil {
					return exit(1, err)
				}
				fmt.Fprintf(a.stdio.Out, "Wrote %s. Next: clockwork plan, then clockwork apply.\n", p)
				return nil
			}
			o := intake.Options{Dir: c.chdir, Environ: a.stdio.Environ}
			if upgrade {
				if diags := intake.UpdateLock(cmd.Context(), o); diags.HasErrors() {
					view.Diagnostics(a.stdio.Err, nil, diags, a.color(&c), 0)
					return exit(1, nil)
				}
			}
			res, diags := intake.Load(cmd.Context(), intake.Options{Dir: c.chdir, Environ: a.stdio.Environ, Validate: true})
			if diags.HasErrors() {
				var files map[string]*hcl.File
				if res != nil {
					files = res.Files
				}
				view.Diagnostics(a.stdio.Err, files, diags, a.color(&c), 0)
				return exit(1, nil)
			}
			n := 0
			if res.Config != nil {
				n = len(res.Config.Modules)
			}
			fmt.Fprintf(a.stdio.Out, "Initialized: %d module(s) resolved.\n", n)
			return nil
		},
	}
	c.addChdir(cmd)
	cmd.Flags().BoolVar(&upgrade, "upgrade", false, "re-resolve module pins")
	return cmd
}

const starterConfig = `# A Clockwork configuration. Run: clockwork plan, then clockwork apply.

variable "greeting" {
  type    = string
  default = "Hello from Clockwork!"
}

resource "directory" "site" {
  path = "site"
}

resource "file" "index" {
  path       = "site/index.html"
  content    = "<h1>${var.greeting}</h1>\n"
  depends_on = [directory.site]
}

resource "check" "index_exists" {
  type       = "file_exists"
  path       = file.index.path
}
`
