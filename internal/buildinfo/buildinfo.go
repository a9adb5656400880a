// Package buildinfo tells which build of tourd is running: its version, the
// Go toolchain that built it and the VCS revision it was built from.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"sync"
)

// version is the release version, set when linking:
//
//	go build -ldflags "-X tourd/internal/buildinfo.version=1.2.0" ./cmd/tourd
var version string

// Info describes one build of tourd.
type Info struct {
	// Version is the version set when linking; else the module version go
	// build stamped from the VCS (a pseudo-version such as
	// v0.0.0-20260102150405-abcdef123456); else "devel".
	Version string
	// GoVersion is the Go toolchain that built the binary, e.g. go1.26.8.
	GoVersion string
	// Revision is the VCS commit the binary was built from, or "unknown"
	// when the build was not stamped (go build -buildvcs=false, a build
	// outside a repository, go run).
	Revision string
	// Modified reports uncommitted changes in the work tree at build time.
	Modified bool
}

// Read returns the build information of the running binary.
func Read() Info { return read() }

var read = sync.OnceValue(func() Info {
	info := Info{Version: version, GoVersion: runtime.Version(), Revision: "unknown"}
	bi, ok := debug.ReadBuildInfo()
	if ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Revision = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
	}
	if info.Version == "" && ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		info.Version = bi.Main.Version
	}
	if info.Version == "" {
		info.Version = "devel"
	}
	return info
})
