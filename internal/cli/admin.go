package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/insitu-cloud/insitu/internal/client"
)

// newAdminCmd builds the "admin" group (root account only).
func newAdminCmd(g *globals) *cobra.Command {
	admin := &cobra.Command{
		Use:   "admin",
		Short: "Administer the cloud (root account only)",
	}
	user := &cobra.Command{
		Use:   "user",
		Short: "Manage accounts and their access keys",
	}
	user.AddCommand(newUserAddCmd(g), newUserLsCmd(g), newUserRmCmd(g), newUserRotateCmd(g), newUserCapsCmd(g))
	admin.AddCommand(user)
	return admin
}

func newUserAddCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "add NAME",
		Short: "Create an account and print its access key and secret key",
		Long: `Create an account and print its first key pair. The secret key is shown
only once. --json prints {"name","access_key","secret_key","created"}.`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			k, err := c.CreateUser(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("admin user add %s: %w", args[0], err)
			}
			return printKey(g.streams.Out, k, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newUserLsCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List accounts",
		Long:  `List accounts. --json prints {"users":[{"name","id","root","access_keys","created"}]}.`,
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			users, err := c.ListUsers(cmd.Context())
			if err != nil {
				return fmt.Errorf("admin user ls: %w", err)
			}
			return printUsers(g.streams.Out, users, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newUserRmCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rm NAME...",
		Short: "Remove accounts and revoke their keys",
		Long: `Remove accounts and revoke their keys. An account that still owns buckets,
apps or services is not removed: the server refuses (code AccountInUse) and
says how many of each it owns; delete them first (rb, app rm, svc rm), the
way S3 refuses to delete a non-empty bucket. Run records and jobs are
history and do not block removal; they stay, unreachable by anyone.

Ownership is recorded by account id, not by name: a later account created
with the same name gets a new id and owns nothing of the removed one's,
even if something slipped past the check.`,
		Args: rangeArgs(1, -1, "NAME..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			for _, name := range args {
				if err := c.DeleteUser(cmd.Context(), name); err != nil {
					return fmt.Errorf("admin user rm %s: %w", name, err)
				}
			}
			return nil
		},
	}
}

func newUserCapsCmd(g *globals) *cobra.Command {
	var memory, timeout, stdout, out string
	cmd := &cobra.Command{
		Use:   "caps NAME",
		Short: "Set an account's ceilings on run limits (no flags: back to the node defaults)",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			caps := map[string]string{}
			for k, v := range map[string]string{"memory": memory, "timeout": timeout, "stdout": stdout, "out": out} {
				if v != "" {
					caps[k] = v
				}
			}
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			if err := c.SetCaps(cmd.Context(), args[0], caps); err != nil {
				return fmt.Errorf("admin user caps %s: %w", args[0], err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&memory, "memory", "", "largest memory a run may have, e.g. 256MiB")
	f.StringVar(&timeout, "timeout", "", "longest a run may last, e.g. 5m")
	f.StringVar(&stdout, "stdout", "", "largest stdout of a run, e.g. 1GiB")
	f.StringVar(&out, "out", "", "largest total of /out files of a run")
	return cmd
}

func newUserRotateCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "rotate NAME",
		Short: "Issue a new key pair for an account and revoke its previous keys",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			k, err := c.RotateKey(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("admin user rotate %s: %w", args[0], err)
			}
			return printKey(g.streams.Out, k, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printKey(out io.Writer, k *client.Key, asJSON bool) error {
	if asJSON {
		return printJSON(out, k)
	}
	_, err := fmt.Fprintf(out, "User:       %s\nAccess Key: %s\nSecret Key: %s\n", k.Name, k.AccessKey, k.SecretKey)
	return err
}

func printUsers(out io.Writer, users []client.User, asJSON bool) error {
	return printList(out, asJSON, "users", users, "NAME\tROOT\tACCESS KEYS\tCREATED", func(u client.User) string {
		keys := strings.Join(u.AccessKeys, ",")
		if keys == "" {
			keys = "-"
		}
		return fmt.Sprintf("%s\t%t\t%s\t%s", u.Name, u.Root, keys, u.Created.UTC().Format(time.RFC3339))
	})
}
