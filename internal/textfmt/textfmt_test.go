package textfmt_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/internal/textfmt"
	"github.com/kisisync/kisisync/schedule"
)

var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return loc
}()

func at(day, h, m int) time.Time { return time.Date(2026, time.June, day, h, m, 0, 0, berlin) }

func TestTimes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"Time", textfmt.Time(at(10, 14, 5), berlin), "Wed 10 Jun 2026 14:05 CEST"},
		{"Time in UTC for a nil zone", textfmt.Time(at(10, 14, 5), nil), "Wed 10 Jun 2026 12:05 UTC"},
		{"Time of Forever", textfmt.Time(schedule.Forever, berlin), "no end"},
		{"Clock", textfmt.Clock(at(10, 14, 5), berlin), "14:05 CEST"},
		{"ClockOrTime same day", textfmt.ClockOrTime(at(10, 23, 0), at(10, 1, 0), berlin), "23:00 CEST"},
		{"ClockOrTime other day", textfmt.ClockOrTime(at(11, 1, 0), at(10, 23, 0), berlin), "Thu 11 Jun 2026 01:00 CEST"},
		{"Span within a day", textfmt.Span(at(10, 14, 0), at(10, 15, 0), berlin), "Wed 10 Jun 2026 14:00–15:00 CEST"},
		{"Span across days", textfmt.Span(at(10, 22, 0), at(11, 2, 0), berlin), "Wed 10 Jun 2026 22:00 CEST–Thu 11 Jun 2026 02:00 CEST"},
		{"Window within a day", textfmt.Window(schedule.Interval{Start: at(10, 13, 55), End: at(10, 15, 5)}, berlin), "2026-06-10 13:55–15:05 CEST"},
		{"Window across days", textfmt.Window(schedule.Interval{Start: at(10, 22, 0), End: at(11, 2, 0)}, berlin), "2026-06-10 22:00 CEST – 2026-06-11 02:00 CEST"},
		{"Window open-ended", textfmt.Window(schedule.Interval{Start: at(1, 0, 0), End: schedule.Forever}, berlin), "from 2026-06-01 00:00 CEST"},
		{"Window with zero End", textfmt.Window(schedule.Interval{Start: at(1, 0, 0)}, berlin), "from 2026-06-01 00:00 CEST"},
		{"Validity without limits", textfmt.Validity(schedule.Interval{End: schedule.Forever}, berlin), "with no time limit"},
		{"Validity with an end only", textfmt.Validity(schedule.Interval{End: at(10, 15, 5)}, berlin), "until 2026-06-10 15:05 CEST"},
		{"Validity bounded", textfmt.Validity(schedule.Interval{Start: at(10, 13, 55), End: at(10, 15, 5)}, berlin), "2026-06-10 13:55–15:05 CEST"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.got)
		})
	}
}

func TestDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{20 * time.Second, "less than a minute"},
		{time.Minute, "1 minute"},
		{25 * time.Minute, "25 minutes"},
		{65 * time.Minute, "1 hour 5 minutes"},
		{2 * time.Hour, "2 hours"},
		{7 * 24 * time.Hour, "7 days"},
		{(3*24+2)*time.Hour + 10*time.Minute, "3 days 2 hours"},
		{24*time.Hour + 29*time.Second, "1 day"},
	}
	for _, tc := range tests {
		t.Run(tc.d.String(), func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, textfmt.Duration(tc.d))
		})
	}
}

func TestWords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"Plural one", textfmt.Plural(1, "door", "doors"), "1 door"},
		{"Plural zero", textfmt.Plural(0, "door", "doors"), "0 doors"},
		{"Plural many", textfmt.Plural(3, "unlock attempt", "unlock attempts"), "3 unlock attempts"},
		{"LowerFirst", textfmt.LowerFirst(`Group 7 "Room"`), `group 7 "Room"`},
		{"LowerFirst empty", textfmt.LowerFirst(""), ""},
		{"MemberLabel full", textfmt.MemberLabel("m1", "Ann", "ann@example.com"), "m1 (Ann) <ann@example.com>"},
		{"MemberLabel id only", textfmt.MemberLabel("m1", "", ""), "m1"},
		{"Zone", textfmt.Zone("Europe/Berlin").String(), "Europe/Berlin"},
		{"Zone empty", textfmt.Zone("").String(), "UTC"},
		{"Zone Local", textfmt.Zone("Local").String(), "UTC"},
		{"Zone unknown", textfmt.Zone("Mars/Olympus").String(), "UTC"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.got)
		})
	}
}

func ExamplePlural() {
	fmt.Println(textfmt.Plural(1, "door", "doors"), "and", textfmt.Plural(3, "role", "roles"))
	// Output: 1 door and 3 roles
}
