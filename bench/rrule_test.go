package bench_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"github.com/teambition/rrule-go"

	"github.com/kisisync/kisisync/schedule"
)

var weekdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}

// ruleSets are the rules compared with rrule-go: the common office week, and five mixed rules
// with an overnight one (Fri 22:00–02:00) and one whose start falls in Berlin's spring-forward
// gap and fall-back overlap (Sun 02:30–04:00).
var ruleSets = []struct {
	name  string
	rules []schedule.Rule
}{
	{name: "weekdays", rules: []schedule.Rule{
		{Days: weekdays, From: schedule.Clock{Hour: 9}, To: schedule.Clock{Hour: 17}},
	}},
	{name: "mixed5", rules: []schedule.Rule{
		{Days: weekdays, From: schedule.Clock{Hour: 9}, To: schedule.Clock{Hour: 17}},
		{Days: []time.Weekday{time.Saturday}, From: schedule.Clock{Hour: 10}, To: schedule.Clock{Hour: 14}},
		{Days: []time.Weekday{time.Friday}, From: schedule.Clock{Hour: 22}, To: schedule.Clock{Hour: 2}},
		{Days: []time.Weekday{time.Tuesday, time.Thursday}, From: schedule.Clock{Hour: 18, Minute: 30}, To: schedule.Clock{Hour: 21}},
		{Days: []time.Weekday{time.Sunday}, From: schedule.Clock{Hour: 2, Minute: 30}, To: schedule.Clock{Hour: 4}},
	}},
}

// berlinYear returns Europe/Berlin and the calendar year 2026 there.
func berlinYear(tb testing.TB) (*time.Location, schedule.Interval) {
	tb.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(tb, err)
	return loc, schedule.Interval{
		Start: time.Date(2026, time.January, 1, 0, 0, 0, 0, loc),
		End:   time.Date(2027, time.January, 1, 0, 0, 0, 0, loc),
	}
}

var rruleDays = map[time.Weekday]rrule.Weekday{
	time.Monday: rrule.MO, time.Tuesday: rrule.TU, time.Wednesday: rrule.WE, time.Thursday: rrule.TH,
	time.Friday: rrule.FR, time.Saturday: rrule.SA, time.Sunday: rrule.SU,
}

// rruleExpand computes what schedule.Expand computes with rrule-go, driven the way rrule-go
// handles DST correctly: in local wall time. Each rule becomes a weekly RRULE whose DTSTART is
// the rule's From in loc two days before the window (so that an overnight occurrence of the
// evening before is seen); each occurrence ends at the rule's To on the same local date, or the
// next one for an overnight rule, built with time.Date in loc as rrule-go builds its starts.
// Occurrences that overlap window are kept whole. The result is not normalized.
func rruleExpand(rules []schedule.Rule, loc *time.Location, window schedule.Interval) ([]schedule.Interval, error) {
	ws := window.Start.In(loc)
	var out []schedule.Interval
	for _, r := range rules {
		days := make([]rrule.Weekday, len(r.Days))
		for i, d := range r.Days {
			days[i] = rruleDays[d]
		}
		rr, err := rrule.NewRRule(rrule.ROption{
			Freq:      rrule.WEEKLY,
			Dtstart:   time.Date(ws.Year(), ws.Month(), ws.Day()-2, r.From.Hour, r.From.Minute, 0, 0, loc),
			Byweekday: days,
		})
		if err != nil {
			return nil, fmt.Errorf("rule %v: %w", r, err)
		}
		extra := 0
		if r.Overnight() {
			extra = 1
		}
		for _, s := range rr.Between(ws.AddDate(0, 0, -2), window.End, true) {
			y, m, d := s.Date()
			e := time.Date(y, m, d+extra, r.To.Hour, r.To.Minute, 0, 0, loc)
			iv := schedule.Interval{Start: s, End: e}
			if iv.IsEmpty() || !iv.Start.Before(window.End) || !window.Start.Before(iv.End) {
				continue
			}
			out = append(out, iv)
		}
	}
	return out, nil
}

// utcString renders intervals in UTC so that differences read unambiguously.
func utcString(ivs []schedule.Interval) []string {
	out := make([]string, len(ivs))
	for i, iv := range ivs {
		out[i] = iv.Start.UTC().Format(time.RFC3339) + "/" + iv.End.UTC().Format(time.RFC3339)
	}
	return out
}

func TestExpandMatchesRRule(t *testing.T) {
	t.Parallel()
	loc, window := berlinYear(t)
	tests := []struct {
		name string
		// wantExpand and wantRRule are the occurrences where the two differ, in UTC: the DST
		// policy of package schedule against what time.Date (and so rrule-go) does.
		wantExpand, wantRRule []string
		wantLen               int
	}{
		{name: "weekdays", wantLen: 261},
		{
			name: "mixed5",
			// 2026-03-29 02:30 does not exist in Berlin: Expand starts at the jump (03:00 CEST),
			// time.Date gives 02:30 in the old offset (03:30 CEST). 2026-10-25 02:30 occurs
			// twice: Expand takes the first (CEST), time.Date the second (CET).
			wantExpand: []string{"2026-03-29T01:00:00Z/2026-03-29T02:00:00Z", "2026-10-25T00:30:00Z/2026-10-25T03:00:00Z"},
			wantRRule:  []string{"2026-03-29T01:30:00Z/2026-03-29T02:00:00Z", "2026-10-25T01:30:00Z/2026-10-25T03:00:00Z"},
			wantLen:    522, // 261 weekdays, 52 Saturdays, 52 Fridays, 105 Tuesdays and Thursdays, 52 Sundays
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var rules []schedule.Rule
			for _, rs := range ruleSets {
				if rs.name == tc.name {
					rules = rs.rules
				}
			}
			require.NotEmpty(t, rules)
			ours, err := schedule.Expand(rules, loc, window)
			require.NoError(t, err)
			raw, err := rruleExpand(rules, loc, window)
			require.NoError(t, err)
			theirs := schedule.NewSet(raw...)

			require.Equal(t, tc.wantLen, ours.Len(), "occurrences of schedule.Expand")
			gotExpand, gotRRule := differing(ours, theirs)
			if diff := cmp.Diff(tc.wantExpand, gotExpand); diff != "" {
				t.Errorf("occurrences only schedule.Expand gives (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantRRule, gotRRule); diff != "" {
				t.Errorf("occurrences only rrule-go gives (-want +got):\n%s", diff)
			}
			t.Logf("%s: %d occurrences, %d differ", tc.name, ours.Len(), len(gotExpand))
		})
	}
}

// differing returns the intervals of a that are not intervals of b, and those of b that are not
// of a, compared whole.
func differing(a, b schedule.Set) (onlyA, onlyB []string) {
	in := func(s schedule.Set) map[string]bool {
		m := map[string]bool{}
		for _, v := range utcString(s.Intervals()) {
			m[v] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	for _, v := range utcString(a.Intervals()) {
		if !mb[v] {
			onlyA = append(onlyA, v)
		}
	}
	for _, v := range utcString(b.Intervals()) {
		if !ma[v] {
			onlyB = append(onlyB, v)
		}
	}
	return onlyA, onlyB
}

// TestRRuleDrivenInUTC shows why rrule-go must be driven in local time: the same office hours
// expressed in UTC drift by an hour for the months of summer time.
func TestRRuleDrivenInUTC(t *testing.T) {
	t.Parallel()
	loc, window := berlinYear(t)
	rules := ruleSets[0].rules
	ours, err := schedule.Expand(rules, loc, window)
	require.NoError(t, err)
	// 09:00–17:00 CET is 08:00–16:00 UTC.
	utcRules := []schedule.Rule{{Days: weekdays, From: schedule.Clock{Hour: 8}, To: schedule.Clock{Hour: 16}}}
	raw, err := rruleExpand(utcRules, time.UTC, window)
	require.NoError(t, err)
	onlyOurs, _ := differing(ours, schedule.NewSet(raw...))
	require.NotEmpty(t, onlyOurs, "a UTC-driven rule should drift across DST")
	t.Logf("driven in UTC, %d of %d occurrences are an hour off", len(onlyOurs), ours.Len())
}

// reportCPU measures the CPU time of the process during the rest of the benchmark and reports
// it as cpu-ns/op: on a shared machine it depends less on the other jobs than wall time.
func reportCPU(b *testing.B) {
	b.Helper()
	c0, ok := cpuTime()
	if !ok {
		return
	}
	b.Cleanup(func() {
		if c1, ok := cpuTime(); ok && b.N > 0 {
			b.ReportMetric(float64(c1-c0)/float64(b.N), "cpu-ns/op")
		}
	})
}

// BenchmarkExpand expands each rule set over 2026 in Europe/Berlin: schedule.Expand alone
// (lib=kisisync), schedule.Expand with every occurrence read back as an Interval
// (lib=kisisync-Intervals), and rrule-go driven as rruleExpand does (lib=rrule-go). Each
// reports the CPU time of the process per operation (cpu-ns/op) next to wall time.
func BenchmarkExpand(b *testing.B) {
	loc, window := berlinYear(b)
	for _, rs := range ruleSets {
		want, err := schedule.Expand(rs.rules, loc, window)
		require.NoError(b, err)
		b.Run(rs.name+"/lib=kisisync", func(b *testing.B) {
			b.ReportAllocs()
			reportCPU(b)
			for b.Loop() {
				s, err := schedule.Expand(rs.rules, loc, window)
				if err != nil || s.Len() != want.Len() {
					b.Fatalf("Expand = %d occurrences, %v", s.Len(), err)
				}
			}
		})
		// A Set makes its time.Time values when they are read; this row reads every
		// occurrence as an Interval, which is what the rrule-go row builds.
		b.Run(rs.name+"/lib=kisisync-Intervals", func(b *testing.B) {
			b.ReportAllocs()
			reportCPU(b)
			for b.Loop() {
				s, err := schedule.Expand(rs.rules, loc, window)
				if ivs := s.Intervals(); err != nil || len(ivs) != want.Len() {
					b.Fatalf("Expand = %d occurrences, %v", len(ivs), err)
				}
			}
		})
		b.Run(rs.name+"/lib=rrule-go", func(b *testing.B) {
			b.ReportAllocs()
			reportCPU(b)
			for b.Loop() {
				ivs, err := rruleExpand(rs.rules, loc, window)
				if err != nil || len(ivs) == 0 {
					b.Fatalf("rruleExpand = %d occurrences, %v", len(ivs), err)
				}
			}
		})
	}
}
