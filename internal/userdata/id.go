package userdata

import (
	"math/rand/v2"
	"sync/atomic"
	"time"
)

var idCounter atomic.Uint32

const base36 = "0123456789abcdefghijklmnopqrstuvwxyz"

// NewID returns a new internal row id: 25 lowercase characters, "c", then
// the time in milliseconds, a process counter and random characters
// (cuid-like). Ids made later by one process sort after earlier ones.
func NewID() string {
	var b [25]byte
	b[0] = 'c'
	putBase36(b[1:9], uint64(time.Now().UnixMilli()))
	putBase36(b[9:13], uint64(idCounter.Add(1)))
	putBase36(b[13:25], rand.Uint64())
	return string(b[:])
}

// putBase36 writes the low digits of v in base 36 into dst, left-padded
// with zeros.
func putBase36(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = base36[v%36]
		v /= 36
	}
}
