package access_test

import (
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
)

// BenchmarkPlan plans the large generated space (10,000 members, 100,000
// bookings) against a steady Store (see BenchmarkPlanScale): the usual
// run, nothing to do, no Kisi request.
//
//	go test -run '^$' -bench 'BenchmarkPlan$' -benchmem -count 3 ./access/
func BenchmarkPlan(b *testing.B) {
	s, m := largeSpace(b)
	benchPlanSteady(b, s, m)
}

// BenchmarkSteadySync runs Reconciler.Sync of the large generated space
// (spacegen.Large at 1×) against a steady Store (see BenchmarkPlanScale):
// the usual run of a host, nothing to do, no Kisi request. Besides ns/op,
// B/op and allocs/op it reports the process CPU time per run (cpu-ms/op,
// which includes NextChange's goroutine and the garbage collector's work on
// another core), the figure to compare on a shared machine.
//
//	go test -run '^$' -bench 'BenchmarkSteadySync$' -benchmem -count 3 ./access/
func BenchmarkSteadySync(b *testing.B) {
	s, m := largeSpace(b)
	p := access.DefaultPolicy()
	now := benchStart.Add(14*24*time.Hour + 10*time.Hour)
	client, err := kisi.NewClient("bench-key", kisi.WithBaseURL("http://127.0.0.1:1"))
	if err != nil {
		b.Fatal(err)
	}
	st := steadyStore(b, s, m, p, now)
	r, err := access.NewReconciler(client, st, m, p, access.WithClock(clockwork.NewFakeClockAt(now)))
	if err != nil {
		b.Fatal(err)
	}
	sync := func() {
		rep, err := r.Sync(b.Context(), s)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Created+rep.Replaced+rep.Deleted != 0 {
			b.Fatalf("sync wrote to Kisi: %+v", rep)
		}
	}
	sync() // the memory Store's first Load sorts its records once
	b.ReportAllocs()
	c0, cpuOK := cpuTime()
	for b.Loop() {
		sync()
	}
	if c1, ok := cpuTime(); ok && cpuOK && b.N > 0 {
		b.ReportMetric(float64(c1-c0)/float64(b.N)/float64(time.Millisecond), "cpu-ms/op")
	}
}
