package cli

import (
	"github.com/spf13/cobra"

	"github.com/clockwork-iac/clockwork/internal/container"
	"github.com/clockwork-iac/clockwork/internal/sandbox"
)

func (a *app) stepCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "step",
		Short: "Helpers that generated scripts call (stable interface)",
	}
	docker := &cobra.Command{
		Use:                "docker OP [flags]",
		Short:              "Talk to the Docker/Podman Engine API: build-image, ensure-service, remove-service, ensure-network, ...",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			code := container.StepMain(cmd.Context(), args, a.stdio.Out, a.stdio.Err, a.stdio.Environ)
			if code != 0 {
				return exit(code, nil)
			}
			return nil
		},
	}
	cmd.AddCommand(docker)
	// The executor runs a confined step as
	// `clockwork step sandbox --write P... -- CMD ARGS...`: Landlock, then
	// exec of CMD (internal/sandbox). It returns only when CMD did not start.
	sb := &cobra.Command{
		Use:                "sandbox [--write PATH]... [--tmpdir DIR] [--require] -- CMD ARGS...",
		Short:              "Run CMD able to write only beneath the --write paths (Landlock)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return exit(sandbox.Main(args, a.stdio.Err, a.stdio.Environ), nil)
		},
	}
	cmd.AddCommand(sb)
	return cmd
}
