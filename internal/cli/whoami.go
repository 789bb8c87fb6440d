package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
)

// newWhoamiCmd builds "whoami [--json]": the account the keys belong to.
func newWhoamiCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: "Show the account the configured keys belong to",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			id, err := c.WhoAmI(cmd.Context())
			if err != nil {
				return fmt.Errorf("whoami: %w", err)
			}
			if asJSON {
				return json.NewEncoder(g.streams.Out).Encode(id)
			}
			suffix := ""
			if id.Root {
				suffix = " (root)"
			}
			_, err = fmt.Fprintf(g.streams.Out, "%s%s\n", id.Account, suffix)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
