package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/schedule"
)

// weekdays is a recurring schedule's days, as Kisi's schedule object has
// them.
func weekdays(days ...time.Weekday) *kisi.RecurringSchedule {
	r := &kisi.RecurringSchedule{}
	for _, d := range days {
		*map[time.Weekday]*bool{time.Monday: &r.Monday, time.Tuesday: &r.Tuesday, time.Wednesday: &r.Wednesday,
			time.Thursday: &r.Thursday, time.Friday: &r.Friday, time.Saturday: &r.Saturday, time.Sunday: &r.Sunday}[d] = true
	}
	return r
}

// recurring is an enabled recurring schedule on days from from to to.
func recurring(from, to string, days ...time.Weekday) *kisi.Schedule {
	r := weekdays(days...)
	r.StartsAtTime, r.EndsAtTime = from, to
	return &kisi.Schedule{Name: "Office hours", Type: kisi.ScheduleRecurring, Enabled: true, Consequence: kisi.ScheduleAllow, Recurring: r}
}

// TestScheduleHours (issue 31): Kisi's schedule object (monday..sunday,
// starts_at_time/ends_at_time, dates; no time zone of its own) gives the
// hours drawn in the week picture, read in the zone of the schedule's
// place: a New York schedule's 09:00 is 15:00 in a Berlin week.
func TestScheduleHours(t *testing.T) {
	t.Parallel()
	berlin, newYork := mustZone(t, "Europe/Berlin"), mustZone(t, "America/New_York")
	on := func(loc *time.Location, month time.Month, day, h, m int) time.Time {
		return time.Date(2026, month, day, h, m, 0, 0, loc)
	}
	june := func(day, h, m int) time.Time { return on(berlin, time.June, day, h, m) }
	week := iv(june(10, 0, 0), june(17, 0, 0)) // Wed 10 – Tue 16 June
	tests := []struct {
		name string
		sc   *kisi.Schedule
		loc  *time.Location
		win  schedule.Interval
		want []schedule.Interval
		why  string
	}{
		{name: "weekdays", sc: recurring("08:00", "18:00", time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday), loc: berlin, win: week,
			want: []schedule.Interval{iv(june(10, 8, 0), june(10, 18, 0)), iv(june(11, 8, 0), june(11, 18, 0)), iv(june(12, 8, 0), june(12, 18, 0)),
				iv(june(15, 8, 0), june(15, 18, 0)), iv(june(16, 8, 0), june(16, 18, 0))}},
		{name: "the place's zone", sc: recurring("09:00", "17:00", time.Wednesday), loc: newYork, win: week,
			want: []schedule.Interval{iv(june(10, 15, 0), june(10, 23, 0))}},
		{name: "seconds in the times", sc: recurring("09:30:00", "12:00:00", time.Thursday), loc: berlin, win: week,
			want: []schedule.Interval{iv(june(11, 9, 30), june(11, 12, 0))}},
		{name: "a Rails time-of-day column", sc: recurring("2000-01-01T09:30:00.000Z", "2000-01-01T12:00:00.000Z", time.Thursday), loc: berlin, win: week,
			want: []schedule.Interval{iv(june(11, 9, 30), june(11, 12, 0))}},
		{name: "whole days", sc: recurring("", "", time.Saturday, time.Sunday), loc: berlin, win: week,
			want: []schedule.Interval{iv(june(13, 0, 0), june(15, 0, 0))}},
		{name: "overnight", sc: recurring("22:00", "02:00", time.Friday), loc: berlin, win: week,
			want: []schedule.Interval{iv(june(12, 22, 0), june(13, 2, 0))}},
		{name: "spring forward", sc: recurring("01:00", "04:00", time.Sunday), loc: berlin,
			win:  iv(on(berlin, time.March, 29, 0, 0), on(berlin, time.March, 30, 0, 0)),
			want: []schedule.Interval{iv(on(berlin, time.March, 29, 1, 0), on(berlin, time.March, 29, 4, 0))}},
		{name: "all-day event", sc: &kisi.Schedule{Type: kisi.ScheduleAllDayEvent, Enabled: true, AllDay: &kisi.AllDaySchedule{StartsAtDate: "2026-06-13", EndsAtDate: "2026-06-14"}},
			loc: newYork, win: week, want: []schedule.Interval{iv(on(newYork, time.June, 13, 0, 0), on(newYork, time.June, 15, 0, 0))}},
		{name: "single event", sc: &kisi.Schedule{Type: kisi.ScheduleSingleEvent, Enabled: true, Single: &kisi.SingleEventSchedule{StartsAt: june(11, 14, 0), EndsAt: june(11, 16, 30)}},
			loc: newYork, win: week, want: []schedule.Interval{iv(june(11, 14, 0), june(11, 16, 30))}},
		{name: "disabled", sc: func() *kisi.Schedule { sc := recurring("08:00", "18:00", time.Monday); sc.Enabled = false; return sc }(), loc: berlin, win: week,
			why: "disabled in Kisi, not in force"},
		{name: "holidays", sc: &kisi.Schedule{Type: kisi.ScheduleHolidayCalendar, Enabled: true, Holiday: &kisi.HolidaySchedule{Region: "de_be"}}, loc: berlin, win: week,
			why: "the holidays of de_be as Kisi reads them, not drawn"},
		{name: "unreadable time", sc: recurring("8 am", "18:00", time.Monday), loc: berlin, win: week, why: `time "8 am" not read`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			set, why := hours(tc.sc, tc.loc, tc.win)
			require.Equal(t, tc.why, why)
			if diff := cmp.Diff(tc.want, set.Intervals()); diff != "" {
				t.Errorf("hours (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRestrictionHoursDrawn (issue 31): the week picture draws each time
// restriction's hours as a lane of its own under the group's access, in
// the text (H), in the SVG (a rect of class hours, its exact times on the
// picture) and in the HTML page's table; a restriction without hours to
// draw says why. Before, restrictions were only named.
func TestRestrictionHoursDrawn(t *testing.T) {
	t.Parallel()
	newYork := mustZone(t, "America/New_York")
	weekdays := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	tl := newTimeline(bookingWeek(t, "Ann", "room-2"), 20*time.Minute, map[int64][]restriction{102: {
		{name: "Office hours", when: "Mon–Fri 08:00–18:00", sc: recurring("08:00", "18:00", weekdays...), zone: mustZone(t, "Europe/Berlin")},
		{name: "Reception", when: "Wed 09:00–17:00", sc: recurring("09:00", "17:00", time.Wednesday), zone: newYork},
		{name: "Night", when: "Sat 20:00–23:00", sc: recurring("20:00", "23:00", time.Saturday)},
		{name: "Holidays", when: "holidays of de_be", sc: &kisi.Schedule{Type: kisi.ScheduleHolidayCalendar, Enabled: true, Holiday: &kisi.HolidaySchedule{Region: "de_be"}}},
	}})
	text := renderTimeline(tl, 100)
	checkGolden(t, "timeline_hours", text)
	g102 := text[strings.Index(text, "Group 102"):]
	require.Contains(t, text, "  H hours of a Kisi time restriction, in its place's zone\n")
	require.Contains(t, g102, "  Kisi time restriction: Reception (Wed 09:00–17:00 America/New_York)\n")
	require.Contains(t, g102, "  Kisi time restriction: Holidays (holidays of de_be)\n")
	require.Equal(t, strings.Repeat(".", 16)+strings.Repeat("H", 20)+strings.Repeat(".", 12), row(t, g102, "Wed 10 Jun", "Kisi hours: Office hours"))
	require.Equal(t, strings.Repeat(".", 30)+strings.Repeat("H", 16)+strings.Repeat(".", 2), row(t, g102, "Wed 10 Jun", "Kisi hours: Reception"), "09:00–17:00 in New York is 15:00–23:00 in Berlin")
	require.Contains(t, g102, "  Kisi time restriction: Night (Sat 20:00–23:00; place's zone unknown, read in Europe/Berlin)\n")
	require.Equal(t, strings.Repeat(".", 40)+strings.Repeat("H", 6)+strings.Repeat(".", 2), row(t, g102, "Sat 13 Jun", "Kisi hours: Night"))
	sunday := g102[strings.Index(g102, "Sun 14 Jun"):strings.Index(g102, "Mon 15 Jun")]
	require.NotContains(t, sunday, "Kisi hours", "no hours on Sunday: no lane that day")
	require.Contains(t, g102, "Kisi hours: Holidays                 the holidays of de_be as Kisi reads them, not drawn\n")
	require.NotContains(t, text[:strings.Index(text, "Group 102")], "Kisi hours", "group 101 has no restriction")

	doc := renderSVG(tl)
	wellFormed(t, doc)
	require.Contains(t, string(doc), `<rect class="hours" data-lane="2" data-window="0" data-day="0" x="`)
	require.Contains(t, svgTexts(t, doc), "15:00–23:00", "the exact hours on the picture")

	page := string(renderHTML(tl))
	require.Contains(t, page, "<th>Kisi hours</th>")
	require.Contains(t, page, "<tr><td>Wed 10 Jun</td><td>Kisi hours: Reception</td><td class=\"access\"></td><td class=\"lead\"></td><td class=\"source\"></td><td class=\"buffer\"></td><td class=\"kisi\"></td><td class=\"hours\">15:00–23:00</td></tr>")
}

// TestDiagnoseDrawsHours (issue 31): diagnose reads each time restriction's
// place from Kisi and draws its hours in the place's zone: a Mon–Fri
// 09:00–17:00 schedule of a New York place is 15:00–23:00 in the Berlin
// member's week, in the text and on the HTML page.
func TestDiagnoseDrawsHours(t *testing.T) {
	t.Parallel()
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	t.Cleanup(srv.Close)
	place, err := srv.AddPlace("Annex", "America/New_York")
	require.NoError(t, err)
	group, err := srv.AddGroup("Members", place)
	require.NoError(t, err)
	_, err = srv.AddGroupSchedule(group, kisitest.Schedule{Name: "Office hours",
		Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}, StartsAtTime: "09:00", EndsAtTime: "17:00"})
	require.NoError(t, err)
	dir := t.TempDir()
	page := filepath.Join(dir, "week.html")
	code, stdout, stderr := invoke(t, kisiEnv(srv, srv.APIKey), "diagnose", "--snapshot", td("small_snapshot.json"), "--mapping", flexMapping(t, dir, group),
		"--member", "m1", "--at", "2026-06-10T08:40:00+02:00", "--timeline", "--html", page)
	require.Equal(t, exitFailed, code, "m1 has no Kisi user, an ERROR finding: "+stdout+stderr)
	require.Empty(t, stderr)
	require.Contains(t, stdout, fmt.Sprintf("Group %d \"Members\" (Europe/Berlin), Wed 10 Jun – Tue 16 Jun 2026:\n"+
		"  Kisi time restriction: Office hours (Mon–Fri 09:00–17:00 America/New_York)\n", group))
	g := stdout[strings.Index(stdout, fmt.Sprintf("Group %d", group)):]
	require.Equal(t, strings.Repeat(".", 30)+strings.Repeat("H", 16)+strings.Repeat(".", 2), row(t, g, "Wed 10 Jun", "Kisi hours: Office hours"))
	html, err := os.ReadFile(page)
	require.NoError(t, err)
	require.Contains(t, string(html), "<td>Wed 10 Jun</td><td>Kisi hours: Office hours</td>")
	require.Contains(t, string(html), `<td class="hours">15:00–23:00</td>`)
}
