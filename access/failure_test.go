package access_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
)

// bookings gives n members a booking of room1 each.
func bookings(s *access.Snapshot, n int) {
	for i := range n {
		id := fmt.Sprintf("b%d", i)
		s.Members = append(s.Members, access.Member{ID: id, Email: id + "@example.com", Managed: true})
		s.Bookings = append(s.Bookings, bookingOf("bk"+id, id, "room1", "14:00", "15:00"))
	}
}

// reconcilerWith builds a reconciler on the rig's Store and mapping that
// talks to Kisi through k.
func (e *rig) reconcilerWith(k access.KisiAPI, opts ...access.Option) *access.Reconciler {
	e.t.Helper()
	r, err := access.NewReconciler(k, e.st, e.m, access.DefaultPolicy(), append([]access.Option{access.WithClock(e.clock)}, opts...)...)
	require.NoError(e.t, err)
	return r
}

func TestSystemicFailureStopsTheRun(t *testing.T) {
	t.Parallel()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadURL := "http://" + closed.Addr().String()
	require.NoError(t, closed.Close())

	tests := []struct {
		name   string
		client func(e *rig) *kisi.Client
		is     error
		advice string
	}{
		{"wrong API key", func(e *rig) *kisi.Client {
			c, err := kisi.NewClient("wrong-key", kisi.WithBaseURL(e.srv.URL), kisi.WithRateLimit(rate.Inf, 0))
			require.NoError(t, err)
			return c
		}, kisi.ErrUnauthorized, "API key"},
		{"Kisi unreachable", func(*rig) *kisi.Client {
			c, err := kisi.NewClient("key", kisi.WithBaseURL(deadURL), kisi.WithRateLimit(rate.Inf, 0),
				kisi.WithRetry(1, time.Millisecond, time.Millisecond))
			require.NoError(t, err)
			return c
		}, nil, "cannot be reached"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newRig(t, rigConfig{})
			s := baseSnapshot()
			bookings(&s, 50)
			r := e.reconcilerWith(tc.client(e))
			var prev time.Duration
			for run := range 3 {
				e.srv.ResetRequests()
				rep, err := r.Sync(t.Context(), s)
				var se *access.SystemicError
				require.ErrorAs(t, err, &se)
				if tc.is != nil {
					require.ErrorIs(t, err, tc.is)
				}
				require.Contains(t, err.Error(), tc.advice)
				// On a new Store, Kisi is read first and the first read stops
				// the run before any change; later, the first change does.
				require.Equal(t, 50, se.NotAttempted+rep.Failed)
				require.Equal(t, se.NotAttempted, rep.NotAttempted)
				require.LessOrEqual(t, rep.Failed, 1, "one failure, not one per change")
				require.LessOrEqual(t, len(e.srv.Requests()), 1, "no storm")
				wait := rep.NextRun.Sub(e.clock.Now())
				require.Greater(t, wait, prev, "run %d: NextRun backs off", run)
				prev = wait
				e.clock.Advance(wait) // the host runs at NextRun
			}
		})
	}
}

func TestRunOfServerErrorsIsSystemic(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	bookings(&s, 20)
	e.srv.SetFaults(kisitest.Faults{ErrorRate: 1, Methods: []string{http.MethodPost}})
	rep, err := e.r.Sync(t.Context(), s)
	var se *access.SystemicError
	require.ErrorAs(t, err, &se)
	require.Equal(t, 3, rep.Failed, "three server errors in a row stop the run")
	require.Equal(t, 17, rep.NotAttempted)
}

func TestReplacementRetriesCreateWithinTheRun(t *testing.T) {
	t.Parallel()
	for _, lost := range []bool{false, true} {
		t.Run(fmt.Sprintf("lost=%v", lost), func(t *testing.T) {
			t.Parallel()
			e := newRig(t, rigConfig{})
			s := baseSnapshot()
			s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "13:00", "15:00")}
			e.sync(s)

			// The booking is extended while alice is inside it; the create
			// after the delete fails once (answered 500, or applied with
			// its answer lost).
			failed := false
			e.srv.Intercept(func(r *http.Request) kisitest.Fault {
				if r.Method == http.MethodPost && r.URL.Path == "/role_assignments" && !failed {
					failed = true
					if lost {
						return kisitest.Fault{Lost: true}
					}
					return kisitest.Fault{Status: http.StatusInternalServerError}
				}
				return kisitest.Fault{}
			})
			s.Bookings[0].End = cest("16:00")
			rep, err := e.r.Sync(t.Context(), s)
			require.NoError(t, err)
			require.True(t, failed)
			require.Equal(t, 1, rep.Replaced)
			roles := e.roles()
			require.Len(t, roles, 1, "alice is not locked out until the next run, and nothing is duplicated")
			require.True(t, roles[0].Window.End.Equal(cest("16:05")))
		})
	}
}

func TestMissingGroupIsParkedNotStormed(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	bookings(&s, 10)
	_, err := e.client.Groups.Delete(t.Context(), e.room)
	require.NoError(t, err)

	rep, err := e.r.Sync(t.Context(), s)
	require.Error(t, err)
	require.Equal(t, 1, rep.Failed)
	require.Equal(t, access.FailureMissing, rep.Failures[0].Class)
	require.Len(t, rep.Parked, 9, "the other grants of the group are parked without a request")
	require.Contains(t, err.Error(), fmt.Sprintf("group %d", e.room))

	// Later runs park the group's grants without a single request.
	for range 5 {
		e.clock.Advance(time.Minute)
		e.srv.ResetRequests()
		rep, err = e.r.Sync(t.Context(), s)
		require.NoError(t, err)
		require.Len(t, rep.Parked, 10)
		require.Empty(t, e.srv.Requests())
	}
	c, err := e.r.Plan(t.Context(), s)
	require.NoError(t, err)
	require.Contains(t, c.String(), "parked grant")

	// A new mapping releases the park: the grants are tried again.
	m := e.m.Clone()
	m.Resources["room1"] = []int64{e.other}
	r2, err := access.NewReconciler(e.client, e.st, m, access.DefaultPolicy(), access.WithClock(e.clock))
	require.NoError(t, err)
	rep, err = r2.Sync(t.Context(), s)
	require.NoError(t, err)
	require.Equal(t, 10, rep.Created)
	require.Empty(t, rep.Parked)
}

func TestRefusedChangeIsParkedWithBackOff(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	bookings(&s, 3)
	e.srv.Intercept(func(r *http.Request) kisitest.Fault {
		if r.Method == http.MethodPost && r.URL.Path == "/role_assignments" {
			return kisitest.Fault{Status: http.StatusUnprocessableEntity}
		}
		return kisitest.Fault{}
	})
	rep, err := e.r.Sync(t.Context(), s)
	require.Error(t, err)
	require.Equal(t, 3, rep.Failed, "a refusal does not stop the run")
	for _, f := range rep.Failures {
		require.Equal(t, access.FailureRefused, f.Class)
		require.True(t, errors.Is(f.Err, kisi.ErrValidation))
	}
	require.Len(t, rep.Parked, 3)
	retry := rep.Parked[0].RetryAt
	require.True(t, retry.After(e.clock.Now()))
	require.False(t, rep.NextRun.After(retry), "NextRun covers the retry")

	// Within the back-off nothing is sent.
	e.srv.ResetRequests()
	rep, err = e.r.Sync(t.Context(), s)
	require.NoError(t, err)
	require.Len(t, rep.Parked, 3)
	require.Zero(t, e.srv.Count(http.MethodPost, "/"))

	// After it, the changes are tried again, and the back-off doubles.
	e.clock.Advance(retry.Sub(e.clock.Now()))
	rep, _ = e.r.Sync(t.Context(), s)
	require.Equal(t, 3, rep.Failed)
	require.Greater(t, rep.Parked[0].RetryAt.Sub(e.clock.Now()), retry.Sub(e.clock.Now().Add(-time.Minute)))

	e.srv.Intercept(nil)
	e.clock.Advance(rep.Parked[0].RetryAt.Sub(e.clock.Now()))
	rep = e.sync(s)
	require.Equal(t, 3, rep.Created)
	require.Empty(t, rep.Parked)
	c, err := e.r.Plan(t.Context(), s)
	require.NoError(t, err)
	require.True(t, c.Empty(), "no park record is left:\n%s", c)
}

func TestQuotaParksLinks(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{dropIn: mapping.DropIn{Link: true}, server: []kisitest.Option{kisitest.WithEmailLinkLimit(2)}})
	s := baseSnapshot()
	for i := range 4 {
		s.Bookings = append(s.Bookings, access.Booking{ID: fmt.Sprintf("g%d", i), ResourceID: "room1",
			Guest: &access.Guest{Name: "Guest", Email: fmt.Sprintf("g%d@example.com", i)},
			Start: cest(fmt.Sprintf("%d:00", 15+i)), End: cest(fmt.Sprintf("%d:30", 15+i))})
	}
	e.srv.ResetRequests()
	rep, err := e.r.Sync(t.Context(), s)
	require.Error(t, err)
	require.Equal(t, 2, rep.Created, "the soonest bookings get the links")
	require.Equal(t, 1, rep.Failed)
	require.Equal(t, access.FailureQuota, rep.Failures[0].Class)
	require.Len(t, rep.Parked, 2)
	require.Equal(t, 3, e.srv.Count(http.MethodPost, "/group_links"), "one refusal, then no more attempts in the run")
}

// TestLinkAdoptedWithoutSecretIsKept (issue 28): a link's create
// reached Kisi but its answer, with the link's secret, was lost. Kisi
// emailed the link to the guest, so the next run adopts it as it is: a
// new link for the Notifier would email the guest a second time.
func TestLinkAdoptedWithoutSecretIsKept(t *testing.T) {
	t.Parallel()
	notes := &recordingNotifier{}
	e := newRig(t, rigConfig{dropIn: mapping.DropIn{Link: true}, opts: []access.Option{access.WithNotifier(notes)}})
	s := baseSnapshot()
	s.Bookings = []access.Booking{{ID: "bk9", ResourceID: "room1", Guest: &access.Guest{Name: "Gus", Email: "gus@example.com"},
		Start: cest("17:00"), End: cest("18:00")}}
	e.srv.Intercept(func(r *http.Request) kisitest.Fault {
		if r.Method == http.MethodPost && r.URL.Path == "/group_links" {
			return kisitest.Fault{Lost: true}
		}
		return kisitest.Fault{}
	})
	_, err := e.r.Sync(t.Context(), s)
	require.Error(t, err)
	require.Empty(t, notes.links, "the secret was lost with the response")
	require.Len(t, e.links(), 1)
	sent := e.links()[0].ID

	e.srv.Intercept(nil)
	rep, err := e.r.Sync(t.Context(), s)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Adopted)
	require.Zero(t, rep.Replaced)
	require.Empty(t, notes.links, "no Notifier call without the secret")
	links := e.links()
	require.Len(t, links, 1)
	require.Equal(t, sent, links[0].ID, "the link Kisi emailed is kept: no second email")
	rep, err = e.r.Sync(t.Context(), s)
	require.NoError(t, err)
	require.Zero(t, rep.Created+rep.Replaced+rep.Deleted, "settled")
}

func TestLinksForLaterBookingsWaitNearTheQuota(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{dropIn: mapping.DropIn{Link: true}, opts: []access.Option{access.WithLinkWarning(2)}})
	s := baseSnapshot()
	guest := func(id string, start time.Time) access.Booking {
		return access.Booking{ID: id, ResourceID: "room1", Guest: &access.Guest{Name: "Guest", Email: id + "@example.com"},
			Start: start, End: start.Add(time.Hour)}
	}
	later := cest("15:00").AddDate(0, 0, 10)
	s.Bookings = []access.Booking{guest("far", later), guest("today1", cest("15:00")), guest("today2", cest("16:00")),
		guest("tomorrow", cest("16:00").AddDate(0, 0, 1))}
	rep := e.sync(s)
	require.Equal(t, 3, rep.Created, "bookings within two days always get their links")
	require.Len(t, rep.Parked, 1)
	require.Equal(t, "link/"+fmt.Sprint(e.room)+"/far", rep.Parked[0].Key)
	require.Equal(t, access.FailureQuota, rep.Parked[0].Class)
	require.Equal(t, "3 email links in use, near Kisi's limit of 1000: created 2 days before the booking", rep.Parked[0].Reason)
	wait := later.Add(-5 * time.Minute).Add(-48 * time.Hour)
	require.True(t, rep.Parked[0].RetryAt.Equal(wait), "retry at %v, want %v", rep.Parked[0].RetryAt, wait)
	require.False(t, rep.NextRun.After(wait))

	e.clock.Advance(wait.Sub(e.clock.Now()))
	s.Bookings = s.Bookings[:1] // the others are over
	rep = e.sync(s)
	require.Equal(t, 1, rep.Created, "the link is created two days ahead")
	require.Empty(t, rep.Parked)
}

func TestRefusedRollingGrantStaysParked(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Plans = []access.Plan{{ID: "p1", PlanID: "pro", MemberID: "bob", Start: cest("09:00"), Status: access.PlanActive}}
	e.srv.Intercept(func(r *http.Request) kisitest.Fault {
		if r.Method == http.MethodPost && r.URL.Path == "/role_assignments" {
			return kisitest.Fault{Status: http.StatusUnprocessableEntity}
		}
		return kisitest.Fault{}
	})
	rep, _ := e.r.Sync(t.Context(), s)
	require.Len(t, rep.Parked, 1)
	retry := rep.Parked[0].RetryAt
	// A rolling window's end moves with the clock: the park still holds.
	for e.clock.Advance(20 * time.Second); e.clock.Now().Before(retry); e.clock.Advance(20 * time.Second) {
		e.srv.ResetRequests()
		rep, err := e.r.Sync(t.Context(), s)
		require.NoError(t, err)
		require.Len(t, rep.Parked, 1)
		require.Empty(t, e.srv.Requests(), "no request within the back-off")
	}
}

func TestReplacementSurvivesALostDeleteAnswer(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "13:00", "15:00")}
	e.sync(s)
	deletes := 0
	e.srv.Intercept(func(r *http.Request) kisitest.Fault {
		if r.Method != http.MethodDelete {
			return kisitest.Fault{}
		}
		deletes++
		if deletes == 1 {
			return kisitest.Fault{Lost: true} // applied, answered 500
		}
		return kisitest.Fault{Status: http.StatusInternalServerError}
	})
	s.Bookings[0].End = cest("16:00")
	rep, err := e.r.Sync(t.Context(), s)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Replaced, "one read shows the delete happened; the create follows in the same run")
	roles := e.roles()
	require.Len(t, roles, 1)
	require.True(t, roles[0].Window.End.Equal(cest("16:05")))
}

func TestUncertainCreateLookupRetriedOnce(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "13:00", "15:00")}
	e.sync(s)
	posted, looked := false, false
	e.srv.Intercept(func(r *http.Request) kisitest.Fault {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/role_assignments" && !posted:
			posted = true
			return kisitest.Fault{Lost: true}
		case r.Method == http.MethodGet && r.URL.Path == "/role_assignments" && posted && !looked:
			looked = true
			return kisitest.Fault{Status: http.StatusInternalServerError}
		}
		return kisitest.Fault{}
	})
	s.Bookings[0].End = cest("16:00")
	rep, err := e.r.Sync(t.Context(), s)
	require.NoError(t, err)
	require.True(t, looked)
	require.Equal(t, 1, rep.Adopted, "the lookup answered 500 is tried once more and finds the role")
	require.Len(t, e.roles(), 1)
}

func TestUserListingStopsOnSystemicFailure(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	bookings(&s, 150)
	bad, err := kisi.NewClient("wrong-key", kisi.WithBaseURL(e.srv.URL), kisi.WithRateLimit(rate.Inf, 0))
	require.NoError(t, err)
	e.srv.ResetRequests()
	rep, err := e.reconcilerWith(bad).Sync(t.Context(), s)
	var se *access.SystemicError
	require.ErrorAs(t, err, &se)
	require.Equal(t, 150, rep.NotAttempted)
	require.Len(t, e.srv.Requests(), 1, "one 401, then nothing")
}

// TestOrganizationBackOffOutlastsWakes (issue 25): Kisi refuses the API key
// (401) for two hours while the host wakes a run every five minutes (its
// data keeps changing). The key that stopped the organization's runs backs
// off on its own, so a woken run does not send it again: Kisi is asked
// after 1, 2, 4 … minutes, then hourly — not at every event, which sent the
// same change again each time — and each waiting run reports what waits,
// and until when. A run whose every change waited proves nothing, so the
// organization's back-off goes on.
func TestOrganizationBackOffOutlastsWakes(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := aliceSynced(e)
	e.srv.Intercept(func(*http.Request) kisitest.Fault { return kisitest.Fault{Status: http.StatusUnauthorized} })
	s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "13:00", "23:00")}
	start, asked := e.clock.Now(), 0
	for i := 0; e.clock.Now().Before(start.Add(2 * time.Hour)); i++ {
		s.Members[1].Name = fmt.Sprintf("Bob %d", i) // the host's data changes: a run
		e.srv.ResetRequests()
		rep, err := e.r.Sync(t.Context(), s)
		if len(e.srv.Requests()) > 0 {
			asked++
			require.Error(t, err)
		} else {
			require.NotEmpty(t, rep.Parked, "a waiting run says what waits")
			require.True(t, rep.NextRun.After(e.clock.Now()), "and until when")
		}
		e.clock.Advance(5 * time.Minute)
	}
	require.LessOrEqual(t, asked, 8, "Kisi asked in %d of 24 runs in two hours", asked)
}
