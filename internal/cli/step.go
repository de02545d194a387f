package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/clockwork-iac/clockwork/internal/container"
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
	_ = fmt.Sprint
	return cmd
}
