package access_test

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/storetest"
	"github.com/kisisync/kisisync/internal/spacegen"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// scaleFactors are the multiples of spacegen.Large measured by BenchmarkScale. The growth
// exponent of each operation is the slope of ln(ns/op) against ln(scale).
var scaleFactors = []int{1, 2, 5, 10}

// scaledSpace is spacegen.Large with every count but the days and plan products multiplied by
// k: at k = 10, 100,000 members and 1,000,000 bookings in 30 days.
func scaledSpace(k int) (access.Snapshot, mapping.Mapping) {
	c := spacegen.Large(1, benchStart)
	c.Locations *= k
	c.Resources *= k
	c.Members *= k
	c.Teams *= k
	c.Allowances *= k
	c.Bookings *= k
	c.Assignments *= k
	c.CheckIns *= k
	return spacegen.Generate(c)
}

// peakHeap runs f once and returns the largest heap (bytes in live and not yet collected
// objects) seen while it ran, sampled every half millisecond, above the heap before it began.
func peakHeap(f func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	base := read()
	done := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var maxSeen uint64
		tick := time.NewTicker(500 * time.Microsecond)
		defer tick.Stop()
		for {
			if v := read(); v > maxSeen {
				maxSeen = v
			}
			select {
			case <-done:
				peak <- maxSeen
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(done)
	p := <-peak
	if p < base {
		return 0
	}
	return p - base
}

// reportPeak adds the peak heap of one more run of f, in MB, to the benchmark's metrics.
func reportPeak(b *testing.B, f func()) {
	b.Helper()
	b.StopTimer()
	b.ReportMetric(float64(peakHeap(f))/1e6, "peak-heap-MB")
}

// BenchmarkScale measures Desired, Access over 30 days and Plan (against an empty Store:
// everything to create; and a Store that already holds every desired grant: nothing to do)
// on spacegen.Large scaled 1×, 2×, 5× and 10×. Besides ns/op, B/op and allocs/op it reports
// the peak heap of one run. Run it with a fixed count of iterations, as the 10× space takes
// seconds per operation:
//
//	go test -run '^$' -bench BenchmarkScale -benchmem -benchtime 3x -timeout 60m ./access/
func BenchmarkScale(b *testing.B) {
	p := access.DefaultPolicy()
	now := benchStart.Add(14*24*time.Hour + 10*time.Hour)
	horizon := schedule.Interval{Start: benchStart, End: benchStart.Add(30 * 24 * time.Hour)}
	client, err := kisi.NewClient("bench-key", kisi.WithBaseURL("http://127.0.0.1:1"))
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range scaleFactors {
		s, m := scaledSpace(k)
		b.Run(fmt.Sprintf("op=Desired/scale=%d", k), func(b *testing.B) {
			desired := func() {
				if _, err := access.Desired(s, m, p, now); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				desired()
			}
			reportPeak(b, desired)
		})
		b.Run(fmt.Sprintf("op=Access30Days/scale=%d", k), func(b *testing.B) {
			acc := func() {
				if _, err := access.Access(s, m, p, horizon); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				acc()
			}
			reportPeak(b, acc)
		})
		grants, err := access.Desired(s, m, p, now)
		if err != nil {
			b.Fatal(err)
		}
		links, err := access.Links(s, m, p, now)
		if err != nil {
			b.Fatal(err)
		}
		steady := steadyStore(b, grants, links)
		for _, st := range []struct {
			name  string
			store access.Store
			want  int
		}{
			{"empty", access.NewMemoryStore(), len(grants) + len(links)},
			{"steady", steady, 0},
		} {
			b.Run(fmt.Sprintf("op=Plan-%s/scale=%d", st.name, k), func(b *testing.B) {
				r, err := access.NewReconciler(client, st.store, m, p, access.WithClock(clockwork.NewFakeClockAt(now)))
				if err != nil {
					b.Fatal(err)
				}
				plan := func() {
					c, err := r.Plan(b.Context(), s)
					if err != nil {
						b.Fatal(err)
					}
					if len(c.Changes) != st.want {
						b.Fatalf("plan has %d changes, want %d", len(c.Changes), st.want)
					}
				}
				b.ReportAllocs()
				for b.Loop() {
					plan()
				}
				b.ReportMetric(float64(len(grants)), "grants")
				reportPeak(b, plan)
			})
		}
	}
}

// steadyStore returns a memory Store that records every grant and link as created and settled.
func steadyStore(b *testing.B, grants []access.Grant, links []access.Link) access.Store {
	b.Helper()
	st := access.NewMemoryStore()
	var id int64
	var recs []access.Record
	for _, g := range grants {
		id++
		rec := access.Record{Key: access.RoleKey(g.Email, g.GroupID), Kind: access.KindRole, State: access.StateSettled,
			KisiID: id, Email: g.Email, MemberID: g.MemberID, GroupID: g.GroupID, UserID: id, Window: g.Window, Sources: g.Sources}
		recs = append(recs, rec)
	}
	for _, l := range links {
		id++
		rec := access.Record{Key: access.LinkKey(l.BookingID, l.GroupID), Kind: access.KindLink, State: access.StateSettled,
			KisiID: id, Email: l.Email, GroupID: l.GroupID, BookingID: l.BookingID, Name: l.Name, Window: l.Window,
			SendLink: l.SendLink, QR: l.QR}
		recs = append(recs, rec)
	}
	storetest.Seed(b, st, "default", recs...)
	return st
}
