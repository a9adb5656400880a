package sqlite_test

import (
	"testing"

	"tourd/internal/backendtest"
	"tourd/internal/userdata/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, backendtest.SQLite.Open)
}
