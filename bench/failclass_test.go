package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
)

// The failure scopes (access.FailureClass; RELIABILITY.md, "Failure scopes"), each driven against kisitest as a host
// would run the reconciler: at every NextRun and at every change of its data.

// classLatency is what each request costs on the simulation clock.
const classLatency = 50 * time.Millisecond

// call is one attempt seen by a recorder.
type call struct {
	at     time.Time
	method string
	path   string // below the server's prefix, e.g. "/role_assignments/7"
	query  url.Values
	status int // 0: transport error
	// notify and assignee are those of a role create; email that of a link or user create.
	notify   bool
	assignee int64
	group    int64
	email    string
}

// recorder is an http.RoundTripper that logs every attempt with its instant and the parts of
// a create's body the measures need, and charges each attempt classLatency on the clock.
type recorder struct {
	clock  *simClock
	base   http.RoundTripper
	prefix string

	mu  sync.Mutex
	log []call
}

// RoundTrip implements http.RoundTripper.
func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.clock.Advance(classLatency)
	c := call{method: req.Method, path: strings.TrimPrefix(req.URL.Path, r.prefix), query: req.URL.Query()}
	if req.Body != nil && req.Method == http.MethodPost {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		var body struct {
			RA *kisi.RoleAssignmentCreateRequest `json:"role_assignment"`
			GL *kisi.GroupLinkCreateRequest      `json:"group_link"`
			U  *kisi.UserCreateRequest           `json:"user"`
		}
		if json.Unmarshal(b, &body) == nil {
			if body.RA != nil {
				c.notify, c.assignee, c.group = body.RA.Notify, body.RA.AssigneeID, body.RA.AppliesToID
			}
			if body.GL != nil && body.GL.Email != nil {
				c.email, c.group = strings.ToLower(*body.GL.Email), body.GL.GroupID
			}
			if body.U != nil {
				c.email = strings.ToLower(body.U.Email)
			}
		}
	}
	resp, err := r.base.RoundTrip(req)
	c.at = r.clock.Now()
	if err == nil {
		c.status = resp.StatusCode
	}
	r.mu.Lock()
	r.log = append(r.log, c)
	r.mu.Unlock()
	return resp, err
}

// since returns a copy of the log from its i-th call on.
func (r *recorder) since(i int) []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log[i:])
}

// calls returns a copy of the log.
func (r *recorder) calls() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log)
}

// classEnv is a fake Kisi on a simulation clock with one place, seen through a recorder.
type classEnv struct {
	t     testing.TB
	clock *simClock
	srv   *kisitest.Server
	rec   *recorder
	place int64
}

func newClassEnv(tb testing.TB, start time.Time, opts ...kisitest.Option) *classEnv {
	tb.Helper()
	clock := newSimClock(start)
	srv := kisitest.NewServer(append([]kisitest.Option{kisitest.WithClock(clock)}, opts...)...)
	tb.Cleanup(srv.Close)
	place, err := srv.AddPlace("Space", "Europe/Berlin")
	require.NoError(tb, err)
	u, err := url.Parse(srv.URL)
	require.NoError(tb, err)
	return &classEnv{t: tb, clock: clock, srv: srv, place: place,
		rec: &recorder{clock: clock, base: srv.Client().Transport, prefix: u.Path}}
}

func (c *classEnv) group(name string) int64 {
	g, err := c.srv.AddGroup(name, c.place)
	require.NoError(c.t, err)
	return g
}

// reconciler returns a reconciler with the client's default settings (pacing, retries) on
// the simulation clock, talking through the recorder.
func (c *classEnv) reconciler(m mapping.Mapping, opts ...access.Option) *access.Reconciler {
	client, err := kisi.NewClient(c.srv.APIKey, kisi.WithBaseURL(c.srv.URL),
		kisi.WithHTTPClient(&http.Client{Transport: c.rec}), kisi.WithClock(c.clock))
	require.NoError(c.t, err)
	r, err := access.NewReconciler(client, access.NewMemoryStore(), m, access.DefaultPolicy(),
		append([]access.Option{access.WithClock(c.clock)}, opts...)...)
	require.NoError(c.t, err)
	return r
}

// kisiDo sends one request to the fake as the organization's owner, outside the recorder.
func (c *classEnv) kisiDo(method, path string) {
	req, err := http.NewRequest(method, c.srv.URL+path, nil)
	require.NoError(c.t, err)
	req.Header.Set("Authorization", "KISI-LOGIN "+c.srv.APIKey)
	resp, err := c.srv.Client().Do(req)
	require.NoError(c.t, err)
	_ = resp.Body.Close()
	require.Less(c.t, resp.StatusCode, 300, "%s %s", method, path)
}

// hostEvent is a change of the host's data at an instant.
type hostEvent struct {
	at    time.Time
	apply func(s *access.Snapshot)
}

// drive runs r on snap at the clock's instant, then at every event (once applied) and at
// every NextRun, until end. after sees each run's report and error.
func (c *classEnv) drive(r *access.Reconciler, snap *access.Snapshot, evs []hostEvent, end time.Time,
	after func(rep *access.Report, err error)) (runs int) {
	slices.SortStableFunc(evs, func(a, b hostEvent) int { return a.at.Compare(b.at) })
	ctx := context.Background()
	next := c.clock.Now()
	for i := 0; ; {
		at := end
		if i < len(evs) {
			at = evs[i].at
		}
		if !next.IsZero() && next.Before(at) {
			at = next
		}
		if !at.Before(end) {
			return runs
		}
		c.clock.AdvanceTo(at)
		for i < len(evs) && !evs[i].at.After(c.clock.Now()) {
			evs[i].apply(snap)
			i++
		}
		began := c.clock.Now()
		rep, err := r.Sync(ctx, *snap)
		runs++
		require.NotNil(c.t, rep, "sync at %s: %v", c.clock.Now(), err)
		after(rep, err)
		next = rep.NextRun
		switch {
		case next.IsZero() || next.After(c.clock.Now()):
		case next.Before(began):
			c.t.Errorf("NextRun %s is before the run began, at %s", next.Format(time.RFC3339Nano), began.Format(time.RFC3339Nano))
			next = c.clock.Now().Add(time.Minute)
		default:
			// Due during the run (a back-off that ended as the paced
			// requests went): the host runs again at once.
			next = c.clock.Now()
		}
	}
}

// perHour returns the most requests in any clock hour of the log, and that hour.
func perHour(log []call) (most int, hour time.Time) {
	n := map[time.Time]int{}
	for _, c := range log {
		h := c.at.Truncate(time.Hour)
		n[h]++
		if n[h] > most {
			most, hour = n[h], h
		}
	}
	return most, hour
}

var classDay = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday

// TestGroupDeletedForADay deletes a mapped group in Kisi (before the day, or at 09:00 while
// members hold roles in it) on a day on which 10 members book its room three times each
// (bookings made and moved during the day), runs the reconciler at every NextRun and every
// booking change, and counts the requests and the invitations. Five of the members also hold
// a plan from noon on, in a group that exists: their first grant that succeeds carries Kisi's
// one invitation, after grants in the missing group failed.
func TestGroupDeletedForADay(t *testing.T) {
	t.Parallel()
	for _, deleteAt := range []time.Duration{-time.Hour, 9 * time.Hour} {
		name := "deleted before the day"
		if deleteAt > 0 {
			name = "deleted at 09:00"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			groupDeletedForADay(t, deleteAt)
		})
	}
}

func groupDeletedForADay(t *testing.T, deleteAt time.Duration) {
	e := newClassEnv(t, classDay)
	front, room := e.group("Front door"), e.group("Room")
	m := mapping.Mapping{Plans: map[string][]int64{"desk": {front}}, Resources: map[string][]int64{"room": {room}}}
	snap := access.Snapshot{
		Locations: []access.Location{{ID: "berlin", TimeZone: "Europe/Berlin"}},
		Resources: []access.Resource{{ID: "room", LocationID: "berlin"}},
	}
	deleteGroup := func(*access.Snapshot) { e.kisiDo(http.MethodDelete, fmt.Sprintf("/groups/%d", room)) }
	var evs []hostEvent
	if deleteAt < 0 {
		deleteGroup(nil)
	} else {
		evs = append(evs, hostEvent{at: classDay.Add(deleteAt), apply: deleteGroup})
	}
	for i := range 10 {
		id := fmt.Sprintf("m%02d", i)
		snap.Members = append(snap.Members, access.Member{ID: id, Email: fmt.Sprintf("member%02d@example.com", i), Name: id})
		if i < 5 {
			snap.Plans = append(snap.Plans, access.Plan{ID: "plan-" + id, PlanID: "desk", MemberID: id,
				Start: classDay.Add(12 * time.Hour), Status: access.PlanActive})
		}
		for j := range 3 {
			start := classDay.Add(7*time.Hour + time.Duration(i*3+j)*25*time.Minute)
			b := access.Booking{ID: fmt.Sprintf("b-%s-%d", id, j), ResourceID: "room", MemberID: id,
				Start: start, End: start.Add(45 * time.Minute)}
			switch j {
			case 0: // booked the day before
				snap.Bookings = append(snap.Bookings, b)
			case 1: // booked three hours ahead
				evs = append(evs, hostEvent{at: start.Add(-3 * time.Hour), apply: func(s *access.Snapshot) {
					s.Bookings = append(s.Bookings, b)
				}})
			case 2: // booked the day before, moved an hour later two hours ahead
				snap.Bookings = append(snap.Bookings, b)
				evs = append(evs, hostEvent{at: start.Add(-2 * time.Hour), apply: func(s *access.Snapshot) {
					k := bookingIndex(s, b.ID)
					s.Bookings[k].Start, s.Bookings[k].End = b.Start.Add(time.Hour), b.End.Add(time.Hour)
				}})
			}
		}
	}
	r := e.reconciler(m)
	var parkedMissing, failedRuns int
	runs := e.drive(r, &snap, evs, classDay.AddDate(0, 0, 1), func(rep *access.Report, err error) {
		if err != nil {
			failedRuns++
		}
		for _, p := range rep.Parked {
			if p.Class == access.FailureMissing && p.GroupID == room {
				parkedMissing++
			}
		}
	})
	log := e.rec.calls()
	deleted := classDay.Add(deleteAt)
	var after []call // requests after the group was deleted that concern it
	invitations := map[int64]int{}
	failedInvitations, userCreates := 0, 0
	for _, c := range log {
		if c.at.After(deleted) && (c.group == room || c.path == fmt.Sprintf("/groups/%d", room) ||
			(c.method == http.MethodDelete && c.status == http.StatusNotFound)) {
			after = append(after, c)
		}
		switch {
		case c.method == http.MethodPost && c.path == "/role_assignments" && c.notify && c.status == http.StatusOK:
			invitations[c.assignee]++
		case c.method == http.MethodPost && c.path == "/role_assignments" && c.notify:
			failedInvitations++
		case c.method == http.MethodPost && c.path == "/users" && c.status == http.StatusOK:
			userCreates++
		}
	}
	extra := 0
	for _, n := range invitations {
		extra += n - 1
	}
	most, hour := perHour(after)
	t.Logf("%d runs, %d requests in the day; %d after the deletion concerned the missing group (most in one hour: %d, at %s); "+
		"%d users created; invitations: %d users invited, %d extra, %d notify:true creates that failed; "+
		"%d runs returned an error; parked in the missing group in %d run reports",
		runs, len(log), len(after), most, hour.Format("15:04"), userCreates, len(invitations), extra, failedInvitations,
		failedRuns, parkedMissing)
	for _, c := range log {
		t.Logf("  %s %s %s %d", c.at.Format("15:04:05.00"), c.method, c.path, c.status)
	}
	require.Positive(t, parkedMissing, "grants in the missing group are reported as parked")
	require.LessOrEqual(t, most, 5, "requests about the missing group in the busiest hour")
	require.Zero(t, extra, "a member invited twice")
	require.LessOrEqual(t, userCreates, 10, "users created")
}

// countingTransport counts the attempts that go through it.
type countingTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	n    int
}

// RoundTrip implements http.RoundTripper.
func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.base.RoundTrip(req)
}

func (c *countingTransport) attempts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// bigSpace is 3,000 members on a plan that maps to three groups: 9,000 grants to create.
func bigSpace(groups []int64) (access.Snapshot, mapping.Mapping) {
	var s access.Snapshot
	for i := range 3000 {
		id := fmt.Sprintf("m%04d", i)
		s.Members = append(s.Members, access.Member{ID: id, Email: fmt.Sprintf("member%04d@example.com", i)})
		s.Plans = append(s.Plans, access.Plan{ID: "plan-" + id, PlanID: "all", MemberID: id,
			Start: classDay.AddDate(0, -1, 0), Status: access.PlanActive})
	}
	return s, mapping.Mapping{Plans: map[string][]int64{"all": groups}}
}

// TestSystemicStopsAtOnce applies 9,000 changes against a Kisi that cannot be reached (a
// closed port on 127.0.0.1) and against one that refuses the API key (401), on the real
// clock with the client's default pacing and retries: each run stops at once with one
// *access.SystemicError that counts the changes not attempted.
func TestSystemicStopsAtOnce(t *testing.T) {
	t.Parallel()
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	t.Cleanup(srv.Close)
	place, err := srv.AddPlace("Space", "Europe/Berlin")
	require.NoError(t, err)
	var groups []int64
	for _, n := range []string{"Front door", "Floor", "Kitchen"} {
		g, err := srv.AddGroup(n, place)
		require.NoError(t, err)
		groups = append(groups, g)
	}
	snap, m := bigSpace(groups)
	clock := newSimClock(classDay)
	// The plan, against the reachable fake: 9,000 creates.
	{
		client, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithHTTPClient(srv.Client()), kisi.WithClock(clock))
		require.NoError(t, err)
		r, err := access.NewReconciler(client, access.NewMemoryStore(), m, access.DefaultPolicy(), access.WithClock(clock))
		require.NoError(t, err)
		ch, err := r.Plan(context.Background(), snap)
		require.NoError(t, err)
		require.Len(t, ch.Changes, 9000)
	}
	// A port that was just open and is closed now refuses connections.
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + l.Addr().String() + "/kisi"
	require.NoError(t, l.Close())

	cases := []struct {
		name, url, key string
		server         bool // the requests reach srv
	}{
		{name: "unreachable (connection refused)", url: closed, key: srv.APIKey},
		{name: "wrong API key (401)", url: srv.URL, key: "wrong-key", server: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Not parallel: srv's request log is per server.
			srv.ResetRequests()
			ct := &countingTransport{base: http.DefaultTransport}
			// The client's defaults: 5 requests/second, burst 1, 4 retries with 0.5 s–30 s
			// back-off; only the transport counts attempts.
			client, err := kisi.NewClient(c.key, kisi.WithBaseURL(c.url),
				kisi.WithHTTPClient(&http.Client{Transport: ct, Timeout: kisi.DefaultTimeout}))
			require.NoError(t, err)
			r, err := access.NewReconciler(client, access.NewMemoryStore(), m, access.DefaultPolicy())
			require.NoError(t, err)
			began := time.Now()
			rep, err := r.Sync(context.Background(), snap)
			took := time.Since(began)
			var sys *access.SystemicError
			require.ErrorAs(t, err, &sys)
			require.NotNil(t, rep)
			lines := strings.Count(err.Error(), "\n") + 1
			t.Logf("9,000 changes: stopped after %v, %d attempts on the wire, %d reached Kisi; NotAttempted %d (report %d), "+
				"%d failures listed, NextRun in %v; the error (%d line(s)): %v",
				took.Round(time.Millisecond), ct.attempts(), len(srv.Requests()), sys.NotAttempted, rep.NotAttempted,
				len(rep.Failures), time.Until(rep.NextRun).Round(time.Second), lines, err)
			require.Less(t, took, 30*time.Second)
			require.Equal(t, 1, lines, "one error")
			require.Equal(t, 9000, sys.NotAttempted+len(rep.Failures), "every change failed once or was not attempted")
			require.Equal(t, sys.NotAttempted, rep.NotAttempted)
			require.False(t, rep.NextRun.IsZero())
			// One call (with the client's retries of a refused connection) should stop the run.
			calls := ct.attempts()
			if !c.server {
				calls = (calls + kisi.DefaultRetryMax) / (kisi.DefaultRetryMax + 1)
			}
			require.Equal(t, 1, calls, "one call stops the run: %d attempts, %v", ct.attempts(), took)
		})
	}
}

// kisiLinks lists the group links in the fake (with a plain client outside the recorder) and
// counts those whose validity has ended at now.
func (c *classEnv) kisiLinks(now time.Time) (all, expired int) {
	ctx := context.Background()
	client, err := kisi.NewClient(c.srv.APIKey, kisi.WithBaseURL(c.srv.URL), kisi.WithHTTPClient(c.srv.Client()),
		kisi.WithRateLimit(rate.Inf, 0), kisi.WithRetry(0, 0, 0))
	require.NoError(c.t, err)
	links, err := listAll(ctx, func(lo kisi.ListOptions) ([]*kisi.GroupLink, *kisi.Response, error) {
		return client.ListGroupLinks(ctx, &kisi.GroupLinkListOptions{ListOptions: lo})
	})
	require.NoError(c.t, err)
	for _, l := range links {
		if l.ValidUntil != nil && !l.ValidUntil.After(now) {
			expired++
		}
	}
	return len(links), expired
}

// TestLinkQuotaMonth books 1,200 drop-in guests (a link each) over a month against Kisi's
// 1,000-link email quota (kisitest's default, expired links counted until deleted), all known
// from the start, and runs the reconciler at every NextRun: every guest must get a link by
// their booking's start, and the links in Kisi never reach the quota.
func TestLinkQuotaMonth(t *testing.T) {
	t.Parallel()
	month := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	e := newClassEnv(t, month.Add(-time.Hour))
	g := e.group("Front door")
	m := mapping.Mapping{Resources: map[string][]int64{"room": {g}}, DropIn: mapping.DropIn{Link: true}}
	snap := access.Snapshot{
		Locations: []access.Location{{ID: "berlin", TimeZone: "Europe/Berlin"}},
		Resources: []access.Resource{{ID: "room", LocationID: "berlin"}},
	}
	rng := rand.New(rand.NewPCG(12, 1))
	starts := map[string]time.Time{} // guest email → booking start
	for i := range 1200 {
		start := month.AddDate(0, 0, rng.IntN(30)).Add(time.Duration(8*60+rng.IntN(10*60)) * time.Minute)
		email := fmt.Sprintf("guest%04d@example.org", i)
		snap.Bookings = append(snap.Bookings, access.Booking{ID: fmt.Sprintf("d%04d", i), ResourceID: "room",
			Guest: &access.Guest{Name: fmt.Sprintf("Guest %d", i), Email: email},
			Start: start, End: start.Add(time.Duration(30+rng.IntN(150)) * time.Minute)})
		starts[email] = start
	}
	r := e.reconciler(m)
	var (
		runs, failedRuns, most, mostReport, checks, expiredSeen int
		seen, n                                                 int // calls counted, links in Kisi
		mostAt                                                  time.Time
		lastParked                                              = map[string]access.Parked{}
	)
	end := month.AddDate(0, 1, 0)
	e.drive(r, &snap, nil, end, func(rep *access.Report, err error) {
		runs++
		if err != nil {
			failedRuns++
		}
		for _, p := range rep.Parked {
			lastParked[strings.ToLower(p.Email)] = p
		}
		mostReport = max(mostReport, rep.Links)
		// The links in Kisi from the log: creates less deletes.
		calls := e.rec.since(seen)
		seen += len(calls)
		for _, c := range calls {
			switch {
			case c.method == http.MethodPost && c.path == "/group_links" && c.status == http.StatusOK:
				n++
			case c.method == http.MethodDelete && strings.HasPrefix(c.path, "/group_links/") && c.status == http.StatusNoContent:
				n--
			}
		}
		if n > most {
			most, mostAt = n, e.clock.Now()
		}
		if runs%25 == 1 {
			all, expired := e.kisiLinks(e.clock.Now())
			require.Equal(t, n, all, "links in Kisi at %s", e.clock.Now())
			checks++
			expiredSeen = max(expiredSeen, expired)
		}
	})
	first := map[string]time.Time{}
	refused := 0
	for _, c := range e.rec.calls() {
		if c.method != http.MethodPost || c.path != "/group_links" {
			continue
		}
		if c.status != http.StatusOK {
			refused++
			continue
		}
		if _, ok := first[c.email]; !ok {
			first[c.email] = c.at
		}
	}
	var late []string
	var worstLead time.Duration = 1 << 62
	for email, start := range starts {
		at, ok := first[email]
		if !ok || at.After(start) {
			why := "no link by the end of the month"
			if ok {
				why = fmt.Sprintf("link created %v after the start", at.Sub(start))
			}
			if p, ok := lastParked[email]; ok {
				why += fmt.Sprintf("; last parked as %s: %s", p.Class, p.Reason)
			}
			late = append(late, fmt.Sprintf("%s (booking at %s): %s", email, start.Format(time.RFC3339), why))
			continue
		}
		worstLead = min(worstLead, start.Sub(at))
	}
	slices.Sort(late)
	log := e.rec.calls()
	kinds := map[string]int{}
	for _, c := range log {
		kinds[c.method+" "+strings.TrimRight(c.path, "0123456789")+" "+fmt.Sprint(c.status)]++
	}
	t.Logf("requests by kind: %v", kinds)
	t.Logf("1,200 guest bookings over a month, quota %d: %d runs (%d with an error), %d requests; links in Kisi at most %d "+
		"(at %s; Report.Links at most %d), expired links seen in Kisi at %d checks: at most %d; %d link creates refused; "+
		"%d of 1,200 guests without a link by their booking's start; the shortest lead of a link before its booking: %v",
		kisi.EmailLinkLimit, runs, failedRuns, len(log), most, mostAt.Format(time.RFC3339), mostReport, checks, expiredSeen,
		refused, len(late), worstLead)
	for _, l := range late {
		t.Log("  " + l)
	}
	require.Less(t, most, kisi.EmailLinkLimit, "links in Kisi reached the quota")
	require.Zero(t, refused, "link creates refused by the quota")
	require.Empty(t, late, "guests without a link by their booking's start")
}

// TestRefusedChangeForADay has Kisi refuse one member's role in one group with a 422 that is
// not the one-role conflict, all day, while four members hold plans and book a room every two
// hours; the reconciler runs at every NextRun and every booking change. The refused grant
// comes from an open-ended plan (held as a rolling window) or from a 12-hour booking. It
// should be parked with back-off: its requests over the day are counted, and the rest goes on.
func TestRefusedChangeForADay(t *testing.T) {
	t.Parallel()
	for _, from := range []string{"plan", "booking"} {
		t.Run("refused grant from a "+from, func(t *testing.T) {
			t.Parallel()
			refusedForADay(t, from == "plan")
		})
	}
}

func refusedForADay(t *testing.T, fromPlan bool) {
	e := newClassEnv(t, classDay)
	front, room, kitchen := e.group("Front door"), e.group("Room"), e.group("Kitchen")
	e.srv.Intercept(func(q *http.Request) kisitest.Fault {
		if q.Method != http.MethodPost || q.URL.Path != "/role_assignments" {
			return kisitest.Fault{}
		}
		var body struct {
			RA kisi.RoleAssignmentCreateRequest `json:"role_assignment"`
		}
		if b, err := io.ReadAll(q.Body); err == nil && json.Unmarshal(b, &body) == nil && body.RA.AppliesToID == kitchen {
			return kisitest.Fault{Status: http.StatusUnprocessableEntity}
		}
		return kisitest.Fault{}
	})
	m := mapping.Mapping{Plans: map[string][]int64{"desk": {front}, "chef": {front, kitchen}},
		Resources: map[string][]int64{"room": {room}, "kitchen": {kitchen}}}
	snap := access.Snapshot{
		Locations: []access.Location{{ID: "berlin", TimeZone: "Europe/Berlin"}},
		Resources: []access.Resource{{ID: "room", LocationID: "berlin"}, {ID: "kitchen", LocationID: "berlin"}},
	}
	if !fromPlan {
		snap.Bookings = append(snap.Bookings, access.Booking{ID: "kitchen-day", ResourceID: "kitchen", MemberID: "m00",
			Start: classDay.Add(8 * time.Hour), End: classDay.Add(20 * time.Hour)})
	}
	var evs []hostEvent
	for i := range 4 {
		id := fmt.Sprintf("m%02d", i)
		plan := "desk"
		if i == 0 && fromPlan {
			plan = "chef"
		}
		snap.Members = append(snap.Members, access.Member{ID: id, Email: fmt.Sprintf("member%02d@example.com", i), Name: id})
		snap.Plans = append(snap.Plans, access.Plan{ID: "plan-" + id, PlanID: plan, MemberID: id,
			Start: classDay.AddDate(0, 0, -10), Status: access.PlanActive})
	}
	for h := 1; h < 24; h += 2 {
		start := classDay.Add(time.Duration(h) * time.Hour)
		b := access.Booking{ID: fmt.Sprintf("b%02d", h), ResourceID: "room", MemberID: fmt.Sprintf("m%02d", h%4),
			Start: start, End: start.Add(time.Hour)}
		evs = append(evs, hostEvent{at: start.Add(-90 * time.Minute), apply: func(s *access.Snapshot) {
			s.Bookings = append(s.Bookings, b)
		}})
	}
	r := e.reconciler(m)
	var parked []access.Parked
	runs, failedRuns := 0, 0
	e.drive(r, &snap, evs, classDay.AddDate(0, 0, 1), func(rep *access.Report, err error) {
		runs++
		if err != nil {
			failedRuns++
		}
		for _, p := range rep.Parked {
			if p.Class == access.FailureRefused {
				parked = append(parked, p)
			}
		}
	})
	log := e.rec.calls()
	kinds := map[string]int{}
	var tries []string
	created := map[int64]int{}
	for _, c := range log {
		kinds[c.method+" "+strings.TrimRight(c.path, "0123456789")+" "+fmt.Sprint(c.status)]++
		if c.method == http.MethodPost && c.path == "/role_assignments" {
			if c.group == kitchen {
				tries = append(tries, c.at.Format("15:04"))
			} else if c.status == http.StatusOK {
				created[c.group]++
			}
		}
	}
	most, hour := perHour(log)
	t.Logf("a change Kisi refuses all day: %d runs (%d with an error), %d requests in the day (most in one hour %d, at %s); "+
		"the refused create was sent %d times (first at %s); other grants created: %d front door, %d room; requests by kind: %v",
		runs, failedRuns, len(log), most, hour.Format("15:04"), len(tries), strings.Join(tries[:min(len(tries), 12)], " "),
		created[front], created[room], kinds)
	require.NotEmpty(t, parked, "the refused change is reported as parked")
	last := parked[len(parked)-1]
	t.Logf("last parked: %s %s: %s (retry at %s)", last.Email, last.Class, last.Reason, last.RetryAt.Format(time.RFC3339))
	require.Equal(t, "member00@example.com", last.Email)
	require.False(t, last.RetryAt.IsZero(), "a refused change is retried with back-off")
	require.Equal(t, 4, created[front], "the members' plans")
	require.Equal(t, 12, created[room], "the members' bookings")
	require.LessOrEqual(t, len(tries), 40, "a parked grant of a rolling window is not sent again within its back-off")
}
