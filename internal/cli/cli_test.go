package cli

import "testing"

func TestRedact(t *testing.T) {
	const hidden = "(not shown: not a URL, and it may hold a password)"
	for in, want := range map[string]string{
		"postgres://tourd:s3cret@db:5432/tourd?sslmode=disable": "postgres://tourd:xxxxx@db:5432/tourd?sslmode=disable",
		"postgres://db/tourd?password=s3cret&sslmode=disable":   "postgres://db/tourd?password=xxxxx&sslmode=disable",
		"postgres://tourd@db/tourd":                             "postgres://tourd@db/tourd",
		"sqlite:tourd.db":                                       "sqlite:tourd.db",
		"sqlite:///var/lib/tourd/tourd.db":                      "sqlite:///var/lib/tourd/tourd.db",
		"postgres://tourd:SEC#RETPW@db:5432/tourd":              hidden,
		"host=db user=tourd password=s3cret dbname=tourd":       hidden,
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}
