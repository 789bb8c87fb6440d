package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// newClusterCmd builds "cluster status|drain|undrain".
func newClusterCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "Show and manage the cluster's nodes"}
	var asJSON bool
	status := &cobra.Command{
		Use:   "status",
		Short: "Show the nodes (zone, state, capacity and use), replicas, under-replicated objects and etcd members",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			st, err := c.ClusterStatus(cmd.Context())
			if err != nil {
				return fmt.Errorf("cluster status: %w", err)
			}
			if asJSON {
				return json.NewEncoder(g.streams.Out).Encode(st)
			}
			tw := tabwriter.NewWriter(g.streams.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tZONE\tSTATE\tENDPOINT\tSLOTS\tMEMORY\tDISK\tOBJECTS")
			for _, n := range st.Nodes {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%s/%s\t%s/%s\t%d\n", n.Name, n.Zone, n.State, n.Endpoint,
					n.Usage.SlotsUsed, n.Usage.Slots, humanBytes(n.Usage.MemoryUsed), humanBytes(n.Usage.Memory),
					humanBytes(n.Usage.DiskUsed), humanBytes(n.Usage.Disk), n.Repair.Objects)
			}
			tw.Flush()
			fmt.Fprintf(g.streams.Out, "replicas: %d  under_replicated: %d\netcd members:", st.Replicas, st.UnderReplicated)
			for _, m := range st.Etcd {
				lead := ""
				if m.Leader {
					lead = " (leader)"
				}
				fmt.Fprintf(g.streams.Out, " %s%s", m.Name, lead)
			}
			_, err = fmt.Fprintln(g.streams.Out)
			return err
		},
	}
	status.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	drain := func(use, short string, on bool) *cobra.Command {
		return &cobra.Command{
			Use:   use + " NODE",
			Short: short,
			Args:  exactArgs(1, "NODE"),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := g.api(cmd)
				if err != nil {
					return err
				}
				if err := c.DrainNode(cmd.Context(), args[0], on); err != nil {
					return fmt.Errorf("cluster %s: %w", use, err)
				}
				return nil
			},
		}
	}
	cmd.AddCommand(status,
		drain("drain", "Move data and work off a node before it leaves (root)", true),
		drain("undrain", "Let placement choose a drained node again (root)", false))
	return cmd
}
