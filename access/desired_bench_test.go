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
// on linux/amd64, AMD EPYC, 2 cores shared with other jobs (load average
// 10 to 13 during the run, so wall times are inflated), Go 1.26:
//
//	BenchmarkDesired         131–152 cpu-ms/op   416–526 ms/op   25.2 MB/op   38,994 allocs/op   15,637 grants
//	BenchmarkAccess30Days    267–302 cpu-ms/op   0.87–1.5 s/op   53.6 MB/op   41,595 allocs/op   208,891 grants
//	BenchmarkLinks            72–73 cpu-ms/op    202–244 ms/op    6.5 MB/op   12,283 allocs/op
//	BenchmarkNextChange      168–170 cpu-ms/op   468–527 ms/op   27.2 MB/op   39,546 allocs/op
package access_test

import (
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

func BenchmarkDesired(b *testing.B) {
	s, m := largeSpace(b)
	p := access.DefaultPolicy()
	at := benchStart.Add(14*24*time.Hour + 10*time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	reportCPU(b)
	var n int
	for b.Loop() {
		g, err := access.Desired(s, m, p, at)
		if err != nil {
			b.Fatal(err)
		}
		n = len(g)
	}
	b.ReportMetric(float64(n), "grants")
}

func BenchmarkAccess30Days(b *testing.B) {
	s, m := largeSpace(b)
	p := access.DefaultPolicy()
	h := schedule.Interval{Start: benchStart, End: benchStart.Add(30 * 24 * time.Hour)}
	b.ReportAllocs()
	b.ResetTimer()
	reportCPU(b)
	var n int
	for b.Loop() {
		g, err := access.Access(s, m, p, h)
		if err != nil {
			b.Fatal(err)
		}
		n = len(g)
	}
	b.ReportMetric(float64(n), "grants")
}

func BenchmarkLinks(b *testing.B) {
	s, m := largeSpace(b)
	p := access.DefaultPolicy()
	at := benchStart.Add(14*24*time.Hour + 10*time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	reportCPU(b)
	for b.Loop() {
		if _, err := access.Links(s, m, p, at); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNextChange(b *testing.B) {
	s, m := largeSpace(b)
	p := access.DefaultPolicy()
	at := benchStart.Add(14*24*time.Hour + 10*time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	reportCPU(b)
	for b.Loop() {
		if _, ok := access.NextChange(s, m, p, at); !ok {
			b.Fatal("no next change")
		}
	}
}
