package access_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jonboulle/clockwork"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/internal/spacegen"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// sameTime compares instants and their locations: the incremental plan must
// give the very times the full one does.
var sameTime = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) && a.Location().String() == b.Location().String() })

// eventStream mutates a snapshot the way a platform's events do, one event
// at a time, and moves the clock on.
type eventStream struct {
	r     *rand.Rand
	s     *access.Snapshot
	now   time.Time
	n     int // IDs of new records
	zones []string
}

// step applies one random event to the snapshot (sometimes in place,
// sometimes on new slices, as hosts do either) and returns its name.
func (ev *eventStream) step() string {
	s, r := ev.s, ev.r
	ev.n++
	id := fmt.Sprintf("x%04d", ev.n)
	near := func() time.Time {
		return ev.now.Add(time.Duration(r.IntN(48*4)-8) * 15 * time.Minute)
	}
	member := func() string {
		if len(s.Members) == 0 {
			return "nobody"
		}
		return s.Members[r.IntN(len(s.Members))].ID
	}
	resource := func() string {
		if len(s.Resources) == 0 || r.IntN(30) == 0 {
			return "no-such-resource"
		}
		return s.Resources[r.IntN(len(s.Resources))].ID
	}
	insert := func(xs int, add func(at int)) {
		at := xs
		if r.IntN(3) == 0 {
			at = r.IntN(xs + 1)
		}
		add(at)
	}
	switch x := r.IntN(100); {
	case x < 14: // a booking by a member, or a guest
		start := near()
		b := access.Booking{ID: id, ResourceID: resource(), MemberID: member(), Start: start, End: start.Add(time.Duration(1+r.IntN(8)) * 30 * time.Minute)}
		if r.IntN(4) == 0 {
			email := fmt.Sprintf("guest%d@example.org", r.IntN(5))
			if r.IntN(4) == 0 && len(s.Members) > 0 {
				email = strings.ToUpper(s.Members[r.IntN(len(s.Members))].Email)
			}
			if r.IntN(20) == 0 {
				email = "not an email"
			}
			b.MemberID, b.Guest = "", &access.Guest{Name: []string{"", "Ann", "Bob"}[r.IntN(3)], Email: email}
		}
		if r.IntN(25) == 0 && len(s.Bookings) > 0 {
			b.ID = s.Bookings[r.IntN(len(s.Bookings))].ID // a repeated ID
		}
		if r.IntN(30) == 0 {
			b.End = b.Start // an invalid window
		}
		insert(len(s.Bookings), func(at int) { s.Bookings = slices.Insert(slices.Clip(s.Bookings), at, b) })
		return "book"
	case x < 24: // a booking moved, in place
		if len(s.Bookings) == 0 {
			return "none"
		}
		b := &s.Bookings[r.IntN(len(s.Bookings))]
		d := time.Duration(r.IntN(17)-8) * 30 * time.Minute
		b.Start, b.End = b.Start.Add(d), b.End.Add(d)
		if b.Guest != nil && r.IntN(2) == 0 {
			b.Guest.Name += "!" // the guest renamed, in place
		}
		return "move"
	case x < 34: // a booking cancelled
		if len(s.Bookings) == 0 {
			return "none"
		}
		i := r.IntN(len(s.Bookings))
		s.Bookings = slices.Delete(slices.Clone(s.Bookings), i, i+1)
		return "cancel"
	case x < 40: // a member joins, with a plan
		email := fmt.Sprintf("new%d@example.com", ev.n)
		if r.IntN(5) == 0 && len(s.Members) > 0 {
			email = s.Members[r.IntN(len(s.Members))].Email // a shared email
		}
		s.Members = append(slices.Clip(s.Members), access.Member{ID: "m" + id, Email: email, Suspended: r.IntN(10) == 0})
		s.Plans = append(slices.Clip(s.Plans), access.Plan{ID: "p" + id, PlanID: "product00", MemberID: "m" + id, Start: near(), Status: access.PlanActive})
		return "join"
	case x < 44: // a member leaves (their records stay, unknown now)
		if len(s.Members) == 0 {
			return "none"
		}
		i := r.IntN(len(s.Members))
		s.Members = slices.Delete(slices.Clone(s.Members), i, i+1)
		return "leave"
	case x < 54: // a plan changes
		if len(s.Plans) == 0 {
			return "none"
		}
		pl := &s.Plans[r.IntN(len(s.Plans))]
		switch r.IntN(4) {
		case 0:
			pl.Status = access.PlanStatus(r.IntN(3))
		case 1:
			pl.End = near()
			if !pl.End.After(pl.Start) {
				pl.End = time.Time{}
			}
		case 2:
			pl.PlanID = fmt.Sprintf("product%02d", r.IntN(5))
		default:
			pl.End = time.Time{}
		}
		return "plan"
	case x < 58: // a team changes
		if len(s.Teams) == 0 || len(s.Members) == 0 {
			return "none"
		}
		ts := slices.Clone(s.Teams)
		t := &ts[r.IntN(len(ts))]
		if r.IntN(2) == 0 && len(t.MemberIDs) > 0 {
			t.MemberIDs = t.MemberIDs[:len(t.MemberIDs)-1]
		} else {
			t.MemberIDs = append(slices.Clip(t.MemberIDs), member())
		}
		s.Teams = ts
		return "team"
	case x < 68: // a check-in, or a check-out
		open := slices.IndexFunc(s.CheckIns, func(c access.CheckIn) bool { return c.Out.IsZero() && c.At.Before(ev.now) })
		if open >= 0 && r.IntN(2) == 0 {
			s.CheckIns[open].Out = ev.now
			return "checkout"
		}
		if len(s.Locations) == 0 {
			return "none"
		}
		s.CheckIns = append(slices.Clip(s.CheckIns), access.CheckIn{ID: id, MemberID: member(), LocationID: s.Locations[r.IntN(len(s.Locations))].ID, At: ev.now.Add(-time.Duration(r.IntN(60)) * time.Minute)})
		return "checkin"
	case x < 73: // an allowance
		a := access.Allowance{ID: id, AllowanceID: "pass00", Start: near()}
		a.End = a.Start.Add(time.Duration(1+r.IntN(30)) * time.Hour)
		if r.IntN(4) == 0 && len(s.Teams) > 0 {
			a.TeamID = s.Teams[r.IntN(len(s.Teams))].ID
		} else {
			a.MemberID = member()
		}
		insert(len(s.Allowances), func(at int) { s.Allowances = slices.Insert(slices.Clip(s.Allowances), at, a) })
		return "allowance"
	case x < 78: // an assignment added, or its rules changed in place
		if r.IntN(2) == 0 && len(s.Assignments) > 0 {
			a := &s.Assignments[r.IntN(len(s.Assignments))]
			if len(a.Rules) > 0 {
				a.Rules[0].From = schedule.Clock{Hour: r.IntN(24)}
				a.Rules[0].Days[0] = time.Weekday(r.IntN(7))
			}
			return "rules"
		}
		a := access.Assignment{ID: id, ResourceID: resource(), MemberID: member(), Start: ev.now.Add(-time.Duration(r.IntN(30)) * 24 * time.Hour),
			Rules: []schedule.Rule{{Days: []time.Weekday{time.Weekday(r.IntN(7)), time.Weekday(r.IntN(7))}, From: schedule.Clock{Hour: r.IntN(24)}, To: schedule.Clock{Hour: r.IntN(24)}}}}
		if r.IntN(3) == 0 {
			a.Rules = nil
			a.End = near()
			if !a.End.After(a.Start) {
				a.End = time.Time{}
			}
		}
		s.Assignments = append(slices.Clip(s.Assignments), a)
		return "assignment"
	case x < 80: // a location moves to another zone
		if len(s.Locations) == 0 {
			return "none"
		}
		ls := slices.Clone(s.Locations)
		ls[r.IntN(len(ls))].TimeZone = ev.zones[r.IntN(len(ev.zones))]
		s.Locations = ls
		return "zone"
	case x < 82: // a member suspended or cleared
		if len(s.Members) == 0 {
			return "none"
		}
		ms := slices.Clone(s.Members)
		i := r.IntN(len(ms))
		ms[i].Suspended = !ms[i].Suspended
		s.Members = ms
		return "suspend"
	case x < 84: // the same snapshot again
		return "same"
	default: // time passes
		switch r.IntN(4) {
		case 0:
			ev.now = ev.now.Add(time.Duration(1+r.IntN(59)) * time.Minute)
		case 1:
			ev.now = ev.now.Add(time.Duration(1+r.IntN(12)) * time.Hour)
		case 2:
			ev.now = ev.now.Add(time.Duration(20+r.IntN(30)) * time.Hour)
		default:
			ev.now = ev.now.Add(time.Duration(r.IntN(300)) * time.Second)
		}
		return "time"
	}
}

// incrementalCases are the generated spaces, mappings and policies the
// property tests run over.
func incrementalCases(seed uint64) (access.Snapshot, mapping.Mapping, access.Policy, time.Time) {
	r := rand.New(rand.NewPCG(seed, 7))
	c := spacegen.Small(seed, monday)
	if seed%3 == 0 {
		c.Members, c.Bookings, c.CheckIns, c.Assignments = 40, 200, 40, 12
	}
	s, m := spacegen.Generate(c)
	switch seed % 4 {
	case 1:
		m.DropIn.AddToGroup = false
	case 2:
		m.DropIn = mapping.DropIn{}
	}
	p := access.Policy{
		Buffer:   schedule.Buffer{Before: time.Duration(r.IntN(31)) * time.Minute, After: time.Duration(r.IntN(31)) * time.Minute},
		Lead:     time.Duration(r.IntN(61)) * time.Minute,
		Validity: []time.Duration{0, access.UnboundedValidity, 48 * time.Hour}[r.IntN(3)],
	}
	if seed%5 == 0 {
		p.CheckInFor = 3 * time.Hour
		p.ResourceBuffers = map[string]schedule.Buffer{s.Resources[0].ID: {Before: time.Hour}}
	}
	return s, m, p, monday.Add(time.Duration(r.IntN(6*24)) * time.Hour)
}

// errorTexts are the messages of err's record errors, sorted, as a plan
// lists them.
func errorTexts(errs ...error) []string {
	var out []string
	for _, err := range errs {
		if err == nil {
			continue
		}
		for _, re := range access.RecordErrors(err) {
			out = append(out, re.Error())
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// checkIncremental fails t unless d's desired access of s at now equals
// Desired, Links and NextChange on the whole snapshot.
func checkIncremental(t *testing.T, d *access.IncrementalDesired, s access.Snapshot, m mapping.Mapping, p access.Policy, now time.Time, where string) {
	t.Helper()
	grants, links, errs, next, ok := d.At(s, now)
	wantGrants, err1 := access.Desired(s, m, p, now)
	wantLinks, err2 := access.Links(s, m, p, now)
	wantNext, wantOK := access.NextChange(s, m, p, now)
	if diff := cmp.Diff(wantGrants, grants, sameTime, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("%s: grants (-full +incremental):\n%s", where, diff)
	}
	if diff := cmp.Diff(wantLinks, links, sameTime, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("%s: links (-full +incremental):\n%s", where, diff)
	}
	if diff := cmp.Diff(errorTexts(err1, err2), errorTexts(errs...)); diff != "" {
		t.Fatalf("%s: record errors (-full +incremental):\n%s", where, diff)
	}
	if ok != wantOK || ok && (!next.Equal(wantNext) || next.Location().String() != wantNext.Location().String()) {
		t.Fatalf("%s: next change %v %v, full %v %v", where, next, ok, wantNext, wantOK)
	}
}

// FuzzIncrementalEqualsFull is TestIncrementalEqualsFull on the space,
// event stream and number of events the fuzzer picks.
func FuzzIncrementalEqualsFull(f *testing.F) {
	f.Add(uint64(1), uint64(1), uint8(40))
	f.Add(uint64(3), uint64(9), uint8(60))
	f.Add(uint64(6), uint64(2), uint8(20))
	f.Fuzz(func(t *testing.T, space, events uint64, steps uint8) {
		s, m, p, now := incrementalCases(space%1000 + 1)
		ev := &eventStream{r: rand.New(rand.NewPCG(events, 11)), s: &s, now: now,
			zones: []string{"Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC", "Bogus/Zone"}}
		d := access.NewIncrementalDesired(m, p)
		for i := range int(steps%64) + 1 {
			what := "start"
			if i > 0 {
				what = ev.step()
			}
			checkIncremental(t, d, s, m, p, ev.now, fmt.Sprintf("step %d (%s) at %v", i, what, ev.now))
		}
	})
}

// TestIncrementalEqualsFull: over generated spaces and event streams
// (bookings added, moved and cancelled, members joining and leaving, plan,
// team and zone changes, check-ins and check-outs, guests, bad records, time
// passing), the desired access computed incrementally after every event
// equals Desired, Links and NextChange on the whole snapshot: the same
// grants (times in the same locations), links, record errors and next
// change.
func TestIncrementalEqualsFull(t *testing.T) {
	t.Parallel()
	seeds, steps := uint64(60), 80
	if testing.Short() {
		seeds = 12
	}
	var inc, full int
	for seed := uint64(1); seed <= seeds; seed++ {
		s, m, p, now := incrementalCases(seed)
		ev := &eventStream{r: rand.New(rand.NewPCG(seed, 11)), s: &s, now: now,
			zones: []string{"Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC", "Bogus/Zone"}}
		d := access.NewIncrementalDesired(m, p)
		for i := range steps {
			what := "start"
			if i > 0 {
				what = ev.step()
			}
			checkIncremental(t, d, s, m, p, ev.now, fmt.Sprintf("seed %d, step %d (%s) at %v", seed, i, what, ev.now))
		}
		inc += d.Incremental
		full += d.Full
	}
	t.Logf("%d steps incremental, %d in full", inc, full)
	// The test proves something only if most steps were incremental (the
	// others: structure changed, repeated IDs, next change beyond a day).
	if inc <= full {
		t.Errorf("%d steps incremental, %d in full: want most incremental", inc, full)
	}
}

// TestIncrementalPlanEqualsFull: a Reconciler that plans incrementally
// plans what one that computes every plan in full does, after every event
// of generated event streams, against the same Store.
func TestIncrementalPlanEqualsFull(t *testing.T) {
	t.Parallel()
	seeds, steps := uint64(16), 40
	if testing.Short() {
		seeds = 4
	}
	client, err := kisi.NewClient("test-key", kisi.WithBaseURL("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		s, m, p, now := incrementalCases(seed)
		ev := &eventStream{r: rand.New(rand.NewPCG(seed, 13)), s: &s, now: now,
			zones: []string{"Europe/Berlin", "America/New_York", "UTC"}}
		clock := clockwork.NewFakeClockAt(now)
		st := access.NewMemoryStore()
		rInc, err := access.NewReconciler(client, st, m, p, access.WithClock(clock))
		if err != nil {
			t.Fatal(err)
		}
		rFull, err := access.NewReconciler(client, st, m, p, access.WithClock(clock))
		if err != nil {
			t.Fatal(err)
		}
		access.SetIncremental(rInc, true)
		access.SetIncremental(rFull, false)
		for i := range steps {
			what := "start"
			if i > 0 {
				what = ev.step()
				clock.Advance(ev.now.Sub(clock.Now()))
			}
			got, err := access.PlanChanges(t.Context(), rInc, s)
			if err != nil {
				t.Fatal(err)
			}
			want, err := access.PlanChanges(t.Context(), rFull, s)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, sameTime, cmp.AllowUnexported(access.Changes{}), cmpopts.EquateEmpty(),
				cmp.Comparer(func(a, b *time.Location) bool { return a.String() == b.String() }),
				cmp.Comparer(func(a, b error) bool { return a.Error() == b.Error() })); diff != "" {
				t.Fatalf("seed %d, step %d (%s): plan (-full +incremental):\n%s", seed, i, what, diff)
			}
		}
	}
}

// TestIncrementalOwnsItsCopies: what a plan returns is the host's to change;
// the next plan is computed from what the Reconciler kept, not from it.
func TestIncrementalOwnsItsCopies(t *testing.T) {
	t.Parallel()
	client, err := kisi.NewClient("test-key", kisi.WithBaseURL("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	s, m, p, now := incrementalCases(3)
	clock := clockwork.NewFakeClockAt(now)
	r, err := access.NewReconciler(client, access.NewMemoryStore(), m, p, access.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	first, err := access.PlanChanges(t.Context(), r, s)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := range first.Changes {
		for j := range first.Changes[i].Sources {
			first.Changes[i].Sources[j].ID = "changed by the host"
			n++
		}
	}
	if n == 0 {
		t.Fatal("no change with sources to alter")
	}
	clock.Advance(time.Second)
	full, err := access.NewReconciler(client, access.NewMemoryStore(), m, p, access.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	access.SetIncremental(full, false)
	want, err := access.PlanChanges(t.Context(), full, s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := access.PlanChanges(t.Context(), r, s)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, sameTime, cmp.AllowUnexported(access.Changes{}), cmpopts.EquateEmpty(),
		cmp.Comparer(func(a, b *time.Location) bool { return a.String() == b.String() }),
		cmp.Comparer(func(a, b error) bool { return a.Error() == b.Error() })); diff != "" {
		t.Fatalf("plan after the host changed the last one (-want +got):\n%s", diff)
	}
}
