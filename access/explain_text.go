package access

import (
	"fmt"
	"strings"
	"time"

	"github.com/kisisync/kisisync/schedule"
)

// This file holds how explanations write times, durations, buffers and
// weekly rules: one style for every sentence of [Explanation].

func sameLocalDay(a, b time.Time, loc *time.Location) bool {
	ay, am, ad := a.In(loc).Date()
	by, bm, bd := b.In(loc).Date()
	return ay == by && am == bm && ad == bd
}

// The layouts of every time in an explanation's sentences: a day and a
// clock, or a clock alone when the day is clear from the sentence. The JSON
// form gives times as RFC 3339 instants.
const (
	layoutDay   = "Mon 2 Jan 2006"
	layoutClock = "15:04"
	layoutZone  = "MST"
)

// fmtTime renders t in loc as "Mon 2 Mar 2026 14:00 CET"; "no end" for
// [schedule.Forever].
func fmtTime(t time.Time, loc *time.Location) string {
	if !t.Before(schedule.Forever) {
		return "no end"
	}
	return t.In(loc).Format(layoutDay + " " + layoutClock + " " + layoutZone)
}

// fmtClock renders t in loc as "14:00 CET".
func fmtClock(t time.Time, loc *time.Location) string {
	return t.In(loc).Format(layoutClock + " " + layoutZone)
}

// fmtClockOrTime shows only the clock when t is on the same local day as
// ref.
func fmtClockOrTime(t, ref time.Time, loc *time.Location) string {
	if sameLocalDay(t, ref, loc) {
		return fmtClock(t, loc)
	}
	return fmtTime(t, loc)
}

// fmtSpan renders [start, end) for a sentence: "Mon 2 Mar 2026 14:00–15:00
// CET" within a day, else "Mon 2 Mar 2026 22:00 CET–Tue 3 Mar 2026 02:00 CET".
func fmtSpan(start, end time.Time, loc *time.Location) string {
	s, e := start.In(loc), end.In(loc)
	if sameLocalDay(s, e, loc) && s.Format(layoutZone) == e.Format(layoutZone) {
		return s.Format(layoutDay+" "+layoutClock) + "–" + fmtClock(e, loc)
	}
	return fmtTime(start, loc) + "–" + fmtTime(end, loc)
}

// fmtCheckInEnd renders the end of a check-in's access: "midnight (Tue 3
// Mar 2026 00:00 CET)" when it lasts until the end of the local day.
func fmtCheckInEnd(ci *CheckIn, end time.Time, loc *time.Location) string {
	if end.Equal(schedule.EndOfDay(ci.At, loc)) {
		return "midnight (" + fmtTime(end, loc) + ")"
	}
	return fmtClockOrTime(end, ci.At, loc)
}

// fmtBuffer renders b as "with the 5-minute buffer".
func fmtBuffer(b schedule.Buffer) string {
	adj := func(d time.Duration) string {
		if d%time.Minute == 0 {
			return fmt.Sprintf("%d-minute", int(d/time.Minute))
		}
		return d.String()
	}
	switch {
	case b.Before == 0 && b.After == 0:
		return "with no buffer"
	case b.Before == b.After:
		return "with the " + adj(b.Before) + " buffer"
	}
	return fmt.Sprintf("with the %s buffer before and %s after", adj(b.Before), adj(b.After))
}

// fmtDur renders d as "25 minutes", "1 hour 5 minutes" or "3 days 2 hours".
func fmtDur(d time.Duration) string {
	d = d.Round(time.Minute)
	if d < time.Minute {
		return "less than a minute"
	}
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	unit := func(n int, s string) string {
		if n == 1 {
			return "1 " + s
		}
		return fmt.Sprintf("%d %ss", n, s)
	}
	var parts []string
	switch {
	case days > 0:
		parts = append(parts, unit(days, "day"))
		if hours > 0 {
			parts = append(parts, unit(hours, "hour"))
		}
	default:
		if hours > 0 {
			parts = append(parts, unit(hours, "hour"))
		}
		if mins > 0 {
			parts = append(parts, unit(mins, "minute"))
		}
	}
	return strings.Join(parts, " ")
}

// fmtRules renders weekly rules for a sentence: "Mon–Fri 09:00–17:00; Sat
// 10:00–14:00".
func fmtRules(rules []schedule.Rule) string {
	parts := make([]string, len(rules))
	for i, r := range rules {
		parts[i] = fmtDays(r.Days) + " " + r.From.String() + "–" + r.To.String()
	}
	return strings.Join(parts, "; ")
}

// fmtDays lists weekdays from Monday, with runs of three or more days
// written as a range: "Mon–Fri", "Mon, Wed, Fri", "Sat, Sun".
func fmtDays(days []time.Weekday) string {
	var in [7]bool // Monday first
	for _, d := range days {
		if d >= time.Sunday && d <= time.Saturday {
			in[(d+6)%7] = true
		}
	}
	name := func(i int) string { return time.Weekday((i + 1) % 7).String()[:3] }
	var parts []string
	for i := 0; i < 7; i++ {
		if !in[i] {
			continue
		}
		j := i
		for j+1 < 7 && in[j+1] {
			j++
		}
		switch {
		case j-i >= 2:
			parts = append(parts, name(i)+"–"+name(j))
		case j > i:
			parts = append(parts, name(i), name(j))
		default:
			parts = append(parts, name(i))
		}
		i = j
	}
	return strings.Join(parts, ", ")
}

// homeZone returns the time zone shared by every location of s, or nil when
// the locations disagree or there are none: the zone to show times of
// sources that belong to no location.
func homeZone(s *Snapshot) *time.Location {
	var home *time.Location
	for _, l := range s.Locations {
		loc := ianaZone(l.TimeZone)
		if loc == nil || (home != nil && loc.String() != home.String()) {
			return nil
		}
		home = loc
	}
	return home
}

func zoneOr(l *time.Location) *time.Location {
	if l == nil {
		return time.UTC
	}
	return l
}

func loadZone(name string) *time.Location {
	if loc := ianaZone(name); loc != nil {
		return loc
	}
	return time.UTC
}
