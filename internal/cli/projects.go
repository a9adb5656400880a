package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"tourd/internal/sqlite"
	"tourd/internal/userdata"
)

// projectJSON and environmentJSON are the --json output of the projects
// and environments commands (v2-cli.md).
type projectJSON struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Environments []environmentJSON `json:"environments"`
}

type environmentJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	IsPrimary bool   `json:"isPrimary"`
}

func newProjectJSON(p *userdata.Project) projectJSON {
	out := projectJSON{ID: p.ID, Name: p.Name, Environments: []environmentJSON{}}
	for _, e := range p.Environments {
		out.Environments = append(out.Environments, newEnvironmentJSON(e))
	}
	return out
}

func newEnvironmentJSON(e *userdata.Environment) environmentJSON {
	return environmentJSON{ID: e.ID, Name: e.Name, IsPrimary: e.IsPrimary}
}

// printJSON writes v as one line of JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// checkName returns a usageError unless the value of the flag (--name) of
// the command cmd is given and a usable name of a what (userdata.CheckName).
func checkName(cmd, flag, what, name string) error {
	if name == "" {
		return usagef("%s: %s is required", cmd, flag)
	}
	if err := userdata.CheckName(what, name); err != nil {
		return usagef("%s: %s: %s", cmd, flag, message(err))
	}
	return nil
}

func runProjects(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	sub, err := subcommand("projects", args, stdout)
	if sub == "" {
		return err
	}
	fs := flag.NewFlagSet("projects "+sub, flag.ContinueOnError)
	var c common
	c.register(fs, getenv)
	asJSON := fs.Bool("json", false, "print JSON")
	var name *string
	if sub == "create" {
		name = fs.String("name", "", "the project's name (required; need not be unique)")
	}
	if _, err := parse(fs, args[1:], stdout); err != nil {
		return err
	}
	if sub == "create" {
		if err := checkName("projects create", "--name", "project", *name); err != nil {
			return err
		}
	}
	store, err := c.open(ctx, stderr, sqlite.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	if sub == "create" {
		p, err := store.CreateProject(ctx, *name)
		if err != nil {
			return failed("projects create", err)
		}
		if *asJSON {
			return printJSON(stdout, newProjectJSON(p))
		}
		env := p.Environments[0]
		fmt.Fprintf(stdout, "created project %q with its primary environment %q (%s); the project's id:\n%s\n", p.Name, env.Name, env.ID, p.ID)
		return nil
	}
	projects, err := store.ListProjects(ctx)
	if err != nil {
		return failed("projects list", err)
	}
	if *asJSON {
		out := []projectJSON{}
		for _, p := range projects {
			out = append(out, newProjectJSON(p))
		}
		return printJSON(stdout, out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROJECT ID\tPROJECT\tENVIRONMENT ID\tENVIRONMENT\tPRIMARY")
	for _, p := range projects {
		for _, e := range p.Environments {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\n", p.ID, p.Name, e.ID, e.Name, e.IsPrimary)
		}
	}
	return tw.Flush()
}

func runEnvironments(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	sub, err := subcommand("environments", args, stdout)
	if sub == "" {
		return err
	}
	fs := flag.NewFlagSet("environments "+sub, flag.ContinueOnError)
	var c common
	c.register(fs, getenv)
	asJSON := fs.Bool("json", false, "print JSON")
	project := fs.String("project", "", "the id of the project (required)")
	name := fs.String("name", "", "the environment's name (required; need not be unique)")
	if _, err := parse(fs, args[1:], stdout); err != nil {
		return err
	}
	if *project == "" {
		return usagef("environments create: --project is required")
	}
	if err := checkName("environments create", "--name", "environment", *name); err != nil {
		return err
	}
	store, err := c.open(ctx, stderr, sqlite.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	e, err := store.CreateEnvironment(ctx, *project, *name)
	if userdata.IsNotFound(err, userdata.ResourceProject) {
		return fmt.Errorf("environments create: no project %s", *project)
	}
	if err != nil {
		return failed("environments create", err)
	}
	if *asJSON {
		return printJSON(stdout, newEnvironmentJSON(e))
	}
	fmt.Fprintf(stdout, "created environment %q of project %s; its id:\n%s\n", e.Name, e.ProjectID, e.ID)
	return nil
}
