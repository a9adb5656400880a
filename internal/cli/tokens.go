package cli

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"tourd/internal/sqlite"
	"tourd/internal/userdata"
)

// tokenJSON is an entry of tokens list --json.
type tokenJSON struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	ProjectID    string   `json:"projectId"`
	Prefix       string   `json:"prefix"`
	Scopes       []string `json:"scopes"`
	Environments []string `json:"environments"` // null: every environment
	CreatedAt    string   `json:"createdAt"`
	ExpiresAt    *string  `json:"expiresAt"`
	LastUsedAt   *string  `json:"lastUsedAt"`
	RevokedAt    *string  `json:"revokedAt"`
}

func newTokenJSON(t *userdata.Token) tokenJSON {
	out := tokenJSON{ID: t.ID, Name: t.Name, ProjectID: t.ProjectID, Prefix: t.Prefix, Environments: t.Environments,
		CreatedAt: userdata.FormatTime(t.CreatedAt), ExpiresAt: userdata.FormatOptionalTime(t.ExpiresAt),
		LastUsedAt: userdata.FormatOptionalTime(t.LastUsedAt), RevokedAt: userdata.FormatOptionalTime(t.RevokedAt)}
	for _, c := range t.Scopes {
		out.Scopes = append(out.Scopes, string(c))
	}
	return out
}

func runTokens(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	sub, err := subcommand("tokens", args, stdout)
	if sub == "" {
		return err
	}
	fs := flag.NewFlagSet("tokens "+sub, flag.ContinueOnError)
	var c common
	c.register(fs, getenv)
	var create tokenFlags
	var project *string
	var asJSON *bool
	switch sub {
	case "create":
		create.register(fs)
	case "list":
		project = fs.String("project", "", "list only the tokens of the project with this id")
		asJSON = fs.Bool("json", false, "print JSON")
	}
	pos, err := parse(fs, args[1:], stdout)
	if err != nil {
		return err
	}
	var in userdata.TokenInput
	if sub == "create" {
		if in, err = create.input(time.Now()); err != nil {
			return err
		}
	}
	store, err := c.open(ctx, stderr, sqlite.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	switch sub {
	case "create":
		return createToken(ctx, store, in, create.token, stdout)
	case "list":
		return listTokens(ctx, store, *project, *asJSON, stdout)
	}
	target := pos[0]
	if strings.HasPrefix(target, userdata.TokenPrefix) {
		target = userdata.HashKey(target)
	}
	if err := store.RevokeToken(ctx, target); err != nil {
		if userdata.IsNotFound(err, userdata.ResourceToken) {
			return errors.New("tokens revoke: no such token")
		}
		return failed("tokens revoke", err)
	}
	fmt.Fprintln(stdout, "revoked")
	return nil
}

// tokenFlags are the flags of tokens create.
type tokenFlags struct {
	project, scopes, environments, name, expiresIn string
	token                                          string // the new token, made by input
}

func (f *tokenFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.project, "project", "", "the id of the token's project (required)")
	fs.StringVar(&f.scopes, "scopes", "", "comma-separated capabilities, such as user:read,user:write, or all (required)")
	fs.StringVar(&f.environments, "environments", "", "comma-separated ids of the project's environments the token may act on; required by scopes that act on an environment's data, ignored otherwise")
	fs.StringVar(&f.name, "name", "", "a name for the token, to tell it apart in listings")
	fs.StringVar(&f.expiresIn, "expires-in", "", "how long the token lasts: a Go duration (720h) or days (30d); default: it never expires")
}

// input checks the flags and returns the token they describe, made at now,
// keeping the token itself in f.token. A mistake is a usageError.
func (f *tokenFlags) input(now time.Time) (userdata.TokenInput, error) {
	var in userdata.TokenInput
	if f.project == "" {
		return in, usagef("tokens create: --project is required")
	}
	if f.scopes == "" {
		return in, usagef("tokens create: --scopes is required: all, or capabilities such as user:read,user:write")
	}
	scopes, err := userdata.ParseScopes(f.scopes)
	if err != nil {
		return in, usagef("tokens create: --scopes: %s", message(err))
	}
	in = userdata.TokenInput{ProjectID: f.project, Name: f.name, Scopes: scopes}
	if envScopes := userdata.EnvTargetedScopes(scopes); len(envScopes) > 0 {
		for _, id := range strings.Split(f.environments, ",") {
			if id = strings.TrimSpace(id); id != "" && !slices.Contains(in.Environments, id) {
				in.Environments = append(in.Environments, id)
			}
		}
		if len(in.Environments) == 0 {
			names := make([]string, len(envScopes))
			for i, c := range envScopes {
				names[i] = string(c)
			}
			return in, usagef("tokens create: --environments is required: scopes %s act on an environment's data", strings.Join(names, ", "))
		}
	}
	if f.name != "" {
		if err := checkName("tokens create", "--name", "token", f.name); err != nil {
			return in, err
		}
	}
	if f.expiresIn != "" {
		d, err := userdata.ParseExpiresIn(f.expiresIn)
		if err != nil {
			return in, usagef("tokens create: %s", message(err))
		}
		at := now.Add(d)
		in.ExpiresAt = &at
	}
	f.token, in.Hash, in.Prefix = userdata.NewToken()
	return in, nil
}

func createToken(ctx context.Context, store userdata.Store, in userdata.TokenInput, token string, stdout io.Writer) error {
	t, err := store.CreateToken(ctx, in)
	if userdata.IsNotFound(err, userdata.ResourceProject) {
		return fmt.Errorf("tokens create: no project %s", in.ProjectID)
	}
	if err != nil {
		return failed("tokens create", err)
	}
	expires := "never expires"
	if t.ExpiresAt != nil {
		expires = "expires at " + userdata.FormatTime(*t.ExpiresAt)
	}
	fmt.Fprintf(stdout, "created token %s of project %s (scopes %s; environments %s; %s); it is shown only once:\n%s\n",
		t.ID, t.ProjectID, scopeList(t.Scopes), environmentList(t.Environments), expires, token)
	return nil
}

func listTokens(ctx context.Context, store userdata.Store, project string, asJSON bool, stdout io.Writer) error {
	tokens, err := store.ListTokens(ctx, project)
	if userdata.IsNotFound(err, userdata.ResourceProject) {
		return fmt.Errorf("tokens list: no project %s", project)
	}
	if err != nil {
		return failed("tokens list", err)
	}
	if asJSON {
		out := []tokenJSON{}
		for _, t := range tokens {
			out = append(out, newTokenJSON(t))
		}
		return printJSON(stdout, out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tPROJECT\tSCOPES\tENVIRONMENTS\tCREATED\tEXPIRES\tLAST USED\tREVOKED")
	for _, t := range tokens {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, cmp.Or(t.Name, "-"), t.ProjectID, scopeList(t.Scopes), environmentList(t.Environments),
			userdata.FormatTime(t.CreatedAt), optionalTime(t.ExpiresAt, "never"), optionalTime(t.LastUsedAt, "never"), optionalTime(t.RevokedAt, "-"))
	}
	return tw.Flush()
}

// scopeList shows scopes as given to --scopes: all, or the capabilities.
func scopeList(scopes []userdata.Capability) string {
	if slices.Equal(scopes, userdata.Capabilities) {
		return userdata.ScopeAll
	}
	s := make([]string, len(scopes))
	for i, c := range scopes {
		s[i] = string(c)
	}
	return strings.Join(s, ",")
}

// environmentList shows a token's environments: all, or their ids.
func environmentList(envs []string) string {
	if envs == nil {
		return "all"
	}
	return strings.Join(envs, ",")
}

func optionalTime(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return userdata.FormatTime(*t)
}
