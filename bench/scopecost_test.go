package bench_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
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
	"github.com/kisisync/kisisync/schedule"
)

// The cost of one failing key per failure scope (DESIGN.md, "Failure scopes"; RELIABILITY.md,
// "Failure scopes"): a small healthy space whose data changes every five minutes, so that runs
// are frequent and a key tried at every run would show, with exactly one key that Kisi (or the
// host) fails for a day.

// scopeFailFor is how long the key fails: the whole measurement.
const scopeFailFor = 24 * time.Hour

// scopeWindows are the spans the cost is counted over, from the first run.
var scopeWindows = []time.Duration{time.Hour, 6 * time.Hour, 24 * time.Hour}

// scopeTries bounds the attempts on one failing key within each of scopeWindows by the
// design's back-off (one rule for every failing key: 1, 2, 4 … minutes, doubling up to an
// hour, then hourly): the first attempt at 0, then at 1, 3, 7, 15 and 31 minutes (6 in the
// first hour), 63, 123, 183, 243 and 303 (11 in 6 hours), and hourly to 1,383 (29 in the
// day). The back-off never shortens (a key not tried for a while waits at least that
// long again), so the attempts can only be fewer.
var scopeTries = backoffTries(time.Minute, time.Hour, scopeWindows)

// backoffTries counts the attempts that fit in each window when attempt n+1 follows
// attempt n after first·2ⁿ⁻¹, at most most.
func backoffTries(first, most time.Duration, windows []time.Duration) []int {
	out := make([]int, len(windows))
	at, delay := time.Duration(0), first
	for {
		for i, w := range windows {
			if at < w {
				out[i]++
			}
		}
		at += delay
		delay = min(2*delay, most)
		if at >= windows[len(windows)-1] {
			return out
		}
	}
}

// scopeWorld is the space one case runs in: four healthy members on a desk plan (the front
// door) who book the room every five minutes in turn, and a fifth member or a guest whose
// key fails. Kitchen is the failing member's group and the failing guest's room.
type scopeWorld struct {
	e                    *classEnv
	front, room, kitchen int64
	snap                 access.Snapshot
	m                    mapping.Mapping
	// spent reports whether a request is spent on the failing key.
	spent func(c call) bool
	// exempt reports whether a grant is the failing key's (or, for the organization,
	// any): it may be missing.
	exempt func(g access.Grant) bool
	// notes fails the failing guest's notifications and counts them; countNotes makes
	// them the cost (the host's scope).
	notes      *failingNotifier
	countNotes bool
	// observer reads the fake's state outside the recorder, the faults and the rate limit.
	observer    *kisi.Client
	observerKey string
}

const observerEmail = "observer@example.net"

// observed reports whether q is the observer's.
func (w *scopeWorld) observed(q *http.Request) bool {
	return q.Header.Get("Authorization") == "KISI-LOGIN "+w.observerKey
}

const failEmail = "fail@example.com"

// failingMember adds the member whose key fails, on plan, started ten days before the day.
func (w *scopeWorld) failingMember(plan string) {
	w.snap.Members = append(w.snap.Members, access.Member{ID: "mf", Email: failEmail, Name: "Failing"})
	w.snap.Plans = append(w.snap.Plans, access.Plan{ID: "plan-mf", PlanID: plan, MemberID: "mf",
		Start: classDay.AddDate(0, 0, -10), Status: access.PlanActive})
}

// intercept answers with f every request for which match (given the request and its body) holds.
func (w *scopeWorld) intercept(f kisitest.Fault, match func(q *http.Request, body []byte) bool) {
	w.e.srv.Intercept(func(q *http.Request) kisitest.Fault {
		var b []byte
		if w.observed(q) {
			return kisitest.Fault{}
		}
		if q.Body != nil {
			b, _ = io.ReadAll(q.Body)
		}
		if match(q, b) {
			return f
		}
		return kisitest.Fault{}
	})
}

// roleIn reports whether q writes a role in group (a create; nothing of the SDK's exists there
// to patch or delete).
func roleIn(q *http.Request, body []byte, group int64) bool {
	if q.Method != http.MethodPost || q.URL.Path != "/role_assignments" {
		return false
	}
	var v struct {
		RA kisi.RoleAssignmentCreateRequest `json:"role_assignment"`
	}
	return json.Unmarshal(body, &v) == nil && v.RA.AppliesToID == group
}

// touches reports whether c concerns group: a write in it, or a read of its roles or links.
func touches(c call, group int64) bool {
	g := strconv.FormatInt(group, 10)
	return c.group == group || c.query.Get("applies_to_id") == g || c.query.Get("group_id") == g ||
		c.path == "/groups/"+g
}

// failingNotifier fails every notification of one email and counts the calls.
type failingNotifier struct {
	email string
	mu    sync.Mutex
	calls []time.Time
	clock *simClock
}

// LinkCreated implements access.Notifier.
func (n *failingNotifier) LinkCreated(_ context.Context, l access.CreatedLink) error {
	if !strings.EqualFold(l.Email, n.email) {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls = append(n.calls, n.clock.Now())
	return fmt.Errorf("mailer: connection refused")
}

func (n *failingNotifier) times() []time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]time.Time(nil), n.calls...)
}

// scopeCase is one failure scope with its one failing key.
type scopeCase struct {
	scope, fault string
	// perTry is what one attempt on the key may send: its write, and the one look-up that
	// follows a refusal or a lost answer; a call the client retries (a read answered 5xx)
	// counts 1 + kisi.DefaultRetryMax.
	perTry int
	// perWake is what a run the host woke during the back-off may send on the key: the
	// organization's one probe (DESIGN.md, invariant 3); 0 for every narrower scope.
	perWake  int
	kisiOpts []kisitest.Option
	arrange  func(w *scopeWorld)
	// defect, when set, names the known defect of access that makes the case exceed its
	// bound: the figures are printed, and the test fails once the bound holds (the mark
	// must then go).
	defect string
}

// scopeWakes counts the host's data changes (every five minutes from 00:05) in each of
// scopeWindows: the runs the host wakes.
var scopeWakes = func() []int {
	out := make([]int, len(scopeWindows))
	for i, w := range scopeWindows {
		out[i] = int((w - time.Nanosecond) / (5 * time.Minute))
	}
	return out
}()

// bound is the most the case may spend on its key in the j-th of scopeWindows.
func (sc scopeCase) bound(j int) int { return sc.perTry*scopeTries[j] + sc.perWake*scopeWakes[j] }

var scopeCases = []scopeCase{
	{scope: "organization", fault: "every request answered 503; a member's grant pending",
		perTry: 1 + kisi.DefaultRetryMax, perWake: 1 + kisi.DefaultRetryMax,
		defect: "in the first hour, a run whose create failed with an unknown outcome asks for the next run a minute " +
			"later (apply.go, applyAfter), and each lookup of such a create costs the client's 1 + kisi.DefaultRetryMax " +
			"attempts; the lookups back off on their keys, so the cost is within the bound from the sixth hour on",
		arrange: func(w *scopeWorld) {
			w.failingMember("desk")
			w.intercept(kisitest.Fault{Status: http.StatusServiceUnavailable}, func(*http.Request, []byte) bool { return true })
			w.spent = func(call) bool { return true }
			w.exempt = func(access.Grant) bool { return true }
		}},
	{scope: "organization", fault: "every request answered 401 (the key revoked)", perTry: 1, perWake: 1,
		arrange: func(w *scopeWorld) {
			w.failingMember("desk")
			w.intercept(kisitest.Fault{Status: http.StatusUnauthorized}, func(*http.Request, []byte) bool { return true })
			w.spent = func(call) bool { return true }
			w.exempt = func(access.Grant) bool { return true }
		}},
	{scope: "group", fault: "403 on every role create in Kitchen", perTry: 1,
		arrange: func(w *scopeWorld) {
			w.failingMember("chef")
			w.intercept(kisitest.Fault{Status: http.StatusForbidden}, func(q *http.Request, b []byte) bool { return roleIn(q, b, w.kitchen) })
			w.spent = func(c call) bool { return touches(c, w.kitchen) }
			w.exempt = func(g access.Grant) bool { return g.GroupID == w.kitchen }
		}},
	{scope: "user", fault: "422 on one member's user create (a field other than the email)", perTry: 1,
		arrange: func(w *scopeWorld) {
			w.failingMember("desk")
			w.intercept(kisitest.Fault{Status: http.StatusUnprocessableEntity}, func(q *http.Request, b []byte) bool {
				return q.Method == http.MethodPost && q.URL.Path == "/users" && strings.Contains(string(b), failEmail)
			})
			w.spent = func(c call) bool {
				return c.email == failEmail || strings.EqualFold(c.query.Get("query"), failEmail) ||
					strings.EqualFold(c.query.Get("email"), failEmail)
			}
			w.exempt = func(g access.Grant) bool { return g.Email == failEmail }
		}},
	{scope: "change", fault: "422 on one member's grant in Kitchen", perTry: 2,
		arrange: func(w *scopeWorld) {
			w.failingMember("chef")
			w.intercept(kisitest.Fault{Status: http.StatusUnprocessableEntity}, func(q *http.Request, b []byte) bool { return roleIn(q, b, w.kitchen) })
			w.spent = func(c call) bool { return touches(c, w.kitchen) }
			w.exempt = func(g access.Grant) bool { return g.GroupID == w.kitchen }
		}},
	{scope: "quota", fault: "email-link quota (4) full of hand-made links; a guest booked 5 days ahead", perTry: 2,
		kisiOpts: []kisitest.Option{kisitest.WithEmailLinkLimit(4)},
		arrange: func(w *scopeWorld) {
			w.handLinks(w.kitchen, 4)
			start := classDay.AddDate(0, 0, 5).Add(9 * time.Hour)
			w.snap.Bookings = append(w.snap.Bookings, access.Booking{ID: "guest", ResourceID: "kitchen",
				Guest: &access.Guest{Name: "Guest", Email: failEmail}, Start: start, End: start.Add(2 * time.Hour)})
			w.spent = func(c call) bool {
				return c.email == failEmail || strings.Contains(strings.ToLower(c.query.Get("query")), failEmail)
			}
			w.exempt = func(g access.Grant) bool { return g.Email == failEmail }
		}},
	{scope: "host", fault: "the Notifier fails every call for a guest's link", perTry: 1,
		arrange: func(w *scopeWorld) {
			start := classDay.Add(2 * time.Hour)
			w.snap.Bookings = append(w.snap.Bookings, access.Booking{ID: "guest", ResourceID: "kitchen",
				Guest: &access.Guest{Name: "Guest", Email: failEmail}, Start: start, End: start.Add(48 * time.Hour)})
			w.countNotes = true
			w.exempt = func(g access.Grant) bool { return g.Email == failEmail }
		}},
	{scope: "unknown outcome", fault: "every role create in Kitchen applied, its answer lost; its look-ups answered 503",
		perTry: 2 + kisi.DefaultRetryMax,
		arrange: func(w *scopeWorld) {
			w.failingMember("chef")
			g := strconv.FormatInt(w.kitchen, 10)
			w.e.srv.Intercept(func(q *http.Request) kisitest.Fault {
				b, _ := io.ReadAll(q.Body)
				switch {
				case w.observed(q):
					return kisitest.Fault{}
				case roleIn(q, b, w.kitchen):
					return kisitest.Fault{Lost: true}
				case q.Method == http.MethodGet && q.URL.Path == "/role_assignments" && q.URL.Query().Get("applies_to_id") == g:
					return kisitest.Fault{Status: http.StatusServiceUnavailable}
				}
				return kisitest.Fault{}
			})
			w.spent = func(c call) bool { return touches(c, w.kitchen) }
			w.exempt = func(g access.Grant) bool { return g.GroupID == w.kitchen }
		}},
}

// handLinks makes n email links in group by hand (outside the recorder), valid all month.
func (w *scopeWorld) handLinks(group int64, n int) {
	for i := range n {
		email := fmt.Sprintf("visitor%d@example.net", i)
		until := classDay.AddDate(0, 1, 0)
		_, _, err := w.observer.CreateGroupLink(context.Background(), &kisi.GroupLinkCreateRequest{GroupID: group,
			Name: "Visitor", Email: &email, ValidUntil: &until})
		require.NoError(w.e.t, err)
	}
}

// listAll100 lists every page of 100.
func listAll100[T any](ctx context.Context, fetch func(kisi.ListOptions) ([]*T, *kisi.Response, error)) ([]*T, error) {
	var out []*T
	lo := kisi.ListOptions{Limit: 100}
	for {
		items, resp, err := fetch(lo)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if resp == nil || resp.NextOffset <= lo.Offset || len(items) == 0 {
			return out, nil
		}
		lo.Offset = resp.NextOffset
	}
}

// scopeCost is what one case measured.
type scopeCost struct {
	spent     []int // requests (or Notifier calls) on the failing key in each of scopeWindows
	runs      int
	requests  int    // all requests in the day
	lockouts  int    // healthy grants held, then missing after a run inside their window
	late      int    // healthy grants missing after a run inside their window, never held before
	dupRoles  int    // (user, group) pairs holding two roles at a check
	parked    int    // runs whose report parks or fails the failing key
	checked   int    // healthy grants found in force in Kisi after a run, inside their window
	lastPark  string // the class and reason of the failing key's last park
	firstMiss string
}

// TestScopeCost runs each failure scope's one failing key for a day and counts what it costs:
// the requests (for the host, the Notifier calls) spent on it in the first hour, 6 hours and
// the day, bounded by the design's back-off (scopeTries) times what one attempt sends; and
// that no grant outside the key is missing after any run (no lockout, no late grant), and no
// pair holds two roles.
func TestScopeCost(t *testing.T) {
	t.Parallel()
	results := make([]scopeCost, len(scopeCases))
	t.Run("scopes", func(t *testing.T) {
		for i, sc := range scopeCases {
			t.Run(sc.scope+"/"+sc.fault, func(t *testing.T) {
				t.Parallel()
				got := measureScope(t, sc)
				results[i] = got
				var over []string
				for j, w := range scopeWindows {
					if got.spent[j] > sc.bound(j) {
						over = append(over, fmt.Sprintf("%d in %v (bound %d)", got.spent[j], w, sc.bound(j)))
					}
				}
				switch {
				case sc.defect == "" && len(over) > 0:
					t.Errorf("%s: spent on the failing key %s", sc.scope, strings.Join(over, ", "))
				case sc.defect != "" && len(over) == 0:
					t.Errorf("%s: within its bounds; the known defect is fixed, remove its mark: %s", sc.scope, sc.defect)
				case sc.defect != "":
					t.Logf("known defect (%s): %s", strings.Join(over, ", "), sc.defect)
				}
				require.Positive(t, got.spent[0], "the failing key was never tried: the fault was not injected")
				require.Zero(t, got.lockouts, "healthy grants lost inside their window; first: %s", got.firstMiss)
				require.Zero(t, got.late, "healthy grants missing inside their window; first: %s", got.firstMiss)
				require.Zero(t, got.dupRoles, "pairs holding two roles")
			})
		}
	})
	var b strings.Builder
	fmt.Fprintf(&b, "\n| Scope | Failing key | Per attempt (+ per woken run) | 1st hour (bound) | 6 hours (bound) | 24 hours (bound) | Runs | Requests in all | Checks of healthy grants: lockouts / late |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for i, sc := range scopeCases {
		r := results[i]
		if r.spent == nil {
			continue
		}
		per := fmt.Sprint(sc.perTry)
		if sc.perWake > 0 {
			per += fmt.Sprintf(" (+ %d)", sc.perWake)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d (%d) | %d (%d) | %d (%d) | %d | %d | %d: %d / %d |\n",
			sc.scope, sc.fault, per, r.spent[0], sc.bound(0), r.spent[1], sc.bound(1), r.spent[2], sc.bound(2),
			r.runs, r.requests, r.checked, r.lockouts, r.late)
	}
	t.Log(b.String())
}

func measureScope(t *testing.T, sc scopeCase) scopeCost {
	e := newClassEnv(t, classDay.Add(-time.Hour), append([]kisitest.Option{kisitest.WithUnlimitedUsers(observerEmail)}, sc.kisiOpts...)...)
	w := &scopeWorld{e: e, front: e.group("Front door"), room: e.group("Room"), kitchen: e.group("Kitchen")}
	key, err := e.srv.NewUserKey(observerEmail, "organization_administrator")
	require.NoError(t, err)
	w.observerKey = key
	w.observer, err = kisi.NewClient(key, kisi.WithBaseURL(e.srv.URL), kisi.WithHTTPClient(e.srv.Client()),
		kisi.WithRateLimit(rate.Inf, 0), kisi.WithRetry(0, 0, 0))
	require.NoError(t, err)
	w.m = mapping.Mapping{Plans: map[string][]int64{"desk": {w.front}, "chef": {w.front, w.kitchen}},
		Resources: map[string][]int64{"room": {w.room}, "kitchen": {w.kitchen}}, DropIn: mapping.DropIn{Link: true}}
	w.snap = access.Snapshot{
		Locations: []access.Location{{ID: "berlin", TimeZone: "Europe/Berlin"}},
		Resources: []access.Resource{{ID: "room", LocationID: "berlin"}, {ID: "kitchen", LocationID: "berlin"}},
	}
	for i := range 4 {
		id := fmt.Sprintf("m%02d", i)
		w.snap.Members = append(w.snap.Members, access.Member{ID: id, Email: fmt.Sprintf("member%02d@example.com", i), Name: id})
		w.snap.Plans = append(w.snap.Plans, access.Plan{ID: "plan-" + id, PlanID: "desk", MemberID: id,
			Start: classDay.AddDate(0, 0, -10), Status: access.PlanActive})
	}
	// Every five minutes a healthy member books the room from 20 to 50 minutes ahead.
	var evs []hostEvent
	for k := 1; k < int(scopeFailFor/(5*time.Minute)); k++ {
		at := classDay.Add(time.Duration(k) * 5 * time.Minute)
		b := access.Booking{ID: fmt.Sprintf("b%03d", k), ResourceID: "room", MemberID: fmt.Sprintf("m%02d", k%4),
			Start: at.Add(20 * time.Minute), End: at.Add(50 * time.Minute)}
		evs = append(evs, hostEvent{at: at, apply: func(s *access.Snapshot) { s.Bookings = append(s.Bookings, b) }})
	}
	// The healthy space is in sync before the key starts failing.
	w.notes = &failingNotifier{email: failEmail, clock: e.clock}
	r := e.reconciler(w.m, access.WithNotifier(w.notes))
	e.clock.AdvanceTo(classDay.Add(-10 * time.Minute))
	_, err = r.Sync(context.Background(), w.snap)
	require.NoError(t, err)
	e.clock.AdvanceTo(classDay)
	warm := len(e.rec.calls())
	sc.arrange(w)
	policy := access.DefaultPolicy()
	client := w.observer
	ctx := context.Background()
	var got scopeCost
	held := map[string]bool{}
	got.runs = e.drive(r, &w.snap, evs, classDay.Add(scopeFailFor), func(rep *access.Report, _ error) {
		for _, p := range rep.Parked {
			if p.Email == failEmail || p.GroupID == w.kitchen {
				got.parked++
				got.lastPark = fmt.Sprintf("%s: %s", p.Class, p.Reason)
				break
			}
		}
		if w.exempt == nil {
			return
		}
		now := e.clock.Now()
		grants, err := access.Desired(w.snap, w.m, policy, now)
		require.NoError(t, err)
		users, err := listAll100(ctx, func(lo kisi.ListOptions) ([]*kisi.User, *kisi.Response, error) {
			return client.ListUsers(ctx, &kisi.UserListOptions{ListOptions: lo})
		})
		require.NoError(t, err)
		ids := map[string]int64{}
		for _, u := range users {
			ids[strings.ToLower(u.Email)] = u.ID
		}
		in := map[[2]int64]int{} // (user, group) → roles valid now
		for _, g := range []int64{w.front, w.room, w.kitchen} {
			roles, err := listAll100(ctx, func(lo kisi.ListOptions) ([]*kisi.RoleAssignment, *kisi.Response, error) {
				return client.ListRoleAssignments(ctx, &kisi.RoleAssignmentListOptions{AppliesToType: kisi.ScopeGroup,
					AppliesToID: g, ListOptions: lo})
			})
			require.NoError(t, err)
			for _, ra := range roles {
				if schedule.NewSet(validity(ra.ValidFrom, ra.ValidUntil)).Contains(now) {
					in[[2]int64{ra.AssigneeID, g}]++
				}
			}
		}
		for _, n := range in {
			if n > 1 {
				got.dupRoles++
			}
		}
		for _, g := range grants {
			if g.MemberID == "" || w.exempt(g) || !schedule.NewSet(g.Window).Contains(now) {
				continue
			}
			key := fmt.Sprintf("%s in group %d", g.Email, g.GroupID)
			if in[[2]int64{ids[g.Email], g.GroupID}] > 0 {
				held[key] = true
				got.checked++
				continue
			}
			if held[key] {
				got.lockouts++
			} else {
				got.late++
			}
			if got.firstMiss == "" {
				got.firstMiss = key + " at " + now.Format(time.RFC3339)
			}
		}
	})
	log := e.rec.since(warm)
	got.requests = len(log)
	var spentAt []time.Time
	if w.countNotes {
		spentAt = w.notes.times()
	} else {
		for _, c := range log {
			if w.spent(c) {
				spentAt = append(spentAt, c.at)
			}
		}
	}
	got.spent = make([]int, len(scopeWindows))
	for _, at := range spentAt {
		for j, win := range scopeWindows {
			if at.Before(classDay.Add(win)) {
				got.spent[j]++
			}
		}
	}
	var first []string
	for _, at := range spentAt[:min(len(spentAt), 40)] {
		first = append(first, at.Format("15:04:05"))
	}
	t.Logf("%s (%s): %d runs, %d requests; on the failing key %v in %v; parked in %d reports (last: %s); "+
		"lockouts %d, late grants %d, duplicate roles %d; first tries: %s",
		sc.scope, sc.fault, got.runs, got.requests, got.spent, scopeWindows, got.parked, got.lastPark, got.lockouts, got.late,
		got.dupRoles, strings.Join(first, " "))
	return got
}
