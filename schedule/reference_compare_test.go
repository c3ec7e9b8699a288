package schedule

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// equivalenceZones are the zones in which Expand must agree with referenceExpand on every
// occurrence: two ordinary DST zones, a half-hour DST change (Lord Howe), the southern
// hemisphere (Sydney) and changes at midnight (Santiago).
var equivalenceZones = []string{
	"Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Australia/Sydney", "America/Santiago",
}

var (
	allDays  = []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}
	workdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
)

func clockAt(h, m int) Clock { return Clock{Hour: h, Minute: m} }

// fixedRuleSets are rule sets that stress the DST policy: starts and ends inside the gaps and
// overlaps of the zones above, overnight and whole-day rules, and rules that touch or overlap.
var fixedRuleSets = []struct {
	name  string
	rules []Rule
}{
	{"office", []Rule{{Days: workdays, From: clockAt(9, 0), To: clockAt(17, 0)}}},
	{"mixed5", []Rule{
		{Days: workdays, From: clockAt(9, 0), To: clockAt(17, 0)},
		{Days: []time.Weekday{time.Saturday}, From: clockAt(10, 0), To: clockAt(14, 0)},
		{Days: []time.Weekday{time.Friday}, From: clockAt(22, 0), To: clockAt(2, 0)},
		{Days: []time.Weekday{time.Tuesday, time.Thursday}, From: clockAt(18, 30), To: clockAt(21, 0)},
		{Days: []time.Weekday{time.Sunday}, From: clockAt(2, 30), To: clockAt(4, 0)},
	}},
	{"transition hours", []Rule{
		{Days: allDays, From: clockAt(2, 0), To: clockAt(2, 30)},
		{Days: allDays, From: clockAt(2, 15), To: clockAt(3, 0)},
		{Days: []time.Weekday{time.Sunday, time.Saturday}, From: clockAt(1, 30), To: clockAt(2, 15)},
		{Days: allDays, From: clockAt(23, 30), To: clockAt(0, 30)},
		{Days: allDays, From: clockAt(0, 0), To: clockAt(0, 15)},
	}},
	{"whole days", []Rule{{Days: []time.Weekday{time.Saturday, time.Sunday}, From: clockAt(0, 0), To: clockAt(0, 0)}}},
	{"every day overnight", []Rule{{Days: allDays, From: clockAt(22, 0), To: clockAt(6, 0)}}},
	{"touching", []Rule{
		{Days: workdays, From: clockAt(8, 0), To: clockAt(12, 0)},
		{Days: workdays, From: clockAt(12, 0), To: clockAt(18, 0)},
		{Days: allDays, From: clockAt(18, 0), To: clockAt(8, 0)},
	}},
}

// randomRules returns one to six rules whose days, starts and ends are drawn at random, with
// half of the clock times drawn from the hours around midnight, where DST changes happen.
func randomRules(r *rand.Rand) []Rule {
	clock := func() Clock {
		if r.IntN(2) == 0 {
			return clockAt([]int{23, 0, 1, 2, 3}[r.IntN(5)], []int{0, 15, 30, 45, r.IntN(60)}[r.IntN(5)])
		}
		return clockAt(r.IntN(24), r.IntN(60))
	}
	rules := make([]Rule, 1+r.IntN(6))
	for i := range rules {
		mask := 1 + r.IntN(127)
		for d := range 7 {
			if mask&(1<<d) != 0 {
				rules[i].Days = append(rules[i].Days, time.Weekday(d))
			}
		}
		if r.IntN(4) == 0 { // repeated days count once
			rules[i].Days = append(rules[i].Days, rules[i].Days[0])
		}
		rules[i].From, rules[i].To = clock(), clock()
	}
	return rules
}

// sameOccurrences describes the first difference between got and want, comparing instants and
// locations, or returns "".
func sameOccurrences(got, want Set) string {
	g, w := got.Intervals(), want.Intervals()
	for i := range min(len(g), len(w)) {
		if !g[i].Start.Equal(w[i].Start) || !g[i].End.Equal(w[i].End) ||
			g[i].Start.Location() != w[i].Start.Location() || g[i].End.Location() != w[i].End.Location() {
			return fmt.Sprintf("occurrence %d: got %v, want %v", i, g[i], w[i])
		}
	}
	if len(g) != len(w) {
		return fmt.Sprintf("got %d occurrences, want %d", len(g), len(w))
	}
	return ""
}

// TestExpandMatchesReference checks that Expand gives exactly the occurrences of the first
// implementation (referenceExpand): every occurrence from 2000 to 2040 in five zones for fixed
// and random rule sets, and random windows of up to 400 days, some starting at fractions of a
// second.
func TestExpandMatchesReference(t *testing.T) {
	t.Parallel()
	for zi, name := range equivalenceZones {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			loc, err := time.LoadLocation(name)
			if err != nil {
				t.Fatalf("load %s: %v", name, err)
			}
			check := func(what string, rules []Rule, window Interval) {
				t.Helper()
				got, gotErr := Expand(rules, loc, window)
				want, wantErr := referenceExpand(rules, loc, window)
				if (gotErr == nil) != (wantErr == nil) {
					t.Fatalf("%s: Expand(%v, %v) error %v, reference %v", what, rules, window, gotErr, wantErr)
				}
				if d := sameOccurrences(got, want); d != "" {
					t.Fatalf("%s: Expand(%v, %v): %s", what, rules, window, d)
				}
			}
			years := Interval{Start: time.Date(2000, 1, 1, 0, 0, 0, 0, loc), End: time.Date(2041, 1, 1, 0, 0, 0, 0, loc)}
			for _, rs := range fixedRuleSets {
				check(rs.name+", 2000-2040", rs.rules, years)
			}
			r := rand.New(rand.NewPCG(17, uint64(zi)))
			for i := range 8 {
				check(fmt.Sprintf("random rules %d, 2000-2040", i), randomRules(r), years)
			}
			span := years.End.Unix() - years.Start.Unix()
			for i := range 300 {
				start := years.Start.Add(time.Duration(r.Int64N(span)) * time.Second)
				if i%3 == 0 {
					start = start.Add(time.Duration(r.Int64N(int64(time.Second))))
				}
				length := time.Duration(r.Int64N(int64(400 * 24 * time.Hour)))
				if i%4 == 0 {
					length = time.Duration(r.Int64N(int64(3 * 24 * time.Hour)))
				}
				rules := fixedRuleSets[r.IntN(len(fixedRuleSets))].rules
				if i%2 == 0 {
					rules = randomRules(r)
				}
				check(fmt.Sprintf("random window %d", i), rules, Interval{Start: start, End: start.Add(length)})
			}
		})
	}
}

// TestExpandMatchesReferenceAtTheEdges compares the two at the ends of the range of instants
// Expand accepts: windows reaching before year 1 and past Forever, and windows too long.
func TestExpandMatchesReferenceAtTheEdges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		zone   string
		window Interval
	}{
		{"year 1", "Europe/Berlin", Interval{Start: time.Date(-1, 12, 25, 0, 0, 0, 0, time.UTC), End: time.Date(1, 2, 1, 0, 0, 0, 0, time.UTC)}},
		{"forever", "America/Santiago", Interval{Start: time.Date(9999, 12, 20, 0, 0, 0, 0, time.UTC), End: time.Date(10000, 3, 1, 0, 0, 0, 0, time.UTC)}},
		{"forever exactly", "UTC", Interval{Start: Forever.Add(-3 * 24 * time.Hour), End: Forever}},
		{"too long", "Australia/Sydney", Interval{Start: time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"empty", "Europe/Berlin", Interval{Start: time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)}},
		{"apia skipped day", "Pacific/Apia", Interval{Start: time.Date(2011, 12, 20, 0, 0, 0, 0, time.UTC), End: time.Date(2012, 1, 10, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			loc, err := time.LoadLocation(tc.zone)
			if err != nil {
				t.Fatalf("load %s: %v", tc.zone, err)
			}
			for _, rs := range fixedRuleSets {
				got, gotErr := Expand(rs.rules, loc, tc.window)
				want, wantErr := referenceExpand(rs.rules, loc, tc.window)
				if (gotErr == nil) != (wantErr == nil) {
					t.Fatalf("%s: error %v, reference %v", rs.name, gotErr, wantErr)
				}
				if d := sameOccurrences(got, want); d != "" {
					t.Errorf("%s: %s", rs.name, d)
				}
			}
		})
	}
}
