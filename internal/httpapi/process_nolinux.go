//go:build !linux

package httpapi

// residentBytes reports no resident set size: only Linux has /proc.
func residentBytes() (float64, bool) { return 0, false }

// openFDs reports no count of open files: only Linux has /proc.
func openFDs() (float64, bool) { return 0, false }
