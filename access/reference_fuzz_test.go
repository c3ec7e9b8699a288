package access_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// fuzzBytes hands out small numbers read from fuzz input, and once it is
// used up from a generator seeded by the input, so that a short input
// still builds a snapshot of valid records.
type fuzzBytes struct {
	b    []byte
	rest *rand.Rand
}

func newFuzzBytes(data []byte) *fuzzBytes {
	var seed uint64
	for _, c := range data {
		seed = seed*31 + uint64(c)
	}
	return &fuzzBytes{b: data, rest: rand.New(rand.NewPCG(seed, uint64(len(data))))}
}

// n returns a number in [0, k).
func (f *fuzzBytes) n(k int) int {
	if len(f.b) == 0 {
		return f.rest.IntN(k)
	}
	v := int(f.b[0]) % k
	f.b = f.b[1:]
	return v
}

// pick returns one of xs.
func pick[T any](f *fuzzBytes, xs ...T) T { return xs[f.n(len(xs))] }

// fuzzChanges are instants around which fuzzed snapshots are built: clock
// changes of the zones fuzzFromBytes uses (New York's, Berlin's, Sydney's,
// Santiago's at local midnight, Lord Howe's half hour), and one instant
// without a change.
var fuzzChanges = []time.Time{
	time.Date(2026, time.March, 8, 7, 0, 0, 0, time.UTC),     // New York springs forward
	time.Date(2026, time.March, 29, 1, 0, 0, 0, time.UTC),    // Berlin springs forward
	time.Date(2026, time.April, 4, 16, 0, 0, 0, time.UTC),    // Sydney falls back
	time.Date(2026, time.April, 5, 3, 0, 0, 0, time.UTC),     // Santiago falls back at midnight
	time.Date(2026, time.April, 4, 15, 0, 0, 0, time.UTC),    // Lord Howe falls back half an hour
	time.Date(2026, time.September, 6, 4, 0, 0, 0, time.UTC), // Santiago springs forward at midnight
	time.Date(2026, time.October, 25, 1, 0, 0, 0, time.UTC),  // Berlin falls back
	time.Date(2026, time.November, 1, 6, 0, 0, 0, time.UTC),  // New York falls back
	time.Date(2026, time.June, 10, 12, 0, 0, 0, time.UTC),
}

// fuzzFromBytes builds a small snapshot, mapping, policy and instant from
// fuzz input. Most records are valid, but IDs now and then collide or are
// empty, references now and then name unknown or rejected records, emails
// are shared or malformed, and windows are empty or reversed; groups are
// shared across kinds, so windows of different kinds merge; times lie
// within about three days of a clock change, and weekly rules start and
// end near midnight and the changes' hours.
func fuzzFromBytes(data []byte) (access.Snapshot, mapping.Mapping, access.Policy, time.Time) {
	f := newFuzzBytes(data)
	base := pick(f, fuzzChanges...)
	// rarely is true about once in 40 draws: for the faults, so that most
	// records are valid.
	rarely := func() bool { return f.n(40) == 0 }
	instant := func() time.Time {
		return base.Add(time.Duration(f.n(256)-128) * 30 * time.Minute).Add(time.Duration(pick(f, 0, 0, 1, 15, 59)) * time.Minute)
	}
	// window returns a start and an end: an open end now and then, and now
	// and then no start or an end not after the start.
	window := func(openEnd bool) (time.Time, time.Time) {
		start := instant()
		if f.n(4) == 0 {
			start = base.AddDate(0, 0, -1-f.n(40)) // long before
		}
		end := start.Add(time.Duration(1+f.n(96)) * 30 * time.Minute)
		switch {
		case rarely():
			start = time.Time{}
		case rarely():
			end = start.Add(-time.Duration(f.n(2)) * time.Hour)
		case openEnd && f.n(4) == 0:
			end = time.Time{}
		}
		return start, end
	}
	// recID is the ID of the i-th record of a kind: now and then empty or
	// an earlier one's.
	recID := func(prefix string, i int) string {
		switch {
		case rarely():
			return ""
		case rarely():
			return fmt.Sprintf("%s%d", prefix, f.n(i+1))
		}
		return fmt.Sprintf("%s%d", prefix, i)
	}
	// ref names one of n records of a kind, now and then an unknown one.
	ref := func(prefix string, n int) string {
		if n == 0 || rarely() {
			return prefix + "?"
		}
		return fmt.Sprintf("%s%d", prefix, f.n(n))
	}
	var s access.Snapshot
	nLoc, nRes, nMem, nTeam := 1+f.n(3), 1+f.n(4), 1+f.n(6), f.n(3)
	for i := range nLoc {
		zone := pick(f, "Europe/Berlin", "America/New_York", "Australia/Sydney", "America/Santiago", "Australia/Lord_Howe", "UTC")
		if rarely() {
			zone = pick(f, "", "Local", "Nowhere/Zone")
		}
		s.Locations = append(s.Locations, access.Location{ID: recID("L", i), TimeZone: zone})
	}
	for i := range nRes {
		s.Resources = append(s.Resources, access.Resource{ID: recID("R", i), LocationID: ref("L", nLoc)})
	}
	for i := range nMem {
		email := fmt.Sprintf("m%d@example.com", i)
		switch {
		case f.n(8) == 0:
			email = pick(f, " Ann@Example.COM ", "ann@example.com") // shared
		case rarely():
			email = pick(f, "not-an-email", "", "a@b")
		}
		s.Members = append(s.Members, access.Member{ID: recID("M", i), Email: email, Suspended: f.n(8) == 0})
	}
	for i := range nTeam {
		t := access.Team{ID: recID("T", i)}
		for range 1 + f.n(3) {
			t.MemberIDs = append(t.MemberIDs, ref("M", nMem))
		}
		s.Teams = append(s.Teams, t)
	}
	holder := func() (member, team string) {
		switch {
		case nTeam > 0 && f.n(6) == 0:
			return "", ref("T", nTeam)
		case nTeam > 0 && f.n(12) == 0:
			return ref("M", nMem), ref("T", nTeam)
		case rarely():
			return "", ""
		}
		return ref("M", nMem), ""
	}
	for i := range f.n(6) {
		p := access.Plan{ID: recID("P", i), PlanID: pick(f, "desk", "office", "desk", "empty", "unknown"),
			Status: access.PlanStatus(pick(f, 1, 1, 1, 1, 1, 1, 0, 2))}
		if rarely() {
			p.Status = 3
		}
		p.Start, p.End = window(true)
		p.MemberID, p.TeamID = holder()
		s.Plans = append(s.Plans, p)
	}
	for i := range f.n(4) {
		a := access.Allowance{ID: recID("A", i), AllowanceID: pick(f, "pass", "pass", "none")}
		a.Start, a.End = window(true)
		a.MemberID, a.TeamID = holder()
		s.Allowances = append(s.Allowances, a)
	}
	for i := range f.n(8) {
		b := access.Booking{ID: recID("B", i), ResourceID: ref("R", nRes)}
		b.Start, b.End = window(rarely())
		switch {
		case f.n(4) == 0:
			b.Guest = &access.Guest{Name: pick(f, "Gus", "", " ", "Gail"),
				Email: pick(f, "gus@example.org", " GUS@example.org", "gail@example.org", "m0@example.com")}
			if rarely() {
				b.Guest.Email = "bad email"
			}
			if f.n(8) == 0 {
				b.MemberID = ref("M", nMem) // a member's booking: the guest is ignored
			}
		case rarely(): // neither member nor guest
		default:
			b.MemberID = ref("M", nMem)
		}
		s.Bookings = append(s.Bookings, b)
	}
	clock := func() schedule.Clock {
		c := schedule.Clock{Hour: pick(f, 0, 1, 2, 3, 22, 23, 9, 17), Minute: pick(f, 0, 0, 30, 15, 59)}
		if rarely() {
			c.Hour = 24
		}
		return c
	}
	for i := range f.n(4) {
		a := access.Assignment{ID: recID("S", i), ResourceID: ref("R", nRes)}
		a.Start, a.End = window(true)
		a.MemberID, a.TeamID = holder()
		for range f.n(4) {
			r := schedule.Rule{From: clock(), To: clock()}
			for d := range 7 {
				if f.n(2) == 0 {
					r.Days = append(r.Days, time.Weekday(d))
				}
			}
			a.Rules = append(a.Rules, r)
		}
		s.Assignments = append(s.Assignments, a)
	}
	for i := range f.n(5) {
		c := access.CheckIn{ID: recID("C", i), MemberID: ref("M", nMem), LocationID: ref("L", nLoc), At: instant()}
		switch {
		case f.n(4) == 0: // still checked in
		case rarely():
			c.Out = c.At.Add(-time.Duration(f.n(2)) * time.Hour) // before or at check-in
		default:
			c.Out = c.At.Add(time.Duration(1+f.n(40)) * 30 * time.Minute)
		}
		if rarely() {
			c.At = time.Time{}
		}
		s.CheckIns = append(s.CheckIns, c)
	}
	// Groups shared across kinds: 1 by plans, a resource and a location; 3
	// by an allowance, resources and a location.
	m := mapping.Mapping{
		Plans:      map[string][]int64{"desk": {1}, "office": {1, 2}, "empty": {}},
		Allowances: map[string][]int64{"pass": {2, 3}},
		Resources:  map[string][]int64{"R0": {3}, "R1": {3, 4}, "R2": {}, "R3": {1}},
		Locations:  map[string][]int64{"L0": {5, 3}, "L1": {3}, "L2": {1}},
		DropIn:     mapping.DropIn{Link: true, AddToGroup: f.n(2) == 0},
	}
	if f.n(2) == 0 {
		m.Default = []int64{9, 1}
	}
	minutes := func(n int) time.Duration { return time.Duration(f.n(n)) * 5 * time.Minute }
	p := access.Policy{Buffer: schedule.Buffer{Before: minutes(25), After: minutes(25)}, Lead: minutes(25)}
	if f.n(3) == 0 {
		p.ResourceBuffers = map[string]schedule.Buffer{"R1": {Before: minutes(37), After: minutes(37)}}
	}
	if f.n(3) == 0 {
		p.CheckInFor = time.Duration(1+f.n(12)) * time.Hour
	}
	at := base.Add(time.Duration(f.n(256)-128) * 15 * time.Minute).Add(time.Duration(pick(f, 0, 1, 59)) * time.Minute)
	return s, m, p, at
}

// FuzzDesiredMatchesReference checks Desired against referenceDesired on
// small snapshots built from fuzz input around clock changes: IDs that
// collide, references to unknown and rejected records, shared emails,
// suspended members, teams, drop-in guests, weekly rules across midnight
// and the changes, buffers that join occurrences, and windows of different
// kinds in one group. Its seeds are random inputs, so plain go test runs it
// on them too.
func FuzzDesiredMatchesReference(f *testing.F) {
	r := rand.New(rand.NewPCG(24, 24))
	for range 150 {
		seed := make([]byte, 160)
		for i := range seed {
			seed[i] = byte(r.UintN(256))
		}
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, m, p, at := fuzzFromBytes(data)
		checkAgainstReference(t, fmt.Sprintf("fuzz input %x", data), s, m, p, at)
	})
}
