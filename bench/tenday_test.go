package bench_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/access/storetest"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// tenDayStart is Monday 23 March 2026: the ten days run across Europe's change to summer
// time (29 March) and the end of March.
var tenDayStart = time.Date(2026, time.March, 23, 0, 0, 0, 0, time.UTC)

// tenDayStoreLoss is when the Store is lost, on day 4: the host starts a new process on an
// empty Store, which runs Verify before its first Sync.
var tenDayStoreLoss = tenDayStart.AddDate(0, 0, 3).Add(9*time.Hour + 30*time.Minute)

// tenDayVerifyAt is the hour (UTC) of the host's daily Verify.
const tenDayVerifyAt = 3 * time.Hour

// pacedSlot is the time between two requests of the default client (5 requests/second,
// burst 1): a replacement's delete and create are one slot apart, so that is the shortest
// gap a replacement without PATCH can leave.
const pacedSlot = 200 * time.Millisecond

// tenDayLocations are the two locations of the ten-day space.
var tenDayLocations = []access.Location{
	{ID: "berlin", TimeZone: "Europe/Berlin"},
	{ID: "nyc", TimeZone: "America/New_York"},
}

// tenDayGroups names the Kisi groups of the ten-day space, in creation order: per location a
// front door and a members' floor, then three rooms each.
func tenDayGroups() []string {
	var names []string
	for _, l := range tenDayLocations {
		names = append(names, l.ID+" front door", l.ID+" members floor")
	}
	for _, l := range tenDayLocations {
		for i := range 3 {
			names = append(names, fmt.Sprintf("%s room %d", l.ID, i))
		}
	}
	return names
}

// wallAt returns the instant of a wall-clock time at a location, day days after the start.
func wallAt(loc *time.Location, day, hour, minute int) time.Time {
	y, m, d := tenDayStart.Date()
	return schedule.WallTime(loc, y, m, d+day, hour, minute)
}

// generateTenDays builds the ten-day space on the given groups (see tenDayGroups): 30
// members with open plans at one location or both, weekly assignments of rooms in each
// location's wall clock, bookings, check-ins, plans started, paused and cancelled, and the
// month end: at 23:45 local on 31 March four plans are cancelled in each location and three
// new ones start at 00:00 on 1 April.
func generateTenDays(groups []int64) space {
	r := rand.New(rand.NewPCG(10, 4))
	const members, days = 30, 10
	loc := map[string]*time.Location{}
	for _, l := range tenDayLocations {
		loc[l.ID], _ = time.LoadLocation(l.TimeZone)
	}
	front := map[string]int64{"berlin": groups[0], "nyc": groups[2]}
	floor := map[string]int64{"berlin": groups[1], "nyc": groups[3]}
	rooms := map[string][]string{}
	sp := space{groups: groups}
	sp.mapping = mapping.Mapping{
		Plans: map[string][]int64{
			"berlin-desk": {front["berlin"], floor["berlin"]},
			"nyc-desk":    {front["nyc"], floor["nyc"]},
			"global":      {front["berlin"], front["nyc"]},
		},
		Allowances: map[string][]int64{},
		Resources:  map[string][]int64{},
		Locations:  map[string][]int64{"berlin": {front["berlin"]}, "nyc": {front["nyc"]}},
		Default:    []int64{front["berlin"]},
		DropIn:     mapping.DropIn{Link: true},
	}
	s := &sp.initial
	s.Locations = slices.Clone(tenDayLocations)
	for li, l := range tenDayLocations {
		for i := range 3 {
			id := fmt.Sprintf("%s-room%d", l.ID, i)
			s.Resources = append(s.Resources, access.Resource{ID: id, LocationID: l.ID})
			sp.mapping.Resources[id] = []int64{groups[4+3*li+i]}
			rooms[l.ID] = append(rooms[l.ID], id)
		}
	}
	home := func(i int) string { return tenDayLocations[i%2].ID }
	products := []string{"berlin-desk", "nyc-desk"}
	for i := range members {
		id := fmt.Sprintf("t%03d", i)
		s.Members = append(s.Members, access.Member{ID: id, Email: fmt.Sprintf("tenday%03d@example.com", i),
			Name: fmt.Sprintf("Member %d", i), Managed: i%4 == 0})
		product := products[i%2]
		if i%7 == 6 {
			product = "global"
		}
		s.Plans = append(s.Plans, access.Plan{ID: "plan-" + id, PlanID: product, MemberID: id,
			Start: tenDayStart.AddDate(0, 0, -10-r.IntN(200)), Status: access.PlanActive})
	}
	rules := [][]schedule.Rule{
		{{Days: weekdays, From: schedule.Clock{Hour: 9}, To: schedule.Clock{Hour: 17}}},
		{{Days: []time.Weekday{time.Tuesday, time.Thursday}, From: schedule.Clock{Hour: 8}, To: schedule.Clock{Hour: 13}}},
		{{Days: []time.Weekday{time.Friday}, From: schedule.Clock{Hour: 20}, To: schedule.Clock{Hour: 2}}},
		{{Days: []time.Weekday{time.Saturday, time.Sunday}, From: schedule.Clock{Hour: 1}, To: schedule.Clock{Hour: 4}}},
	}
	for i := range 8 {
		l := home(i)
		s.Assignments = append(s.Assignments, access.Assignment{ID: fmt.Sprintf("tasg%02d", i), ResourceID: rooms[l][i%3],
			MemberID: fmt.Sprintf("t%03d", i), Start: tenDayStart.AddDate(0, 0, -3), Rules: rules[i%len(rules)]})
	}
	var evs []event
	add := func(e event) {
		if e.at.Before(tenDayStart.AddDate(0, 0, days)) && !e.at.Before(tenDayStart) {
			evs = append(evs, e)
		}
	}
	nBooking := 0
	for day := range days {
		for li, l := range tenDayLocations {
			lz := loc[l.ID]
			// Bookings made during the day for today or the next days.
			for k := range 5 {
				nBooking++
				id := fmt.Sprintf("tb%04d", nBooking)
				made := wallAt(lz, day, 7+k*2, r.IntN(60))
				start := wallAt(lz, day+r.IntN(3), 8+r.IntN(10), 15*r.IntN(4))
				if !start.After(made.Add(20 * time.Minute)) {
					start = made.Add(time.Hour).Truncate(15 * time.Minute)
				}
				b := access.Booking{ID: id, ResourceID: rooms[l.ID][r.IntN(3)], Start: start,
					End: start.Add(time.Duration(2+r.IntN(8)) * 15 * time.Minute), CreatedAt: made}
				kind := "booking.created"
				if k == 4 {
					b.Guest = &access.Guest{Name: "Guest " + id, Email: "guest-" + id + "@example.org"}
					kind = "dropin.created"
				} else {
					b.MemberID = fmt.Sprintf("t%03d", 2*r.IntN(members/2)+li)
				}
				add(event{at: made, kind: kind, apply: func(s *access.Snapshot) { s.Bookings = append(s.Bookings, b) }})
				switch x := r.IntN(10); {
				case x == 0 && b.Guest == nil: // moved by an hour, halfway to its start
					when := made.Add(start.Sub(made) / 2)
					add(event{at: when, kind: "booking.moved", apply: func(s *access.Snapshot) {
						if i := bookingIndex(s, id); i >= 0 {
							s.Bookings[i].Start = s.Bookings[i].Start.Add(time.Hour)
							s.Bookings[i].End = s.Bookings[i].End.Add(time.Hour)
						}
					}})
				case x == 1: // cancelled
					when := made.Add(start.Sub(made) / 3)
					add(event{at: when, kind: "booking.cancelled", apply: func(s *access.Snapshot) {
						if i := bookingIndex(s, id); i >= 0 {
							s.Bookings = slices.Delete(s.Bookings, i, i+1)
						}
					}})
				}
			}
			// Check-ins on working days; most check out, the rest keep access to midnight.
			if wd := wallAt(lz, day, 12, 0).In(lz).Weekday(); wd != time.Saturday && wd != time.Sunday {
				for k := range 4 {
					id := fmt.Sprintf("tc%02d-%s-%d", day, l.ID, k)
					in := wallAt(lz, day, 8+r.IntN(4), r.IntN(60))
					ci := access.CheckIn{ID: id, MemberID: fmt.Sprintf("t%03d", 2*r.IntN(members/2)+(1-li)), LocationID: l.ID, At: in}
					add(event{at: in, kind: "checkin", apply: func(s *access.Snapshot) { s.CheckIns = append(s.CheckIns, ci) }})
					if k < 3 {
						out := in.Add(time.Duration(2+r.IntN(6)) * time.Hour)
						add(event{at: out, kind: "checkout", apply: func(s *access.Snapshot) {
							for i := range s.CheckIns {
								if s.CheckIns[i].ID == id {
									s.CheckIns[i].Out = out
								}
							}
						}})
					}
				}
			}
		}
	}
	// Plan changes through the days: a new member starts, a plan is paused for a few days,
	// a plan is cancelled at once.
	for k := range 3 {
		day := 1 + 3*k
		m := fmt.Sprintf("t%03d", 20+k)
		startAt := wallAt(loc["berlin"], day, 10, 0)
		pl := access.Plan{ID: fmt.Sprintf("tnew%d", k), PlanID: products[k%2], MemberID: m, Start: startAt.Add(2 * time.Hour), Status: access.PlanActive}
		add(event{at: startAt, kind: "plan.started", apply: func(s *access.Snapshot) { s.Plans = append(s.Plans, pl) }})
		paused := fmt.Sprintf("plan-t%03d", 10+k)
		pauseAt := wallAt(loc["nyc"], day, 14, 0)
		add(event{at: pauseAt, kind: "plan.paused", apply: func(s *access.Snapshot) {
			for i := range s.Plans {
				if s.Plans[i].ID == paused && s.Plans[i].End.IsZero() {
					s.Plans[i].End = pauseAt
					s.Plans = append(s.Plans, access.Plan{ID: paused + "-resumed", PlanID: s.Plans[i].PlanID,
						MemberID: s.Plans[i].MemberID, Start: pauseAt.AddDate(0, 0, 3), Status: access.PlanActive})
				}
			}
		}})
		victim := fmt.Sprintf("plan-t%03d", 13+k)
		add(event{at: wallAt(loc["berlin"], day+1, 16, 0), kind: "plan.cancelled", apply: func(s *access.Snapshot) {
			cancelPlan(s, victim)
		}})
	}
	// The month end in each location: four plans cancelled at 23:45 on 31 March, three new
	// plans (entered the day before) starting at 00:00 on 1 April.
	for li, l := range tenDayLocations {
		lz := loc[l.ID]
		endDay := 8 // 31 March
		for k := range 4 {
			victim := fmt.Sprintf("plan-t%03d", 2*k+li)
			add(event{at: wallAt(lz, endDay, 23, 45), kind: "plan.cancelled", apply: func(s *access.Snapshot) {
				cancelPlan(s, victim)
			}})
		}
		for k := range 3 {
			m := fmt.Sprintf("t%03d", 24+2*k+li)
			pl := access.Plan{ID: fmt.Sprintf("tapril-%s-%d", l.ID, k), PlanID: products[li], MemberID: m,
				Start: wallAt(lz, endDay+1, 0, 0), Status: access.PlanActive}
			add(event{at: wallAt(lz, endDay-1, 15, 0), kind: "plan.started", apply: func(s *access.Snapshot) { s.Plans = append(s.Plans, pl) }})
		}
	}
	slices.SortStableFunc(evs, func(a, b event) int { return a.at.Compare(b.at) })
	sp.events = evs
	return sp
}

func cancelPlan(s *access.Snapshot, id string) {
	for i := range s.Plans {
		if s.Plans[i].ID == id {
			s.Plans[i].Status = access.PlanCancelled
		}
	}
}

// tenDayResult is what the ten days showed.
type tenDayResult struct {
	events                         map[string]int
	syncs, verifies, failed, held  int
	requests, renewals             int
	duplicates                     int
	sampledBefore, sampledAfter    sampled // before and after the Store loss
	outsideAfterLongest            time.Duration
	lockoutsBeyondSlot             int
	adoptedAfterLoss, verifyErrors int
	// lossAt is the number of requests sent when the Verify after the Store loss ended;
	// afterLoss the requests by kind of the day that followed.
	lossAt    int
	afterLoss map[string]int
	// backedUp is the number of records in the backup the Store is restored from.
	backedUp int
}

// runTenDays drives the ten-day space against a fake Kisi on one fake clock: a Sync at every
// change of the host's data and at every Report.NextRun, a Verify every day at 03:00 UTC,
// and the Store lost on day 4 (a new process on an empty Store runs Verify, then Sync).
//
// With verifyAtLoss false the new process does not run Verify at once: it syncs on the empty
// Store until the next daily Verify. With fromBackup the new process starts on the Store as
// it was on day 3 at 03:00 UTC (a backup taken 30½ hours before the loss, before a plan was
// cancelled) instead of an empty one.
func runTenDays(t *testing.T, verifyAtLoss, fromBackup bool) tenDayResult {
	c := spaceConfig{Start: tenDayStart, Days: 10}
	clock := newSimClock(tenDayStart.Add(-time.Hour))
	srv := kisitest.NewServer(kisitest.WithClock(clock), kisitest.WithoutRateLimit())
	t.Cleanup(srv.Close)
	places := map[string]int64{}
	for _, l := range tenDayLocations {
		p, err := srv.AddPlace(l.ID, l.TimeZone)
		require.NoError(t, err)
		places[l.ID] = p
	}
	var groups []int64
	for _, n := range tenDayGroups() {
		placeID := places["berlin"]
		if n[:3] == "nyc" {
			placeID = places["nyc"]
		}
		g, err := srv.AddGroup(n, placeID)
		require.NoError(t, err)
		groups = append(groups, g)
	}
	env := &kisiEnv{clock: clock, srv: srv, groups: groups}
	env.wire = newWire(clock, srv.Client().Transport, urlPath(t, srv.URL), roundTrip)
	ft := newFakeTimeline(t, env)
	sp := generateTenDays(groups)

	res := tenDayResult{events: map[string]int{}}
	for _, e := range sp.events {
		res.events[e.kind]++
	}
	ctx := context.Background()
	client, err := env.wire.client(srv.URL, srv.APIKey) // default pacing: 5 requests/second
	require.NoError(t, err)
	newReconciler := func(st access.Store) *access.Reconciler {
		r, err := access.NewReconciler(client, st, sp.mapping, access.DefaultPolicy(), access.WithClock(clock))
		require.NoError(t, err)
		return r
	}
	st := access.NewMemoryStore()
	r := newReconciler(st)
	var backup []state.Record
	backupAt := tenDayStart.AddDate(0, 0, 2).Add(tenDayVerifyAt)
	end := tenDayStart.AddDate(0, 0, c.Days)
	snap := cloneSnapshot(sp.initial)
	var runs []schedule.Interval
	sync := func() time.Time {
		began := clock.Now()
		rep, err := r.Sync(ctx, snap)
		var held *access.RevokeLimitError
		if errors.As(err, &held) {
			res.held++
			t.Logf("held at %s: %v", clock.Now().Format(time.RFC3339), err)
		} else if err != nil {
			res.failed++
			t.Logf("sync at %s: %v", clock.Now().Format(time.RFC3339), err)
		}
		res.syncs++
		runs = append(runs, schedule.Interval{Start: began, End: clock.Now()})
		require.NotNil(t, rep, "sync at %s: %v", clock.Now(), err)
		require.False(t, !rep.NextRun.IsZero() && !rep.NextRun.After(clock.Now()), "NextRun not after now")
		return rep.NextRun
	}
	verify := func() {
		began := clock.Now()
		d, err := r.Verify(ctx)
		res.verifies++
		if err != nil {
			res.verifyErrors++
			t.Logf("verify at %s: %v", clock.Now().Format(time.RFC3339), err)
			return
		}
		if began.Equal(tenDayStoreLoss) || (!verifyAtLoss && res.adoptedAfterLoss == 0 && began.After(tenDayStoreLoss)) {
			res.adoptedAfterLoss = len(d.Adopted)
			if verifyAtLoss {
				res.lossAt = len(env.wire.sentLog())
			}
		}
	}
	nextVerify := tenDayStart.Add(tenDayVerifyAt)
	lost := false
	next := clock.Now()
	for i := 0; ; {
		at := end
		if i < len(sp.events) {
			at = sp.events[i].at
		}
		for _, x := range []time.Time{next, nextVerify} {
			if !x.IsZero() && x.Before(at) {
				at = x
			}
		}
		if !lost && tenDayStoreLoss.Before(at) {
			at = tenDayStoreLoss
		}
		if !at.Before(end) {
			break
		}
		clock.AdvanceTo(at)
		for i < len(sp.events) && !sp.events[i].at.After(clock.Now()) {
			sp.events[i].apply(&snap)
			i++
		}
		switch now := clock.Now(); {
		case !lost && !now.Before(tenDayStoreLoss):
			lost = true
			st = access.NewMemoryStore() // a new process on an empty Store, or on the backup
			storetest.Seed(t, st, r.Organization(), backup...)
			r = newReconciler(st)
			if verifyAtLoss {
				verify()
			} else {
				res.lossAt = len(env.wire.sentLog())
			}
		case !now.Before(nextVerify):
			nextVerify = nextVerify.AddDate(0, 0, 1)
			verify()
		}
		next = sync()
		if fromBackup && backup == nil && !clock.Now().Before(backupAt) {
			recs, err := st.Load(ctx, r.Organization())
			require.NoError(t, err)
			backup = recs
			res.backedUp = len(recs)
		}
	}
	log := env.wire.sentLog()
	res.requests = len(log)
	res.afterLoss = map[string]int{}
	for _, e := range log[res.lossAt:] {
		if e.at.Before(tenDayStoreLoss.AddDate(0, 0, 1)) {
			res.afterLoss[e.method+" "+e.path]++
		}
	}
	res.renewals, _ = env.wire.renewals(access.DefaultValidity)
	res.duplicates = ft.duplicates()
	require.Len(t, srv.Requests(), res.requests+ft.observed(), "kisitest's request log and the wire disagree")

	handled := func(at time.Time) time.Time {
		k, _ := slices.BinarySearchFunc(runs, at, func(iv schedule.Interval, t time.Time) int { return iv.Start.Compare(t) })
		if k == len(runs) {
			return schedule.Forever
		}
		return runs[k].End
	}
	tl := desiredTimeline(t, sp, c, handled)
	held := ft.held(end)
	res.sampledBefore = sampleAccess(held, tl.allowed, tl.required, schedule.Interval{Start: tenDayStart, End: tenDayStoreLoss})
	after := schedule.Interval{Start: tenDayStoreLoss, End: end}
	res.sampledAfter = sampleAccess(held, tl.allowed, tl.required, after)
	for k, h := range held {
		for iv := range h.Clip(after).Subtract(tl.allowed[k]).All() {
			res.outsideAfterLongest = max(res.outsideAfterLongest, iv.End.Sub(iv.Start))
		}
	}
	for k, req := range tl.required {
		for iv := range req.Clip(schedule.Interval{Start: tenDayStart, End: end}).Subtract(held[k]).All() {
			if iv.End.Sub(iv.Start) > pacedSlot {
				res.lockoutsBeyondSlot++
				t.Logf("lockout of %s: %v", k, iv)
			}
		}
	}
	return res
}

// TestTenDays runs ten days of two locations (Berlin and New York) with weekly-rule
// assignments, bookings, check-ins, plan changes, the end of March and a lost Store on day 4,
// syncing at every change and Report.NextRun and verifying daily, and reads the fake's own
// state every 30 seconds of simulated time: no access outside the desired windows (after
// the Store loss, none longer than the validity bound), no lockout longer than one paced
// request slot, no duplicate role.
func TestTenDays(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                     string
		verifyAtLoss, fromBackup bool
	}{
		{"Verify right after the Store loss", true, false},
		{"Verify only at the next daily Verify", false, false},
		{"Store restored from a backup 30 hours old, then Verify", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkTenDays(t, runTenDays(t, tc.verifyAtLoss, tc.fromBackup))
		})
	}
}

// checkTenDays prints and checks the figures of one ten-day run.
func checkTenDays(t *testing.T, res tenDayResult) {
	t.Logf("events: %v", res.events)
	t.Logf("%d syncs (%d failed, %d held), %d verifies (%d failed), %d requests, %d renewals, %d roles adopted by the first Verify after the Store loss",
		res.syncs, res.failed, res.held, res.verifies, res.verifyErrors, res.requests, res.renewals, res.adoptedAfterLoss)
	t.Logf("requests in the day after the Store loss (Verify excluded): %v; records restored from the backup: %d", res.afterLoss, res.backedUp)
	for _, p := range []struct {
		name string
		s    sampled
	}{{"before the Store loss", res.sampledBefore}, {"after the Store loss", res.sampledAfter}} {
		t.Logf("%s: %d instants sampled every %v; outside the desired windows %v (sampled), %v (exact); lacking inside %v (sampled), %v (exact), worst gap %v (sampled), %v (exact)",
			p.name, p.s.samples, sampleEvery, time.Duration(p.s.outside)*sampleEvery, p.s.exactOutside,
			time.Duration(p.s.lacking)*sampleEvery, p.s.exactLacking, p.s.worstGap, p.s.exactWorst)
	}
	t.Logf("longest access outside a desired window after the Store loss: %v (bound: %v); lockouts longer than %v: %d; duplicate roles: %d",
		res.outsideAfterLongest, access.DefaultValidity, pacedSlot, res.lockoutsBeyondSlot, res.duplicates)

	require.Zero(t, res.sampledBefore.exactOutside, "access outside the desired windows")
	require.LessOrEqual(t, res.outsideAfterLongest, access.DefaultValidity, "access outside the desired windows beyond the validity bound after the Store loss")
	require.Zero(t, res.lockoutsBeyondSlot, "lockouts longer than one paced request slot")
	require.Zero(t, res.sampledBefore.lacking+res.sampledAfter.lacking, "sampled lockouts")
	require.Zero(t, res.duplicates, "duplicate roles")
	require.Zero(t, res.failed, "failed syncs")
	require.Zero(t, res.verifyErrors, "failed verifies")
}

// urlPath returns the path of a server URL: the fake's path prefix.
func urlPath(tb testing.TB, raw string) string {
	tb.Helper()
	u, err := url.Parse(raw)
	require.NoError(tb, err)
	return u.Path
}
