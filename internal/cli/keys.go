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
	if len(args) == 0 {
		return errors.New("keys: want create, list or revoke")
	}
	fs := flag.NewFlagSet("keys "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs, getenv)
	project := fs.String("project", "default", "project name (create)")
	environment := fs.String("environment", "production", "environment name (create)")
	sub := args[0]
	if sub != "create" && sub != "list" && sub != "revoke" {
		return fmt.Errorf("keys: unknown subcommand %q: want create, list or revoke", sub)
	}
	if help, err := parse(fs, args[1:]); help || err != nil {
		return err
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
		if strings.TrimSpace(*project) == "" || strings.TrimSpace(*environment) == "" {
			return errors.New("keys create: --project and --environment must not be empty")
		}
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
		if fs.NArg() != 1 {
			return errors.New("keys revoke: want exactly one key or key id")
		}
		arg := fs.Arg(0)
		target := arg
		if strings.HasPrefix(arg, userdata.KeyPrefix) {
			target = userdata.HashKey(userdata.TokenFromKey(arg))
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
	fs.SetOutput(stderr)
	var c common
	c.register(fs, getenv)
	if help, err := parse(fs, args); help || err != nil {
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
