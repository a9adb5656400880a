package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"tourd/internal/sqlite"
	"tourd/internal/userdata"
)

func runKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	sub, err := subcommand("keys", args, stdout)
	if sub == "" {
		return err
	}
	fs := flag.NewFlagSet("keys "+sub, flag.ContinueOnError)
	var c common
	c.register(fs, getenv)
	var project, environment *string
	if sub == "create" {
		project = fs.String("project", "default", "project id or name; created if no name matches")
		environment = fs.String("environment", "production", "environment id or name; created if no name matches")
	}
	pos, err := parse(fs, args[1:], stdout)
	if err != nil {
		return err
	}
	if sub == "create" && (strings.TrimSpace(*project) == "" || strings.TrimSpace(*environment) == "") {
		return usagef("keys create: --project and --environment must not be empty")
	}
	store, err := c.open(ctx, stderr, sqlite.Options{Create: sub == "create"})
	if err != nil {
		return err
	}
	defer store.Close()
	switch sub {
	case "create":
		key, hash, prefix := userdata.NewKey()
		k, err := store.CreateKey(ctx, *project, *environment, hash, prefix)
		if err != nil {
			return failed("keys create", err)
		}
		fmt.Fprintf(stdout, "created key %s for project %q (%s), environment %q (%s); it is shown only once:\n%s\n",
			k.ID, k.Project, k.ProjectID, k.Environment, k.EnvironmentID, key)
	case "list":
		keys, err := store.ListKeys(ctx)
		if err != nil {
			return failed("keys list", err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPROJECT\tENVIRONMENT\tCREATED\tACTIVE\tPREFIX")
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\t%s…\n", k.ID, k.Project, k.Environment, userdata.FormatTime(k.CreatedAt), k.Active, k.Prefix)
		}
		return tw.Flush()
	case "revoke":
		target := pos[0]
		if strings.HasPrefix(target, userdata.KeyPrefix) {
			target = userdata.HashKey(userdata.TokenFromKey(target))
		}
		if err := store.RevokeKey(ctx, target); err != nil {
			if userdata.IsNotFound(err, userdata.ResourceKey) {
				return errors.New("keys revoke: no such key")
			}
			return failed("keys revoke", err)
		}
		fmt.Fprintln(stdout, "revoked")
	}
	return nil
}

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	var c common
	c.register(fs, getenv)
	if _, err := parse(fs, args, stdout); err != nil {
		return err
	}
	// Opening applies pending migrations; migrate also creates a missing
	// SQLite database (v2-cli.md), saying where.
	store, err := c.open(ctx, stderr, sqlite.Options{Create: true})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "database is up to date")
	return store.Close()
}
