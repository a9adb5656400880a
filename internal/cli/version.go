package cli

import (
	"flag"
	"fmt"
	"io"

	"tourd/internal/buildinfo"
)

// runVersion prints which build of tourd this is.
func runVersion(args []string, stdout io.Writer) error {
	if _, err := parse(flag.NewFlagSet("version", flag.ContinueOnError), args, stdout); err != nil {
		return err
	}
	b := buildinfo.Read()
	revision := b.Revision
	if b.Modified {
		revision += " (with uncommitted changes)"
	}
	fmt.Fprintf(stdout, "tourd %s\ngo: %s\nrevision: %s\n", b.Version, b.GoVersion, revision)
	return nil
}
