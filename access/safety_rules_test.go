package access_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/schedule"
)

// The four scenarios of the revoke guard in the package doc ("The revoke guard").

func TestGuardHoldsEmptySnapshotButGrants(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	addPlanMembers(&s, "m", 10)
	require.Equal(t, 10, e.sync(s).Created)

	broken := baseSnapshot() // the plans are gone: a truncated export
	broken.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "14:00", "15:00")}
	rep, err := e.r.Sync(t.Context(), broken)
	var rle *access.RevokeLimitError
	require.ErrorAs(t, err, &rle)
	require.Equal(t, 10, rle.Vanished)
	require.Zero(t, rle.Explained)
	require.Contains(t, err.Error(), "10 whose sources vanished from the snapshot")
	require.Len(t, rep.Held, 10)
	require.Equal(t, 1, rep.Created, "the new booking is granted while the cuts are held")
	require.Zero(t, rep.Deleted)
	require.False(t, rep.NextRun.IsZero(), "a held run must be run again")
	require.Len(t, e.roles(), 11)
}

func TestGuardHoldsShortenings(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	addPlanMembers(&s, "m", 8)
	e.sync(s)
	before := e.roles()

	// An exporter bug sets every open plan's End to five minutes from now.
	for i := range s.Plans {
		s.Plans[i].End = e.clock.Now().Add(5 * time.Minute)
	}
	c, err := e.r.Plan(t.Context(), s)
	require.NoError(t, err)
	require.Equal(t, 8, c.Revocations, "a shortening is a cut")
	require.Equal(t, 8, c.Held)
	require.Contains(t, c.String(), "held by the revoke guard")

	rep, err := e.r.Sync(t.Context(), s)
	var rle *access.RevokeLimitError
	require.ErrorAs(t, err, &rle)
	require.Equal(t, 8, rle.Explained)
	require.NotContains(t, err.Error(), "vanished", "the error must not blame an empty snapshot")
	require.Zero(t, rep.Replaced)
	require.Len(t, rep.Held, 8)
	require.False(t, rep.NextRun.IsZero())
	if diff := cmp.Diff(before, e.roles()); diff != "" {
		t.Fatalf("nobody may be locked out (-want +got):\n%s", diff)
	}
}

func TestGuardAppliesMonthEnd(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	first := time.Date(2026, time.June, 1, 0, 0, 0, 0, berlinTZ)
	july := time.Date(2026, time.July, 1, 0, 0, 0, 0, berlinTZ)
	s := baseSnapshot()
	for i := range 13 {
		id := fmt.Sprintf("m%d", i)
		s.Members = append(s.Members, access.Member{ID: id, Email: id + "@example.com", Managed: true})
		if i < 10 {
			s.Plans = append(s.Plans, access.Plan{ID: "p" + id, PlanID: "pro", MemberID: id, Start: first, Status: access.PlanActive})
		}
	}
	e.clock.Advance(time.Date(2026, time.June, 30, 23, 0, 0, 0, berlinTZ).Sub(e.clock.Now()))
	require.Equal(t, 10, e.sync(s).Created)

	// 23:45: four plans cancelled, three new ones from midnight.
	e.clock.Advance(45 * time.Minute)
	for i := range 4 {
		s.Plans[i].Status = access.PlanCancelled
	}
	for i := 10; i < 13; i++ {
		id := fmt.Sprintf("m%d", i)
		s.Plans = append(s.Plans, access.Plan{ID: "p" + id, PlanID: "pro", MemberID: id, Start: july, Status: access.PlanActive})
	}
	rep, err := e.r.Sync(t.Context(), s)
	require.NoError(t, err, "routine cancellations are not held")
	require.Equal(t, 4, rep.Deleted)
	require.Equal(t, 3, rep.Created)
	require.Empty(t, rep.Held)

	holders := map[string]bool{}
	for _, r := range e.roles() {
		if r.Window.Contains(july) {
			holders[r.Email] = true
		}
	}
	for i := 10; i < 13; i++ {
		require.True(t, holders[fmt.Sprintf("m%d@example.com", i)], "new member m%d has access at 00:00", i)
	}
	require.Len(t, holders, 9)
}

func TestGuardAppliesAutomaticCheckOut(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{checkIns: true})
	s := baseSnapshot()
	addPlanMembers(&s, "m", 30)
	for i := range 12 {
		s.CheckIns = append(s.CheckIns, access.CheckIn{ID: fmt.Sprintf("ci%d", i), MemberID: fmt.Sprintf("m%d", i),
			LocationID: "ber", At: cest("08:00")})
	}
	require.Equal(t, 42, e.sync(s).Created)

	e.clock.Advance(cest("20:01").Sub(e.clock.Now()))
	for i := range s.CheckIns {
		s.CheckIns[i].Out = cest("20:00") // the automatic check-out
	}
	s.CheckIns = append(s.CheckIns, access.CheckIn{ID: "late", MemberID: "alice", LocationID: "ber", At: cest("20:01")})
	rep, err := e.r.Sync(t.Context(), s)
	require.NoError(t, err)
	require.Equal(t, 12, rep.Deleted)
	require.Equal(t, 1, rep.Created, "the 20:01 check-in gets access")
	require.Empty(t, rep.Held)
}

func TestBoundedWindows(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Plans = []access.Plan{{ID: "p1", PlanID: "pro", MemberID: "bob", Start: cest("09:00"), Status: access.PlanActive}}
	rep := e.sync(s)
	created := e.clock.Now()
	want := []kisiRole{{Email: "bob@example.com", Group: e.pro, Window: heldFrom("09:00", created)}}
	if diff := cmp.Diff(want, e.roles()); diff != "" {
		t.Fatalf("an open plan is held with a valid_until (-want +got):\n%s", diff)
	}
	require.False(t, rep.NextRun.IsZero())
	require.True(t, rep.NextRun.Before(created.Add(access.DefaultValidity)), "NextRun covers the renewal")

	// Run at every NextRun for three weeks: the role is renewed about every
	// week, at night, and never lapses.
	renewals := 0
	for e.clock.Now().Before(created.AddDate(0, 0, 21)) {
		e.clock.Advance(rep.NextRun.Sub(e.clock.Now()))
		rep = e.sync(s)
		if rep.Replaced > 0 {
			renewals++
			h := e.clock.Now().In(berlinTZ).Hour()
			require.True(t, h >= 1 && h < 5, "renewed at %s, outside the night hours", e.clock.Now().In(berlinTZ))
		}
		roles := e.roles()
		require.Len(t, roles, 1)
		require.True(t, roles[0].Window.End.After(e.clock.Now().Add(access.DefaultValidity/4)),
			"the role lapses too soon: %v", roles[0].Window)
	}
	require.Equal(t, 3, renewals, "a renewal a week")
}

func TestUnboundedValidityIsExplicit(t *testing.T) {
	t.Parallel()
	p := access.DefaultPolicy()
	p.Validity = access.UnboundedValidity
	e := newRig(t, rigConfig{policy: &p})
	s := baseSnapshot()
	s.Plans = []access.Plan{{ID: "p1", PlanID: "pro", MemberID: "bob", Start: cest("09:00"), Status: access.PlanActive}}
	e.sync(s)
	want := []kisiRole{{Email: "bob@example.com", Group: e.pro, Window: schedule.Interval{Start: cest("09:00"), End: schedule.Forever}}}
	if diff := cmp.Diff(want, e.roles()); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}

	// The same roles under a bounded policy are bounded, and that is not a
	// cut: no guard, however many.
	addPlanMembers(&s, "m", 8)
	e.sync(s)
	r2, err := access.NewReconciler(e.client, e.st, e.m, access.DefaultPolicy(), access.WithClock(e.clock))
	require.NoError(t, err)
	c, err := r2.Plan(t.Context(), s)
	require.NoError(t, err)
	require.Equal(t, 9, c.Count(access.ActionReplace))
	require.Zero(t, c.Revocations)
	require.Contains(t, c.String(), "bound open-ended window to the rolling validity")
	rep, err := r2.Apply(t.Context(), c)
	require.NoError(t, err)
	require.Equal(t, 9, rep.Replaced)
	for _, r := range e.roles() {
		require.False(t, r.Window.IsOpenEnded(), "%v still open-ended", r)
	}
}

func TestPolicyValidityRejected(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{-2 * time.Hour, time.Minute} {
		p := access.DefaultPolicy()
		p.Validity = d
		err := p.Validate()
		require.ErrorIs(t, err, access.ErrInvalidPolicy, "validity %v", d)
		require.Contains(t, err.Error(), "validity")
	}
	var p access.Policy
	require.NoError(t, p.UnmarshalJSON([]byte(`{"validity": "unbounded"}`)))
	require.Equal(t, access.UnboundedValidity, p.Validity)
	b, err := p.MarshalJSON()
	require.NoError(t, err)
	require.Contains(t, string(b), `"validity":"unbounded"`)
	require.False(t, errors.Is(nil, access.ErrInvalidPolicy))
}

// TestRenewalsSpreadOut: members onboarded together do not all come due for
// renewal in one run: each window is renewed on its own night and minute.
func TestRenewalsSpreadOut(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	addPlanMembers(&s, "m", 60)
	rep := e.sync(s)
	created := e.clock.Now()
	renewed, most := 0, 0
	for rep.NextRun.Before(created.AddDate(0, 0, 11)) {
		e.clock.Advance(rep.NextRun.Sub(e.clock.Now()))
		rep = e.sync(s)
		renewed += rep.Replaced
		most = max(most, rep.Replaced)
		if rep.Replaced > 0 {
			h := e.clock.Now().In(berlinTZ).Hour()
			require.True(t, h >= 1 && h < 5, "renewed at %s, outside the night hours", e.clock.Now().In(berlinTZ))
		}
	}
	require.Equal(t, 60, renewed, "every window renewed once in 11 days")
	require.Less(t, most, 15, "renewals spread over nights and minutes, not one batch")
}
