package access_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
)

// BenchmarkEventPlan measures what a platform event costs before Kisi's
// first request: one booking moved (a member's booking starting within the
// lead time, or just after it, by turns, so every other event creates or
// deletes a grant), a second passing, then the plan, on spacegen.Large
// scaled 1× and 10× against a steady Store (see BenchmarkPlanScale). It
// runs the plan in full (mode=full) and incrementally (mode=incremental,
// see access/incremental.go) side by side, and the desired access alone
// (op=desired: grants, links, record errors and the next change, without
// the Store) each way. Besides ns/op it reports the process CPU time per
// event (cpu-ms/op) and, for the incremental desired access, the heap what
// it keeps takes (kept-MB), after checking that the last event's grants are
// Desired's.
//
//	go test -run '^$' -bench BenchmarkEventPlan -benchmem -benchtime 20x -timeout 60m ./access/
func BenchmarkEventPlan(b *testing.B) {
	for _, k := range []int{1, 10} {
		s, m := scaledSpace(k)
		p := access.DefaultPolicy()
		now := benchStart.Add(14*24*time.Hour + 10*time.Hour)
		st := steadyStore(b, s, m, p, now)
		// The booking moved: the first member booking of the snapshot.
		bi := 0
		for s.Bookings[bi].MemberID == "" {
			bi++
		}
		for _, op := range []string{"plan", "desired"} {
			for _, mode := range []string{"full", "incremental"} {
				b.Run(fmt.Sprintf("op=%s/scale=%d/mode=%s", op, k, mode), func(b *testing.B) {
					clock := clockwork.NewFakeClockAt(now)
					client, err := kisi.NewClient("bench-key", kisi.WithBaseURL("http://127.0.0.1:1"))
					if err != nil {
						b.Fatal(err)
					}
					r, err := access.NewReconciler(client, st, m, p, access.WithClock(clock))
					if err != nil {
						b.Fatal(err)
					}
					access.SetIncremental(r, mode == "incremental")
					d := access.NewIncrementalDesired(m, p)
					n := 0
					event := func() {
						n++
						clock.Advance(time.Second)
						start := clock.Now().Add(10 * time.Minute)
						if n%2 == 1 {
							start = start.Add(time.Hour)
						}
						s.Bookings[bi].Start, s.Bookings[bi].End = start, start.Add(time.Hour)
						switch {
						case op == "plan":
							if _, err := access.PlanChanges(b.Context(), r, s); err != nil {
								b.Fatal(err)
							}
						case mode == "full":
							// The full computation: what d does with nothing kept.
							access.NewIncrementalDesired(m, p).At(s, clock.Now())
						default:
							d.At(s, clock.Now())
						}
					}
					heap0 := liveHeap()
					event() // the first plan computes in full and keeps what it computed
					b.ReportAllocs()
					c0, cpuOK := cpuTime()
					for b.Loop() {
						event()
					}
					if c1, ok := cpuTime(); ok && cpuOK && b.N > 0 {
						b.ReportMetric(float64(c1-c0)/float64(b.N)/float64(time.Millisecond), "cpu-ms/op")
					}
					if mode != "incremental" || op != "desired" {
						return
					}
					if d.Full > 1 {
						b.Fatalf("%d of %d events computed in full", d.Full-1, b.N)
					}
					// The last event's desired access is the full one, and what
					// d keeps costs this much heap.
					b.StopTimer()
					grants, _, _, _, _ := d.At(s, clock.Now())
					want, err := access.Desired(s, m, p, clock.Now())
					if err != nil {
						b.Fatal(err)
					}
					if !cmp.Equal(want, grants, sameTime) {
						b.Fatal("incremental grants differ from Desired's")
					}
					grants, want = nil, nil
					b.ReportMetric((liveHeap()-heap0)/1e6, "kept-MB")
					runtime.KeepAlive(d)
				})
			}
		}
	}
}

// liveHeap returns the bytes of the heap's live objects, after a collection.
func liveHeap() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc)
}
