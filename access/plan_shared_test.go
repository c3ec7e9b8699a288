package access_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/internal/spacegen"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// TestPlanSharesValidation checks that Plan, which validates the snapshot
// once for Desired, Links and NextChange, plans what the three public
// functions give one by one: their grants and links to create, the records
// either rejects (once each) and NextChange's instant, on a snapshot with
// bad records of every kind and drop-ins.
func TestPlanSharesValidation(t *testing.T) {
	t.Parallel()
	p := access.DefaultPolicy()
	e := newRig(t, rigConfig{policy: &p, checkIns: true, dropIn: mapping.DropIn{Link: true, QR: true}})
	s := baseSnapshot()
	s.Members = append(s.Members, access.Member{ID: "eve", Email: "not an email"}, access.Member{ID: "alice", Email: "a2@example.com"})
	guest := func(id, email, from, to string) access.Booking {
		return access.Booking{ID: id, ResourceID: "room1", Guest: &access.Guest{Name: "G", Email: email}, Start: cest(from), End: cest(to)}
	}
	s.Bookings = []access.Booking{
		bookingOf("bk1", "alice", "room1", "14:00", "15:00"),
		bookingOf("bk1", "bob", "room1", "14:00", "15:00"), // repeated ID
		bookingOf("bk2", "alice", "room1", "15:00", "14:00"),
		bookingOf("bk3", "eve", "room1", "14:00", "15:00"),
		bookingOf("bk4", "nobody", "room1", "14:00", "15:00"),
		bookingOf("bk5", "bob", "nowhere", "14:00", "15:00"),
		bookingOf("", "bob", "room1", "14:00", "15:00"),
		guest("g1", "guest@example.com", "13:00", "16:00"),
		guest("g2", "no email", "13:00", "16:00"),
		guest("g3", "bob@example.com", "18:00", "19:00"),
	}
	s.Assignments = []access.Assignment{
		{ID: "as1", ResourceID: "room2", MemberID: "bob", Start: cest("10:00"),
			Rules: []schedule.Rule{rule([]time.Weekday{time.Wednesday}, 14, 0, 16, 0)}},
		{ID: "as1", ResourceID: "room2", MemberID: "bob", Start: cest("10:00")},
		{ID: "as2", ResourceID: "nowhere", MemberID: "bob", Start: cest("10:00")},
	}
	s.CheckIns = []access.CheckIn{
		{ID: "c1", MemberID: "alice", LocationID: "ber", At: cest("13:30")},
		{ID: "c2", MemberID: "nobody", LocationID: "ber", At: cest("13:30")},
		{ID: "c3", MemberID: "bob", LocationID: "mars", At: cest("13:30")},
	}
	now := e.clock.Now()
	grants, gerr := access.Desired(s, e.m, p, now)
	links, lerr := access.Links(s, e.m, p, now)
	next, nextOK := access.NextChange(s, e.m, p, now)
	require.True(t, nextOK)
	var want []string
	for _, re := range append(access.RecordErrors(gerr), access.RecordErrors(lerr)...) {
		want = append(want, re.Error())
	}
	slices.Sort(want)
	want = slices.Compact(want)
	require.NotEmpty(t, links)
	require.Len(t, want, 13, "%q", want) // every bad record above

	c, err := e.r.Plan(t.Context(), s)
	require.NoError(t, err)
	var got []string
	for _, re := range c.Skipped {
		got = append(got, re.Error())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Changes.Skipped (-want +got):\n%s", diff)
	}
	var nGrants, nLinks int
	for _, ch := range c.Changes {
		switch {
		case ch.Action == access.ActionCreate && ch.Object == access.ObjectGrant:
			nGrants++
		case ch.Action == access.ActionCreate && ch.Object == access.ObjectLink:
			nLinks++
		}
	}
	require.Equal(t, len(grants), nGrants+len(c.Conflicts), "grants")
	require.Equal(t, len(links), nLinks, "links")
	require.True(t, c.NextRun.Equal(next), "NextRun %v, NextChange %v", c.NextRun, next)
}

// TestPlanSteadyAgrees checks, on generated spaces at several instants,
// that Plan against a Store holding what Desired and Links want plans
// nothing, and that its NextRun is NextChange's instant: the engines Plan
// shares (pieces sorted once, the weekly assignments' merged in for each
// horizon) give what the public functions give one by one.
func TestPlanSteadyAgrees(t *testing.T) {
	t.Parallel()
	p := access.DefaultPolicy()
	for seed := uint64(1); seed <= 6; seed++ {
		s, m := spacegen.Generate(spacegen.Small(seed, monday))
		for k := range 8 {
			now := monday.Add(time.Duration(k) * 17 * time.Hour)
			t.Run(fmt.Sprintf("seed=%d/at=%s", seed, now.Format("Mon15h")), func(t *testing.T) {
				client, err := kisi.NewClient("test-key", kisi.WithBaseURL("http://127.0.0.1:1"))
				require.NoError(t, err)
				r, err := access.NewReconciler(client, steadyStore(t, s, m, p, now), m, p,
					access.WithClock(clockwork.NewFakeClockAt(now)))
				require.NoError(t, err)
				c, err := r.Plan(t.Context(), s)
				require.NoError(t, err)
				require.Empty(t, c.Changes)
				next, ok := access.NextChange(s, m, p, now)
				require.True(t, ok)
				require.True(t, c.NextRun.Equal(next), "NextRun %v, NextChange %v", c.NextRun, next)
			})
		}
	}
}
