package access_test

import (
	"flag"
	"fmt"
	"hash/maphash"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
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

// BenchmarkScale measures Desired and Access over 30 days on spacegen.Large scaled 1×, 2×,
// 5× and 10× (Plan: see BenchmarkPlanScale). Besides ns/op, B/op and allocs/op it reports
// the peak heap of one run. Run it with a fixed count of iterations, as the 10× space takes
// seconds per operation:
//
//	go test -run '^$' -bench BenchmarkScale -benchmem -benchtime 3x -timeout 60m ./access/
func BenchmarkScale(b *testing.B) {
	p := access.DefaultPolicy()
	now := benchStart.Add(14*24*time.Hour + 10*time.Hour)
	horizon := schedule.Interval{Start: benchStart, End: benchStart.Add(30 * 24 * time.Hour)}
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
	}
}

// planPeak turns off BenchmarkPlanScale's peak heap: its sampling goroutine wakes every half
// millisecond of wall time, so under valgrind, which runs the plan 50 to 100 times slower, it
// adds instructions that vary from run to run.
var planPeak = flag.Bool("plan.peak", true, "BenchmarkPlanScale: report the peak heap of one more plan")

// snapshotRecords is the number of records in s, the unit of BenchmarkPlanScale's per-record
// figures.
func snapshotRecords(s access.Snapshot) int {
	return len(s.Locations) + len(s.Resources) + len(s.Members) + len(s.Teams) + len(s.Plans) +
		len(s.Allowances) + len(s.Bookings) + len(s.Assignments) + len(s.CheckIns)
}

// BenchmarkPlanScale measures Reconciler.Plan on spacegen.Large scaled 1×, 2×, 5× and 10×
// in the usual run: against a memory Store that holds one settled user record per member (as
// a real Store does once every member has been created in Kisi) and every desired grant and
// link as Kisi holds them, so nothing is to be done and Plan makes no Kisi request. (Against
// an empty Store, Plan lists the roles of every group that gets new grants from Kisi, which
// this benchmark does not measure.)
//
// Besides ns/op, B/op and allocs/op it reports the process CPU time per operation
// (cpu-ms/op, which includes NextChange's goroutine and the garbage collector's work on the
// other core) and per snapshot record (cpu-us/record: flat when Plan is linear), and the
// peak heap of one more run. The memory Store's Load, included in each Plan, copies the
// records out of a map in memory: it is not what a real Store costs, which reads them from
// a database and decodes them.
//
//	go test -run '^$' -bench BenchmarkPlanScale -benchmem -benchtime 3x -timeout 60m ./access/
func BenchmarkPlanScale(b *testing.B) {
	for _, k := range scaleFactors {
		// The space is made inside the sub-benchmark, so that a run of one scale makes
		// only its own (under valgrind, making the 10× space takes minutes).
		b.Run(fmt.Sprintf("scale=%d", k), func(b *testing.B) {
			s, m := scaledSpace(k)
			benchPlanSteady(b, s, m)
		})
	}
}

// benchPlanSteady measures Plan of s against a steady Store (see BenchmarkPlanScale).
func benchPlanSteady(b *testing.B, s access.Snapshot, m mapping.Mapping) {
	p := access.DefaultPolicy()
	now := benchStart.Add(14*24*time.Hour + 10*time.Hour)
	client, err := kisi.NewClient("bench-key", kisi.WithBaseURL("http://127.0.0.1:1"))
	if err != nil {
		b.Fatal(err)
	}
	n := snapshotRecords(s)
	st := steadyStore(b, s, m, p, now)
	r, err := access.NewReconciler(client, st, m, p, access.WithClock(clockwork.NewFakeClockAt(now)))
	if err != nil {
		b.Fatal(err)
	}
	plan := func() {
		c, err := r.Plan(b.Context(), s)
		if err != nil {
			b.Fatal(err)
		}
		if len(c.Changes) != 0 {
			b.Fatalf("plan has %d changes, want 0", len(c.Changes))
		}
	}
	// One plan first: the first Load after seeding puts the memory Store's records in key
	// order, a cost a steady Store does not pay again.
	plan()
	b.ReportAllocs()
	c0, cpuOK := cpuTime()
	for b.Loop() {
		plan()
	}
	if c1, ok := cpuTime(); ok && cpuOK && b.N > 0 {
		perOp := float64(c1-c0) / float64(b.N)
		b.ReportMetric(perOp/float64(time.Millisecond), "cpu-ms/op")
		b.ReportMetric(perOp/float64(time.Microsecond)/float64(n), "cpu-us/record")
	}
	b.ReportMetric(float64(n), "records")
	if *planPeak {
		reportPeak(b, plan)
	}
}

// steadyStore returns a memory Store that holds a settled Kisi user for every member of s and
// every grant and link s wants at now, with the windows Kisi would hold for them.
func steadyStore(b testing.TB, s access.Snapshot, m mapping.Mapping, p access.Policy, now time.Time) access.Store {
	b.Helper()
	grants, err := access.Desired(s, m, p, now)
	if err != nil {
		b.Fatal(err)
	}
	links, err := access.Links(s, m, p, now)
	if err != nil {
		b.Fatal(err)
	}
	st := access.NewMemoryStore()
	var id int64
	users := make(map[string]int64, len(s.Members))
	recs := make([]state.Record, 0, len(s.Members)+len(grants)+len(links))
	for _, mem := range s.Members {
		email, err := access.NormalizeEmail(mem.Email)
		if err != nil {
			continue
		}
		id++
		users[email] = id
		recs = append(recs, state.Record{Key: state.UserKey(email), Kind: state.KindUser, State: state.StateSettled,
			KisiID: id, Email: email, MemberID: mem.ID, Created: true})
	}
	roles := make(map[string]int, len(grants))
	for _, g := range grants {
		id++
		roles[state.RoleKey(g.Email, g.GroupID)] = len(recs)
		recs = append(recs, state.Record{Key: state.RoleKey(g.Email, g.GroupID), Kind: state.KindRole, State: state.StateSettled,
			KisiID: id, Email: g.Email, MemberID: g.MemberID, GroupID: g.GroupID, UserID: users[g.Email], Window: g.Window, Sources: g.Sources})
	}
	for _, l := range links {
		id++
		recs = append(recs, state.Record{Key: state.LinkKey(l.BookingID, l.GroupID), Kind: state.KindLink, State: state.StateSettled,
			KisiID: id, Email: l.Email, GroupID: l.GroupID, BookingID: l.BookingID, Name: l.Name, Window: l.Window,
			SendLink: l.SendLink, QR: l.QR})
	}
	// Kisi holds open-ended windows bounded to the rolling validity: take
	// the windows a first plan would send.
	client, err := kisi.NewClient("bench-key", kisi.WithBaseURL("http://127.0.0.1:1"))
	if err != nil {
		b.Fatal(err)
	}
	seeded := access.NewMemoryStore()
	storetest.Seed(b, seeded, "default", recs...)
	r, err := access.NewReconciler(client, seeded, m, p, access.WithClock(clockwork.NewFakeClockAt(now)))
	if err != nil {
		b.Fatal(err)
	}
	c, err := r.Plan(b.Context(), s)
	if err != nil {
		b.Fatal(err)
	}
	for _, ch := range c.Changes {
		i, ok := roles[ch.Key]
		if !ok || ch.Action != access.ActionReplace {
			b.Fatalf("steady store: unexpected change %s %s %s", ch.Action, ch.Object, ch.Key)
		}
		recs[i].Window = *ch.Window
	}
	storetest.Seed(b, st, "default", recs...)
	return st
}

// BenchmarkBookingsPass measures the floor under BenchmarkPlanScale's per-record figures: one
// plain pass over the bookings of spacegen.Large scaled 1× to 10×, reading each booking's
// holder and window and hashing its ID (hashed), or also looking its member up in a map of
// the members' IDs (member lookup), as validation does once per plan. It reports ns per
// booking: flat when the cost of touching a record does not depend on how many there are.
//
//	go test -run '^$' -bench BenchmarkBookingsPass -benchtime 20x -timeout 60m ./access/
func BenchmarkBookingsPass(b *testing.B) {
	seed := maphash.MakeSeed()
	for _, k := range scaleFactors {
		s, _ := scaledSpace(k)
		members := make(map[string]int32, len(s.Members))
		for i, m := range s.Members {
			members[m.ID] = int32(i)
		}
		for _, lookup := range []bool{false, true} {
			name := "hashed"
			if lookup {
				name = "member-lookup"
			}
			b.Run(fmt.Sprintf("pass=%s/scale=%d", name, k), func(b *testing.B) {
				var sink uint64
				for b.Loop() {
					for i := range s.Bookings {
						bk := &s.Bookings[i]
						sink += maphash.String(seed, bk.ID) + uint64(bk.End.Sub(bk.Start))
						if lookup && bk.MemberID != "" {
							sink += uint64(members[bk.MemberID])
						} else if bk.Guest != nil {
							sink++
						}
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(s.Bookings)), "ns/booking")
				if sink == 42 {
					b.Log(sink)
				}
			})
		}
	}
}
