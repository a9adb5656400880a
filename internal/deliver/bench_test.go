package deliver_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"tourd/internal/backendtest"
	"tourd/internal/deliver"
	"tourd/internal/userdata"
)

// BenchmarkDeliver measures the deliveries of b.N changes, committed
// before the deliverer starts, to one webhook whose receiver on the
// loopback interface answers 200 at once: the deliverer's pace with a
// backlog, reported as deliveries/s.
func BenchmarkDeliver(b *testing.B) {
	f := newFixture(b, backendtest.SQLite.Open(b))
	var got atomic.Int64
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		got.Add(1)
	}))
	defer rc.Close()
	f.hook(rc.URL, "*")
	var ins []*userdata.UserUpsert
	for i := range b.N {
		ins = append(ins, &userdata.UserUpsert{ExternalID: fmt.Sprintf("u%d", i), Attributes: userdata.Attributes{"name": json.RawMessage(`"x"`)}})
	}
	for i := 0; i < len(ins); i += 500 {
		for _, r := range f.store.ImportUsers(b.Context(), f.tn, ins[i:min(i+500, len(ins))]) {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
	}
	b.ResetTimer()
	start(b, f.store, deliver.Config{})
	t0 := time.Now()
	for got.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "deliveries/s")
}
