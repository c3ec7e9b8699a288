package access_test

import (
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/storetest"
	"github.com/kisisync/kisisync/internal/spacegen"
	"github.com/kisisync/kisisync/kisi"
)

// BenchmarkPlan plans the large generated space (10,000 members, 100,000
// bookings): "empty" against an empty Store (everything to create),
// "steady" against a Store that already holds every desired grant and link
// (the usual run: nothing to do, no Kisi request).
func BenchmarkPlan(b *testing.B) {
	start := time.Date(2026, time.March, 1, 0, 0, 0, 0, time.UTC)
	now := start.Add(14*24*time.Hour + 10*time.Hour)
	s, m := spacegen.Generate(spacegen.Large(1, start))
	p := access.DefaultPolicy()
	client, err := kisi.NewClient("bench-key", kisi.WithBaseURL("http://127.0.0.1:1"))
	if err != nil {
		b.Fatal(err)
	}
	steady := access.NewMemoryStore()
	grants, _ := access.Desired(s, m, p, now)
	links, _ := access.Links(s, m, p, now)
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
	storetest.Seed(b, steady, "default", recs...)
	stores := []struct {
		name string
		st   access.Store
		want func(*access.Changes) bool
	}{
		{"empty", access.NewMemoryStore(), func(c *access.Changes) bool { return len(c.Changes) == len(grants)+len(links) }},
		{"steady", steady, func(c *access.Changes) bool { return c.Empty() }},
	}
	for _, tc := range stores {
		b.Run(tc.name, func(b *testing.B) {
			r, err := access.NewReconciler(client, tc.st, m, p, access.WithClock(clockwork.NewFakeClockAt(now)))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				c, err := r.Plan(b.Context(), s)
				if err != nil {
					b.Fatal(err)
				}
				if !tc.want(c) {
					b.Fatalf("unexpected plan: %d changes for %d grants and %d links", len(c.Changes), len(grants), len(links))
				}
			}
			b.ReportMetric(float64(len(grants)), "grants")
			b.ReportMetric(float64(len(links)), "links")
		})
	}
}
