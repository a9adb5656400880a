package main

import (
	"strings"
	"testing"
	"time"
)

// wrkClean is wrk 4.1.0 --latency output of a clean run (captured against
// the ceiling server).
const wrkClean = `Running 3s test @ http://127.0.0.1:46047/v1/users
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   665.19us    1.14ms  15.52ms   88.74%
    Req/Sec    26.30k     2.42k   31.98k    75.00%
  Latency Distribution
     50%  238.00us
     75%  554.00us
     90%    2.01ms
     99%    5.24ms
  156991 requests in 3.00s, 58.91MB read
Requests/sec:  52278.94
Transfer/sec:     19.62MB
`

// wrkErrors is wrk 4.1.0 --latency output of a run with error responses
// and socket errors (captured against a server that answered 404 to half
// of the requests and exited during the run).
const wrkErrors = `Running 3s test @ http://127.0.0.1:18999/v1/users
  2 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    95.69us  226.26us   5.04ms   96.03%
    Req/Sec    25.10k     3.71k   31.41k    71.43%
  Latency Distribution
     50%   53.00us
     75%   83.00us
     90%  135.00us
     99%    1.05ms
  69819 requests in 3.10s, 7.97MB read
  Socket errors: connect 0, read 6, write 178890, timeout 0
  Non-2xx or 3xx responses: 17602
Requests/sec:  22525.94
Transfer/sec:      2.57MB
`

// wrkSlow has latencies in seconds and minutes, as wrk prints them for a
// slow server.
const wrkSlow = `Running 10s test @ http://127.0.0.1:8080/v1/users
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.50s   400.00ms   1.02m    70.00%
    Req/Sec     5.00      2.00    10.00     80.00%
  Latency Distribution
     50%    1.25s 
     75%    1.75s 
     90%    2.00s 
     99%    1.02m 
  100 requests in 10.00s, 20.00KB read
  Socket errors: connect 0, read 0, write 0, timeout 12
Requests/sec:      9.99
Transfer/sec:      2.00KB
`

func TestParseWrk(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		want       wrkResult
		wantFailed string
	}{
		{
			name: "clean",
			in:   wrkClean,
			want: wrkResult{
				Requests:  156991,
				ReqPerSec: 52278.94,
				P50:       238 * time.Microsecond,
				P75:       554 * time.Microsecond,
				P90:       2010 * time.Microsecond,
				P99:       5240 * time.Microsecond,
			},
		},
		{
			name: "errors",
			in:   wrkErrors,
			want: wrkResult{
				Requests:     69819,
				ReqPerSec:    22525.94,
				P50:          53 * time.Microsecond,
				P75:          83 * time.Microsecond,
				P90:          135 * time.Microsecond,
				P99:          1050 * time.Microsecond,
				Non2xx:       17602,
				SocketErrors: socketErrors{Read: 6, Write: 178890},
			},
			wantFailed: "17602 non-2xx responses, 178896 socket errors (connect 0, read 6, write 178890, timeout 0)",
		},
		{
			name: "slow",
			in:   wrkSlow,
			want: wrkResult{
				Requests:     100,
				ReqPerSec:    9.99,
				P50:          1250 * time.Millisecond,
				P75:          1750 * time.Millisecond,
				P90:          2 * time.Second,
				P99:          61200 * time.Millisecond,
				SocketErrors: socketErrors{Timeout: 12},
			},
			wantFailed: "12 socket errors (connect 0, read 0, write 0, timeout 12)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseWrk(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("parseWrk: %v", err)
			}
			if *got != tt.want {
				t.Errorf("parseWrk =\n%+v\nwant\n%+v", *got, tt.want)
			}
			if f := got.failed(); f != tt.wantFailed {
				t.Errorf("failed() = %q, want %q", f, tt.wantFailed)
			}
		})
	}
}

func TestParseWrkMissingLatency(t *testing.T) {
	// Output of a run without --latency has no distribution section.
	in := `Running 3s test @ http://127.0.0.1:46047/v1/users
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   665.19us    1.14ms  15.52ms   88.74%
    Req/Sec    26.30k     2.42k   31.98k    75.00%
  156991 requests in 3.00s, 58.91MB read
Requests/sec:  52278.94
Transfer/sec:     19.62MB
`
	_, err := parseWrk(strings.NewReader(in))
	if err == nil || !strings.Contains(err.Error(), "50% latency") || !strings.Contains(err.Error(), "99% latency") {
		t.Fatalf("parseWrk error = %v, want one naming the missing percentiles", err)
	}
}

func TestWrkArgs(t *testing.T) {
	r := wrkRun{url: "http://127.0.0.1:1/v1/users", script: "/tmp/x.lua", threads: 2, connections: 16, duration: 10 * time.Second}
	got := strings.Join(r.args(), " ")
	want := "-t 2 -c 16 -d 10s --latency -s /tmp/x.lua http://127.0.0.1:1/v1/users"
	if got != want {
		t.Errorf("args = %q, want %q", got, want)
	}
}

func TestLuaQuote(t *testing.T) {
	for in, want := range map[string]string{
		"Bearer ak_abc123": `"Bearer ak_abc123"`,
		`a"b\c`:            `"a\034b\092c"`,
		"x\ny":             `"x\010y"`,
	} {
		if got := luaQuote(in); got != want {
			t.Errorf("luaQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
