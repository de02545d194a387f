package cli

import "github.com/spf13/cobra"

// addDaemonCmds adds daemon, approve, reject and events.
func (a *app) addDaemonCmds(root *cobra.Command) {}
