// Benchmarks of the desired-state engine on the large generated space
// (internal/spacegen.Large: 10,000 members, 500 resources, 100,000 bookings
// in 30 days, 2,000 weekly assignments, 20,000 check-ins, 8 time zones).
// cpu-ms/op is the process CPU time per operation (getrusage), reported
// because wall time on a shared machine depends on its load.
//
// Measured with:
//
//	go test -run '^$' -bench 'BenchmarkDesired|BenchmarkAccess30Days|BenchmarkLinks|BenchmarkNextChange' -benchmem -count 3 -cpu 1 ./access/
//
// on linux/amd64, AMD EPYC, 2 cores shared with other jobs (so wall times
// vary widely), Go 1.26:
//
//	BenchmarkDesired          68–93 cpu-ms/op    84–180 ms/op    25.3 MB/op   40,597 allocs/op   15,637 grants
//	BenchmarkAccess30Days    211–289 cpu-ms/op   0.56–1.6 s/op   56.0 MB/op   45,572 allocs/op   208,891 grants
//	BenchmarkLinks            22–31 cpu-ms/op     23–47 ms/op     6.6 MB/op   12,286 allocs/op
//	BenchmarkNextChange       92–112 cpu-ms/op   120–234 ms/op   27.4 MB/op   41,897 allocs/op
package access_test

import (
	"errors"
	"testing"
	"time"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/internal/spacegen"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

var benchStart = time.Date(2026, time.March, 1, 0, 0, 0, 0, time.UTC)

func largeSpace(b *testing.B) (access.Snapshot, mapping.Mapping) {
	b.Helper()
	s, m := spacegen.Generate(spacegen.Large(1, benchStart))
	return s, m
}

// reportCPU measures the CPU time of the loop that follows and reports it as
// cpu-ms/op when b finishes.
func reportCPU(b *testing.B) {
	b.Helper()
	c0, ok := cpuTime()
	if !ok {
		return
	}
	b.Cleanup(func() {
		if c1, ok := cpuTime(); ok && b.N > 0 {
			b.ReportMetric(float64(c1-c0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		}
	})
}

// benchAt is an instant in the middle of the large space's month.
var benchAt = benchStart.Add(14*24*time.Hour + 10*time.Hour)

// benchEngine runs one engine call on the large space per iteration and
// reports its CPU time, allocations and, when run returns one (not -1), the
// number of grants.
func benchEngine(b *testing.B, run func(s access.Snapshot, m mapping.Mapping, p access.Policy) (grants int, err error)) {
	s, m := largeSpace(b)
	p := access.DefaultPolicy()
	b.ReportAllocs()
	reportCPU(b)
	n := -1
	for b.Loop() {
		var err error
		if n, err = run(s, m, p); err != nil {
			b.Fatal(err)
		}
	}
	if n >= 0 {
		b.ReportMetric(float64(n), "grants")
	}
}

func BenchmarkDesired(b *testing.B) {
	benchEngine(b, func(s access.Snapshot, m mapping.Mapping, p access.Policy) (int, error) {
		g, err := access.Desired(s, m, p, benchAt)
		return len(g), err
	})
}

func BenchmarkAccess30Days(b *testing.B) {
	h := schedule.Interval{Start: benchStart, End: benchStart.Add(30 * 24 * time.Hour)}
	benchEngine(b, func(s access.Snapshot, m mapping.Mapping, p access.Policy) (int, error) {
		g, err := access.Access(s, m, p, h)
		return len(g), err
	})
}

func BenchmarkLinks(b *testing.B) {
	benchEngine(b, func(s access.Snapshot, m mapping.Mapping, p access.Policy) (int, error) {
		_, err := access.Links(s, m, p, benchAt)
		return -1, err
	})
}

func BenchmarkNextChange(b *testing.B) {
	benchEngine(b, func(s access.Snapshot, m mapping.Mapping, p access.Policy) (int, error) {
		if _, ok := access.NextChange(s, m, p, benchAt); !ok {
			return -1, errors.New("no next change")
		}
		return -1, nil
	})
}
