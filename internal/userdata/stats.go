package userdata

import "time"

// PoolStats describes a store's connection pool, for /metrics.
type PoolStats struct {
	MaxOpen      int           // the most connections the pool opens
	Open         int           // connections open now
	InUse        int           // connections in use now
	Idle         int           // connections idle now
	WaitCount    int64         // times a caller waited for a connection
	WaitDuration time.Duration // total time callers waited
}
