package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"tourd/internal/sqlite"
	"tourd/internal/userdata"
)

func runKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("keys: missing subcommand: want one of %s", strings.Join(names("keys "), ", "))
	}
	sub := args[0]
	if sub == "-h" || sub == "--help" {
		fmt.Fprintln(stdout, "usage: tourd keys <subcommand> [flags] [arguments]\n\nsubcommands:")
		writeCommands(stdout, "keys ")
		fmt.Fprintln(stdout, "\nRun 'tourd keys <subcommand> --help' for a subcommand's flags.")
		return nil
	}
	if !slices.Contains(names("keys "), sub) {
		return usagef("keys: unknown subcommand %q: want one of %s", sub, strings.Join(names("keys "), ", "))
	}
	fs := flag.NewFlagSet("keys "+sub, flag.ContinueOnError)
	var c common
	c.register(fs, getenv)
	var project, environment *string
	if sub == "create" {
		project = fs.String("project", "default", "project name; created if missing")
		environment = fs.String("environment", "production", "environment name; created if missing")
	}
	pos, err := parse(fs, args[1:], stdout)
	if err != nil {
		return err
	}
	if sub == "create" && (strings.TrimSpace(*project) == "" || strings.TrimSpace(*environment) == "") {
		return usagef("keys create: --project and --environment must not be empty")
	}
	log, err := c.logger(stderr)
	if err != nil {
		return err
	}
	store, err := c.openStore(ctx, log, sqlite.Options{Create: sub == "create"})
	if err != nil {
		return err
	}
	defer store.Close()
	switch sub {
	case "create":
		key, hash, prefix := userdata.NewKey()
		k, err := store.CreateKey(ctx, *project, *environment, hash, prefix)
		if err != nil {
			return fmt.Errorf("keys create: %w", err)
		}
		fmt.Fprintf(stdout, "created key %s for project %q, environment %q; it is shown only once:\n%s\n", k.ID, k.Project, k.Environment, key)
	case "list":
		keys, err := store.ListKeys(ctx)
		if err != nil {
			return fmt.Errorf("keys list: %w", err)
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
			return fmt.Errorf("keys revoke: %w", err)
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
	log, err := c.logger(stderr)
	if err != nil {
		return err
	}
	store, err := c.openStore(ctx, log, sqlite.Options{}) // opening applies pending migrations
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "database is up to date")
	return store.Close()
}
