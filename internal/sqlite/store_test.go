package sqlite_test

import (
	"testing"

	"tourd/internal/backendtest"
	"tourd/internal/userdata/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, backendtest.SQLite.Open)
}

// Two stores on one file stand for two processes sharing it.
func TestSharedStore(t *testing.T) {
	storetest.RunShared(t, backendtest.SQLite.OpenPair)
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, backendtest.SQLite.Open)
}
