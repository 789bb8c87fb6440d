package cli

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/insitu-cloud/insitu/internal/instances"
)

// newIMDSRelayCmd is the hidden command QEMU's slirp runs for each guest
// connection to the instance metadata address: it copies stdin to the
// instance's metadata socket and the answers to stdout.
func newIMDSRelayCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "imds-relay SOCKET",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return instances.Relay(cmd.Context(), args[0], os.Stdin, os.Stdout)
		},
	}
}
