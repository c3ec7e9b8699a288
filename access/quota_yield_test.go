package access_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
)

// TestQuotaTodaysGuestFirst (issue 28): Kisi's email-link quota (10 here)
// is full — 9 of its links are the SDK's, for bookings one to three weeks
// ahead, one was made by hand — when two guests book for this afternoon.
// Guests within 48 hours always get a place: the link for the furthest
// booking yields its place (deleted, reported parked with why) and is sent
// again once its booking comes within 48 hours, while the quota has room.
func TestQuotaTodaysGuestFirst(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{dropIn: mapping.DropIn{Link: true},
		server: []kisitest.Option{kisitest.WithEmailLinkLimit(10)}})
	s := baseSnapshot()
	guest := func(id string, start time.Time) access.Booking {
		return access.Booking{ID: id, ResourceID: "room1", Guest: &access.Guest{Name: "Guest " + id, Email: id + "@example.org"},
			Start: start, End: start.Add(time.Hour)}
	}
	for i := range 9 {
		s.Bookings = append(s.Bookings, guest(fmt.Sprintf("far%d", i), cest("10:00").AddDate(0, 0, 7+i)))
	}
	rep := e.sync(s)
	require.Equal(t, 9, rep.Created)
	_, _, err := e.client.CreateGroupLink(t.Context(), &kisi.GroupLinkCreateRequest{GroupID: e.room, Name: "By hand",
		Email: kisi.Ptr("hand@example.org"), LinkEnabled: kisi.Ptr(true)})
	require.NoError(t, err)

	s.Bookings = append(s.Bookings, guest("today1", cest("16:00")), guest("today2", cest("17:00")))
	rep, err = e.r.Sync(t.Context(), s)
	require.NoError(t, err)
	require.Equal(t, 2, rep.Created, "both of today's guests get a link")
	yielded := slices.IndexFunc(rep.Parked, func(p access.Parked) bool { return p.Email == "far8@example.org" })
	require.NotEqual(t, -1, yielded, "the furthest booking's link yielded its place: %+v", rep.Parked)
	require.Equal(t, access.FailureQuota, rep.Parked[yielded].Class)
	require.Contains(t, rep.Parked[yielded].Reason, "yielded")
	emails := map[string]bool{}
	for _, l := range e.links() {
		emails[*l.Email] = true
	}
	require.True(t, emails["today1@example.org"] && emails["today2@example.org"], "links: %v", emails)
	require.False(t, emails["far8@example.org"], "the yielded link is gone from Kisi")

	// The next runs do not send it again while its booking is far.
	e.srv.ResetRequests()
	e.clock.Advance(time.Hour)
	rep = e.sync(s)
	require.Zero(t, e.srv.Count(http.MethodPost, "/group_links"), "no link sent while the far booking waits")
	require.True(t, slices.ContainsFunc(rep.Parked, func(p access.Parked) bool { return p.Email == "far8@example.org" }))

	// Within 48 hours of its booking, it is sent again, once.
	far8 := s.Bookings[8].Start
	e.clock.Advance(far8.Add(-47 * time.Hour).Sub(e.clock.Now()))
	e.srv.ResetRequests()
	rep = e.sync(s)
	require.False(t, slices.ContainsFunc(rep.Parked, func(p access.Parked) bool { return p.Email == "far8@example.org" }))
	require.True(t, slices.ContainsFunc(e.links(), func(l *kisi.GroupLink) bool { return *l.Email == "far8@example.org" }))
	c, err := e.r.Plan(t.Context(), s)
	require.NoError(t, err)
	require.True(t, c.Empty(), "nothing left to do:\n%s", c)
}

// TestQuotaFullBacksOff (issue 25): Kisi's email-link quota (5 here) is
// full with links kisisync did not make, and guests keep booking weeks
// ahead. The quota is one failing key of the organization: the links
// beyond 48 hours wait for its back-off instead of each being tried, and
// refused, in turn at every run.
func TestQuotaFullBacksOff(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{dropIn: mapping.DropIn{Link: true},
		server: []kisitest.Option{kisitest.WithEmailLinkLimit(5)}})
	for i := range 4 {
		_, _, err := e.client.CreateGroupLink(t.Context(), &kisi.GroupLinkCreateRequest{GroupID: e.room, Name: "By hand",
			Email: kisi.Ptr(fmt.Sprintf("hand%d@example.org", i)), LinkEnabled: kisi.Ptr(true)})
		require.NoError(t, err)
	}
	s := baseSnapshot()
	refused := 0
	for i := range 60 { // a guest books a week ahead every minute, for an hour
		start := cest("10:00").AddDate(0, 0, 7).Add(time.Duration(i) * time.Minute)
		s.Bookings = append(s.Bookings, access.Booking{ID: fmt.Sprintf("far%d", i), ResourceID: "room1",
			Guest: &access.Guest{Name: "Guest", Email: fmt.Sprintf("far%d@example.org", i)}, Start: start, End: start.Add(time.Hour)})
		e.srv.ResetRequests()
		_, _ = e.r.Sync(t.Context(), s)
		refused += e.srv.Count(http.MethodPost, "/group_links")
		e.clock.Advance(time.Minute)
	}
	require.LessOrEqual(t, refused, 8, "link creates sent in an hour against a full quota")
}

// TestQuotaFullKeepsReplacedLinks: Kisi's email-link quota is full when a
// guest in the building has their booking shortened and another guest
// books for today. Today's guest waits for room; the shortened booking's
// link is still replaced — its delete frees the place its create takes —
// and its guest is never without a link.
func TestQuotaFullKeepsReplacedLinks(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{dropIn: mapping.DropIn{Link: true},
		server: []kisitest.Option{kisitest.WithEmailLinkLimit(2)}})
	guest := func(id, from, to string) access.Booking {
		return access.Booking{ID: id, ResourceID: "room1", Guest: &access.Guest{Name: "Guest " + id, Email: id + "@example.org"},
			Start: cest(from), End: cest(to)}
	}
	s := baseSnapshot()
	s.Bookings = []access.Booking{guest("in", "13:00", "18:00"), guest("later", "16:00", "17:00")}
	require.Equal(t, 2, e.sync(s).Created)

	s.Bookings[0].End = cest("17:00")
	s.Bookings = append(s.Bookings, guest("today", "15:00", "16:00"))
	rep, err := e.r.Sync(t.Context(), s)
	require.Error(t, err, "today's guest is refused for the quota")
	require.Equal(t, 1, rep.Replaced)
	require.True(t, slices.ContainsFunc(e.links(), func(l *kisi.GroupLink) bool { return *l.Email == "in@example.org" }),
		"the guest in the building keeps a link")
}
