//go:build !unix

package httpapi

// fdLimit reports no limit on open file descriptors: there is none to read
// portably here.
func fdLimit() (uint64, bool) { return 0, false }

// cpuSeconds reports no CPU time: there is none to read portably here.
func cpuSeconds() (float64, bool) { return 0, false }
