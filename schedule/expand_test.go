package schedule_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/schedule"
)

var (
	weekdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	everyDay = []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}
)

func clk(h, m int) schedule.Clock { return schedule.Clock{Hour: h, Minute: m} }

func rule(days []time.Weekday, fromH, fromM, toH, toM int) schedule.Rule {
	return schedule.Rule{Days: days, From: clk(fromH, fromM), To: clk(toH, toM)}
}

// strs formats each interval of s with [schedule.Interval.String].
func strs(s schedule.Set) []string {
	var out []string
	for v := range s.All() {
		out = append(out, v.String())
	}
	return out
}

func TestWallTime(t *testing.T) {
	t.Parallel()
	utc := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }
	tests := []struct {
		zone              string
		y                 int
		m                 time.Month
		d, hour, minute   int
		want              time.Time
		wantOffsetMinutes int
	}{
		// America/New_York: 2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST.
		{"America/New_York", 2026, 3, 8, 1, 59, utc(2026, 3, 8, 6, 59), -300},
		{"America/New_York", 2026, 3, 8, 2, 0, utc(2026, 3, 8, 7, 0), -240},
		{"America/New_York", 2026, 3, 8, 2, 30, utc(2026, 3, 8, 7, 0), -240}, // gap: the jump, not 01:30 EST
		{"America/New_York", 2026, 3, 8, 3, 0, utc(2026, 3, 8, 7, 0), -240},
		{"America/New_York", 2026, 3, 8, 3, 1, utc(2026, 3, 8, 7, 1), -240},
		{"America/New_York", 2026, 11, 1, 0, 59, utc(2026, 11, 1, 4, 59), -240},
		{"America/New_York", 2026, 11, 1, 1, 0, utc(2026, 11, 1, 5, 0), -240}, // twice: first (EDT)
		{"America/New_York", 2026, 11, 1, 1, 30, utc(2026, 11, 1, 5, 30), -240},
		{"America/New_York", 2026, 11, 1, 1, 59, utc(2026, 11, 1, 5, 59), -240},
		{"America/New_York", 2026, 11, 1, 2, 0, utc(2026, 11, 1, 7, 0), -300},
		// Europe/Berlin: 2026-03-29 02:00 CET → 03:00 CEST; 2026-10-25 03:00 CEST → 02:00 CET.
		{"Europe/Berlin", 2026, 3, 29, 2, 0, utc(2026, 3, 29, 1, 0), 120},
		{"Europe/Berlin", 2026, 3, 29, 2, 30, utc(2026, 3, 29, 1, 0), 120},
		{"Europe/Berlin", 2026, 3, 29, 3, 0, utc(2026, 3, 29, 1, 0), 120},
		{"Europe/Berlin", 2026, 10, 25, 2, 0, utc(2026, 10, 25, 0, 0), 120},
		{"Europe/Berlin", 2026, 10, 25, 2, 30, utc(2026, 10, 25, 0, 30), 120},
		{"Europe/Berlin", 2026, 10, 25, 3, 0, utc(2026, 10, 25, 2, 0), 60},
		// Australia/Sydney (southern hemisphere): 2026-04-05 03:00 AEDT → 02:00 AEST; 2026-10-04 02:00 AEST → 03:00 AEDT.
		{"Australia/Sydney", 2026, 4, 5, 2, 0, utc(2026, 4, 4, 15, 0), 660},
		{"Australia/Sydney", 2026, 4, 5, 2, 30, utc(2026, 4, 4, 15, 30), 660},
		{"Australia/Sydney", 2026, 4, 5, 3, 0, utc(2026, 4, 4, 17, 0), 600},
		{"Australia/Sydney", 2026, 10, 4, 1, 59, utc(2026, 10, 3, 15, 59), 600},
		{"Australia/Sydney", 2026, 10, 4, 2, 30, utc(2026, 10, 3, 16, 0), 660},
		{"Australia/Sydney", 2026, 10, 4, 3, 0, utc(2026, 10, 3, 16, 0), 660},
		// Australia/Lord_Howe (30-minute shift): 2026-04-05 02:00 +11 → 01:30 +10:30; 2026-10-04 02:00 +10:30 → 02:30 +11.
		{"Australia/Lord_Howe", 2026, 4, 5, 1, 29, utc(2026, 4, 4, 14, 29), 660},
		{"Australia/Lord_Howe", 2026, 4, 5, 1, 45, utc(2026, 4, 4, 14, 45), 660},
		{"Australia/Lord_Howe", 2026, 4, 5, 2, 0, utc(2026, 4, 4, 15, 30), 630},
		{"Australia/Lord_Howe", 2026, 10, 4, 1, 59, utc(2026, 10, 3, 15, 29), 630},
		{"Australia/Lord_Howe", 2026, 10, 4, 2, 0, utc(2026, 10, 3, 15, 30), 660},
		{"Australia/Lord_Howe", 2026, 10, 4, 2, 15, utc(2026, 10, 3, 15, 30), 660},
		{"Australia/Lord_Howe", 2026, 10, 4, 2, 30, utc(2026, 10, 3, 15, 30), 660},
		// Asia/Kolkata: no DST, +05:30 all year.
		{"Asia/Kolkata", 2026, 3, 8, 2, 30, utc(2026, 3, 7, 21, 0), 330},
		{"Asia/Kolkata", 2026, 11, 1, 1, 30, utc(2026, 10, 31, 20, 0), 330},
		// Normalization as time.Date does it.
		{"UTC", 2026, 12, 31, 24, 0, utc(2027, 1, 1, 0, 0), 0},
		{"UTC", 2026, 2, 29, 10, 0, utc(2026, 3, 1, 10, 0), 0},
	}
	for _, tc := range tests {
		name := tc.zone + "/" + time.Date(tc.y, tc.m, tc.d, tc.hour, tc.minute, 0, 0, time.UTC).Format("2006-01-02T15:04")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			loc := loadLocation(t, tc.zone)
			got := schedule.WallTime(loc, tc.y, tc.m, tc.d, tc.hour, tc.minute)
			require.True(t, got.Equal(tc.want), "WallTime = %v (%v), want %v", got, got.UTC(), tc.want)
			require.Equal(t, loc, got.Location())
			_, off := got.Zone()
			require.Equal(t, tc.wantOffsetMinutes, off/60, "offset of %v", got)
		})
	}
	t.Run("nil location is UTC", func(t *testing.T) {
		t.Parallel()
		require.True(t, schedule.WallTime(nil, 2026, 1, 2, 3, 4).Equal(utc(2026, 1, 2, 3, 4)))
	})
}

func TestEndOfDay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		zone string
		t    time.Time
		want string
	}{
		{"Europe/Berlin", time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC), "2026-05-05T00:00:00+02:00"},
		{"Europe/Berlin", time.Date(2026, 5, 4, 22, 30, 0, 0, time.UTC), "2026-05-06T00:00:00+02:00"},    // already the 5th in Berlin
		{"America/New_York", time.Date(2026, 3, 8, 5, 0, 0, 0, time.UTC), "2026-03-09T00:00:00-04:00"},   // 23-hour day
		{"America/New_York", time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), "2026-11-02T00:00:00-05:00"}, // 25-hour day
		{"Asia/Kolkata", time.Date(2026, 1, 1, 18, 29, 0, 0, time.UTC), "2026-01-02T00:00:00+05:30"},
		{"Asia/Kolkata", time.Date(2026, 1, 1, 18, 30, 0, 0, time.UTC), "2026-01-03T00:00:00+05:30"},
		// America/Santiago falls back at midnight: 2026-04-05 00:00 -03 → 2026-04-04 23:00 -04.
		// The repeated hour is on the 4th, so midnight of the 5th comes after it.
		{"America/Santiago", time.Date(2026, 4, 5, 2, 30, 0, 0, time.UTC), "2026-04-05T00:00:00-04:00"},
		{"America/Santiago", time.Date(2026, 4, 5, 3, 30, 0, 0, time.UTC), "2026-04-05T00:00:00-04:00"},
		// America/Havana springs forward at midnight: 2026-03-08 00:00 -05 → 01:00 -04.
		{"America/Havana", time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC), "2026-03-08T01:00:00-04:00"},
	}
	for _, tc := range tests {
		t.Run(tc.zone+"/"+tc.t.Format(time.RFC3339), func(t *testing.T) {
			t.Parallel()
			loc := loadLocation(t, tc.zone)
			got := schedule.EndOfDay(tc.t, loc)
			require.Equal(t, tc.want, got.Format(time.RFC3339))
			require.True(t, got.After(tc.t))
		})
	}
}

func TestExpand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		zone   string
		rules  []schedule.Rule
		window [2]string // RFC 3339
		want   []string
	}{
		{
			name: "weekdays", zone: "Europe/Berlin", rules: []schedule.Rule{rule(weekdays, 9, 0, 17, 0)},
			window: [2]string{"2026-01-03T00:00:00+01:00", "2026-01-10T00:00:00+01:00"},
			want: []string{
				"[2026-01-05T09:00:00+01:00, 2026-01-05T17:00:00+01:00)",
				"[2026-01-06T09:00:00+01:00, 2026-01-06T17:00:00+01:00)",
				"[2026-01-07T09:00:00+01:00, 2026-01-07T17:00:00+01:00)",
				"[2026-01-08T09:00:00+01:00, 2026-01-08T17:00:00+01:00)",
				"[2026-01-09T09:00:00+01:00, 2026-01-09T17:00:00+01:00)",
			},
		},
		{
			name: "whole occurrences, not clipped", zone: "Europe/Berlin", rules: []schedule.Rule{rule(weekdays, 9, 0, 17, 0)},
			window: [2]string{"2026-01-05T16:00:00+01:00", "2026-01-06T10:00:00+01:00"},
			want: []string{
				"[2026-01-05T09:00:00+01:00, 2026-01-05T17:00:00+01:00)",
				"[2026-01-06T09:00:00+01:00, 2026-01-06T17:00:00+01:00)",
			},
		},
		{
			name: "touching the window is not overlapping", zone: "Europe/Berlin", rules: []schedule.Rule{rule(weekdays, 9, 0, 17, 0)},
			window: [2]string{"2026-01-05T17:00:00+01:00", "2026-01-06T09:00:00+01:00"},
			want:   nil,
		},
		{
			name: "overnight ends next day", zone: "Europe/Berlin", rules: []schedule.Rule{rule([]time.Weekday{time.Friday}, 22, 0, 2, 0)},
			window: [2]string{"2026-01-09T00:00:00+01:00", "2026-01-10T00:00:00+01:00"},
			want:   []string{"[2026-01-09T22:00:00+01:00, 2026-01-10T02:00:00+01:00)"},
		},
		{
			name: "overnight started before the window", zone: "Europe/Berlin", rules: []schedule.Rule{rule([]time.Weekday{time.Friday}, 22, 0, 2, 0)},
			window: [2]string{"2026-01-10T01:00:00+01:00", "2026-01-10T12:00:00+01:00"},
			want:   []string{"[2026-01-09T22:00:00+01:00, 2026-01-10T02:00:00+01:00)"},
		},
		{
			name: "to equal from is a whole day", zone: "Asia/Kolkata", rules: []schedule.Rule{rule([]time.Weekday{time.Monday}, 8, 0, 8, 0)},
			window: [2]string{"2026-01-05T00:00:00+05:30", "2026-01-06T00:00:00+05:30"},
			want:   []string{"[2026-01-05T08:00:00+05:30, 2026-01-06T08:00:00+05:30)"},
		},
		{
			name: "consecutive whole days join", zone: "UTC", rules: []schedule.Rule{rule([]time.Weekday{time.Monday, time.Tuesday}, 0, 0, 0, 0)},
			window: [2]string{"2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"},
			want:   []string{"[2026-01-05T00:00:00Z, 2026-01-07T00:00:00Z)"},
		},
		{
			name: "rules that touch join", zone: "Asia/Kolkata",
			rules:  []schedule.Rule{rule([]time.Weekday{time.Monday}, 12, 0, 17, 0), rule([]time.Weekday{time.Monday}, 9, 0, 12, 0)},
			window: [2]string{"2026-01-05T00:00:00+05:30", "2026-01-06T00:00:00+05:30"},
			want:   []string{"[2026-01-05T09:00:00+05:30, 2026-01-05T17:00:00+05:30)"},
		},
		{
			name: "duplicate and unsorted days", zone: "UTC",
			rules:  []schedule.Rule{rule([]time.Weekday{time.Wednesday, time.Monday, time.Wednesday}, 9, 0, 10, 0)},
			window: [2]string{"2026-01-05T00:00:00Z", "2026-01-08T00:00:00Z"},
			want:   []string{"[2026-01-05T09:00:00Z, 2026-01-05T10:00:00Z)", "[2026-01-07T09:00:00Z, 2026-01-07T10:00:00Z)"},
		},
		{
			name: "window in another zone", zone: "Asia/Kolkata", rules: []schedule.Rule{rule([]time.Weekday{time.Monday}, 1, 0, 2, 0)},
			window: [2]string{"2026-01-04T19:00:00Z", "2026-01-04T20:00:00Z"}, // Mon 00:30-01:30 in Kolkata
			want:   []string{"[2026-01-05T01:00:00+05:30, 2026-01-05T02:00:00+05:30)"},
		},
		// America/New_York, 2026-03-08 (Sunday) 02:00 EST → 03:00 EDT.
		{
			name: "new york spring: across the gap", zone: "America/New_York", rules: []schedule.Rule{rule([]time.Weekday{time.Sunday}, 1, 0, 3, 0)},
			window: [2]string{"2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00"},
			want:   []string{"[2026-03-08T01:00:00-05:00, 2026-03-08T03:00:00-04:00)"}, // one hour
		},
		{
			name: "new york spring: start in the gap", zone: "America/New_York", rules: []schedule.Rule{rule([]time.Weekday{time.Sunday}, 2, 30, 4, 0)},
			window: [2]string{"2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00"},
			want:   []string{"[2026-03-08T03:00:00-04:00, 2026-03-08T04:00:00-04:00)"},
		},
		{
			name: "new york spring: wholly in the gap", zone: "America/New_York", rules: []schedule.Rule{rule([]time.Weekday{time.Sunday}, 2, 10, 2, 40)},
			window: [2]string{"2026-03-01T00:00:00-05:00", "2026-03-16T00:00:00-04:00"},
			want:   []string{"[2026-03-01T02:10:00-05:00, 2026-03-01T02:40:00-05:00)", "[2026-03-15T02:10:00-04:00, 2026-03-15T02:40:00-04:00)"},
		},
		{
			name: "new york spring: overnight", zone: "America/New_York", rules: []schedule.Rule{rule([]time.Weekday{time.Saturday}, 22, 0, 6, 0)},
			window: [2]string{"2026-03-07T00:00:00-05:00", "2026-03-09T00:00:00-04:00"},
			want:   []string{"[2026-03-07T22:00:00-05:00, 2026-03-08T06:00:00-04:00)"}, // seven hours
		},
		// America/New_York, 2026-11-01 (Sunday) 02:00 EDT → 01:00 EST.
		{
			name: "new york fall: across the repeat", zone: "America/New_York", rules: []schedule.Rule{rule([]time.Weekday{time.Sunday}, 0, 30, 2, 30)},
			window: [2]string{"2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00"},
			want:   []string{"[2026-11-01T00:30:00-04:00, 2026-11-01T02:30:00-05:00)"}, // three hours
		},
		{
			name: "new york fall: inside the repeat takes the first", zone: "America/New_York", rules: []schedule.Rule{rule([]time.Weekday{time.Sunday}, 1, 15, 1, 45)},
			window: [2]string{"2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00"},
			want:   []string{"[2026-11-01T01:15:00-04:00, 2026-11-01T01:45:00-04:00)"},
		},
		{
			name: "new york fall: window only in the second pass still finds it whole", zone: "America/New_York",
			rules:  []schedule.Rule{rule([]time.Weekday{time.Sunday}, 1, 0, 3, 0)},
			window: [2]string{"2026-11-01T01:10:00-05:00", "2026-11-01T01:20:00-05:00"},
			want:   []string{"[2026-11-01T01:00:00-04:00, 2026-11-01T03:00:00-05:00)"},
		},
		// Europe/Berlin, 2026-03-29 02:00 CET → 03:00 CEST and 2026-10-25 03:00 CEST → 02:00 CET.
		{
			name: "berlin spring: overnight is six hours", zone: "Europe/Berlin", rules: []schedule.Rule{rule([]time.Weekday{time.Saturday}, 22, 0, 5, 0)},
			window: [2]string{"2026-03-28T00:00:00+01:00", "2026-03-30T00:00:00+02:00"},
			want:   []string{"[2026-03-28T22:00:00+01:00, 2026-03-29T05:00:00+02:00)"},
		},
		{
			name: "berlin fall: overnight is eight hours", zone: "Europe/Berlin", rules: []schedule.Rule{rule([]time.Weekday{time.Saturday}, 22, 0, 5, 0)},
			window: [2]string{"2026-10-24T00:00:00+02:00", "2026-10-26T00:00:00+01:00"},
			want:   []string{"[2026-10-24T22:00:00+02:00, 2026-10-25T05:00:00+01:00)"},
		},
		{
			name: "berlin: daily across both changes keeps wall times", zone: "Europe/Berlin", rules: []schedule.Rule{rule(everyDay, 9, 0, 10, 0)},
			window: [2]string{"2026-03-28T00:00:00+01:00", "2026-03-31T00:00:00+02:00"},
			want: []string{
				"[2026-03-28T09:00:00+01:00, 2026-03-28T10:00:00+01:00)",
				"[2026-03-29T09:00:00+02:00, 2026-03-29T10:00:00+02:00)",
				"[2026-03-30T09:00:00+02:00, 2026-03-30T10:00:00+02:00)",
			},
		},
		// Australia/Sydney, 2026-04-05 03:00 AEDT → 02:00 AEST and 2026-10-04 02:00 AEST → 03:00 AEDT.
		{
			name: "sydney fall (april)", zone: "Australia/Sydney", rules: []schedule.Rule{rule([]time.Weekday{time.Sunday}, 2, 0, 3, 0)},
			window: [2]string{"2026-04-05T00:00:00+11:00", "2026-04-06T00:00:00+10:00"},
			want:   []string{"[2026-04-05T02:00:00+11:00, 2026-04-05T03:00:00+10:00)"}, // two hours
		},
		{
			name: "sydney spring (october)", zone: "Australia/Sydney", rules: []schedule.Rule{rule([]time.Weekday{time.Sunday}, 2, 0, 4, 0)},
			window: [2]string{"2026-10-04T00:00:00+10:00", "2026-10-05T00:00:00+11:00"},
			want:   []string{"[2026-10-04T03:00:00+11:00, 2026-10-04T04:00:00+11:00)"},
		},
		// Australia/Lord_Howe, 2026-04-05 02:00 +11 → 01:30 +10:30 and 2026-10-04 02:00 +10:30 → 02:30 +11.
		{
			name: "lord howe fall: thirty minutes longer", zone: "Australia/Lord_Howe", rules: []schedule.Rule{rule([]time.Weekday{time.Sunday}, 1, 0, 3, 0)},
			window: [2]string{"2026-04-05T00:00:00+11:00", "2026-04-06T00:00:00+10:30"},
			want:   []string{"[2026-04-05T01:00:00+11:00, 2026-04-05T03:00:00+10:30)"},
		},
		{
			name: "lord howe spring: thirty minutes shorter", zone: "Australia/Lord_Howe", rules: []schedule.Rule{rule([]time.Weekday{time.Sunday}, 1, 0, 3, 0)},
			window: [2]string{"2026-10-04T00:00:00+10:30", "2026-10-05T00:00:00+11:00"},
			want:   []string{"[2026-10-04T01:00:00+10:30, 2026-10-04T03:00:00+11:00)"},
		},
		{
			name: "lord howe spring: start in the half-hour gap", zone: "Australia/Lord_Howe", rules: []schedule.Rule{rule([]time.Weekday{time.Sunday}, 2, 15, 4, 0)},
			window: [2]string{"2026-10-04T00:00:00+10:30", "2026-10-05T00:00:00+11:00"},
			want:   []string{"[2026-10-04T02:30:00+11:00, 2026-10-04T04:00:00+11:00)"},
		},
		// Asia/Kolkata: no DST; the same wall times all year.
		{
			name: "kolkata all year", zone: "Asia/Kolkata", rules: []schedule.Rule{rule([]time.Weekday{time.Sunday}, 1, 30, 2, 30)},
			window: [2]string{"2026-03-08T00:00:00+05:30", "2026-03-09T00:00:00+05:30"},
			want:   []string{"[2026-03-08T01:30:00+05:30, 2026-03-08T02:30:00+05:30)"},
		},
		{
			name: "no rules", zone: "UTC", rules: nil,
			window: [2]string{"2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		},
		{
			name: "empty window", zone: "UTC", rules: []schedule.Rule{rule(everyDay, 0, 0, 0, 0)},
			window: [2]string{"2026-01-01T12:00:00Z", "2026-01-01T12:00:00Z"},
		},
		{
			name: "last day before forever", zone: "UTC", rules: []schedule.Rule{rule(everyDay, 22, 0, 2, 0)},
			window: [2]string{"9999-12-31T01:00:00Z", "9999-12-31T23:59:59Z"},
			want:   []string{"[9999-12-30T22:00:00Z, 9999-12-31T02:00:00Z)", "[9999-12-31T22:00:00Z, forever)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			loc := loadLocation(t, tc.zone)
			start, err := time.Parse(time.RFC3339, tc.window[0])
			require.NoError(t, err)
			end, err := time.Parse(time.RFC3339, tc.window[1])
			require.NoError(t, err)
			got, err := schedule.Expand(tc.rules, loc, schedule.Interval{Start: start, End: end})
			require.NoError(t, err)
			if diff := cmp.Diff(tc.want, strs(got)); diff != "" {
				t.Errorf("Expand (-want +got):\n%s", diff)
			}
			requireNormalized(t, got)
		})
	}
}

func TestExpandErrors(t *testing.T) {
	t.Parallel()
	window := schedule.Interval{Start: at(0), End: at(60 * 24 * 7)}
	good := rule(weekdays, 9, 0, 17, 0)
	tests := []struct {
		name    string
		rules   []schedule.Rule
		loc     *time.Location
		window  schedule.Interval
		wantErr string
	}{
		{name: "nil location", rules: []schedule.Rule{good}, window: window, wantErr: "schedule: expand: nil location"},
		{name: "end before start", rules: []schedule.Rule{good}, loc: time.UTC, window: iv(10, 0),
			wantErr: "schedule: expand: window end 2026-01-05T00:00:00Z before start 2026-01-05T00:10:00Z"},
		{name: "empty days", rules: []schedule.Rule{good, {From: clk(9, 0), To: clk(10, 0)}}, loc: time.UTC, window: window,
			wantErr: "schedule: expand: rules[1] days: empty"},
		{name: "weekday", rules: []schedule.Rule{rule([]time.Weekday{time.Monday, 8}, 9, 0, 10, 0)}, loc: time.UTC, window: window,
			wantErr: "schedule: expand: rules[0] days[1]: invalid weekday 8"},
		{name: "hour", rules: []schedule.Rule{rule(weekdays, 24, 0, 10, 0)}, loc: time.UTC, window: window,
			wantErr: "schedule: expand: rules[0] from: hour 24 outside 0-23"},
		{name: "minute", rules: []schedule.Rule{rule(weekdays, 9, 0, 10, 60)}, loc: time.UTC, window: window,
			wantErr: "schedule: expand: rules[0] to: minute 60 outside 0-59"},
		{name: "window too long", rules: []schedule.Rule{good}, loc: time.UTC, window: schedule.Interval{End: schedule.Forever},
			wantErr: "too long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := schedule.Expand(tc.rules, tc.loc, tc.window)
			require.ErrorIs(t, err, schedule.ErrInvalid)
			if strings.HasPrefix(tc.wantErr, "schedule:") {
				require.EqualError(t, err, tc.wantErr)
			} else {
				require.ErrorContains(t, err, tc.wantErr)
			}
			require.True(t, got.IsEmpty())
		})
	}
	t.Run("nil location without rules", func(t *testing.T) {
		t.Parallel()
		got, err := schedule.Expand(nil, nil, window)
		require.NoError(t, err)
		require.True(t, got.IsEmpty())
	})
}
