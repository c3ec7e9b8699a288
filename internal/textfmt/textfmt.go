package textfmt

import (
	"fmt"
	"strings"
	"time"

	"github.com/kisisync/kisisync/schedule"
)

func zoneOr(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

// Time renders t in loc for a sentence: "Mon 2 Jan 2006 15:04 MST"; "no
// end" for an instant at or after [schedule.Forever].
func Time(t time.Time, loc *time.Location) string {
	if !t.Before(schedule.Forever) {
		return "no end"
	}
	return t.In(zoneOr(loc)).Format("Mon 2 Jan 2006 15:04 MST")
}

// Clock renders the wall-clock time of t in loc: "15:04 MST".
func Clock(t time.Time, loc *time.Location) string { return t.In(zoneOr(loc)).Format("15:04 MST") }

// SameLocalDay reports whether a and b fall on the same day in loc.
func SameLocalDay(a, b time.Time, loc *time.Location) bool {
	loc = zoneOr(loc)
	ay, am, ad := a.In(loc).Date()
	by, bm, bd := b.In(loc).Date()
	return ay == by && am == bm && ad == bd
}

// ClockOrTime renders only the clock of t ([Clock]) when t is on the same
// local day as ref, else the whole instant ([Time]).
func ClockOrTime(t, ref time.Time, loc *time.Location) string {
	if SameLocalDay(t, ref, loc) {
		return Clock(t, loc)
	}
	return Time(t, loc)
}

// Span renders [start, end) for a sentence: "Mon 2 Mar 2026 14:00–15:00
// CET" within a day, else "Mon 2 Mar 2026 22:00 CET–Tue 3 Mar 2026 02:00
// CET".
func Span(start, end time.Time, loc *time.Location) string {
	loc = zoneOr(loc)
	s, e := start.In(loc), end.In(loc)
	if SameLocalDay(s, e, loc) && s.Format("MST") == e.Format("MST") {
		return s.Format("Mon 2 Jan 2006 15:04") + "–" + e.Format("15:04 MST")
	}
	return Time(start, loc) + "–" + Time(end, loc)
}

// Window renders a window in loc compactly: "2006-01-02 14:00–15:00 MST"
// within a day, "2006-01-02 22:00 MST – 2006-01-03 02:00 MST" across days,
// "from 2006-01-02 14:00 MST" when open-ended (End zero or
// [schedule.Forever]).
func Window(iv schedule.Interval, loc *time.Location) string {
	loc = zoneOr(loc)
	s := iv.Start.In(loc)
	if iv.End.IsZero() || iv.End.Equal(schedule.Forever) {
		return "from " + s.Format("2006-01-02 15:04 MST")
	}
	e := iv.End.In(loc)
	if s.Year() == e.Year() && s.YearDay() == e.YearDay() && s.Format("MST") == e.Format("MST") {
		return s.Format("2006-01-02 15:04") + "–" + e.Format("15:04 MST")
	}
	return s.Format("2006-01-02 15:04 MST") + " – " + e.Format("2006-01-02 15:04 MST")
}

// Validity renders a Kisi validity window for a sentence, where a zero
// Start means "valid since created": "with no time limit", "until
// 2006-01-02 15:04 MST", or else as [Window].
func Validity(iv schedule.Interval, loc *time.Location) string {
	open := iv.End.IsZero() || !iv.End.Before(schedule.Forever)
	switch {
	case iv.Start.IsZero() && open:
		return "with no time limit"
	case iv.Start.IsZero():
		return "until " + iv.End.In(zoneOr(loc)).Format("2006-01-02 15:04 MST")
	}
	return Window(iv, loc)
}

// Duration renders d, rounded to the minute, as "25 minutes", "1 hour 5
// minutes" or "3 days 2 hours" (days drop the minutes); "less than a
// minute" below one minute.
func Duration(d time.Duration) string {
	d = d.Round(time.Minute)
	if d < time.Minute {
		return "less than a minute"
	}
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	var parts []string
	switch {
	case days > 0:
		parts = append(parts, Plural(days, "day", "days"))
		if hours > 0 {
			parts = append(parts, Plural(hours, "hour", "hours"))
		}
	default:
		if hours > 0 {
			parts = append(parts, Plural(hours, "hour", "hours"))
		}
		if mins > 0 {
			parts = append(parts, Plural(mins, "minute", "minutes"))
		}
	}
	return strings.Join(parts, " ")
}

// Plural renders n with the singular noun one or the plural noun many:
// "1 door", "0 doors", "3 doors".
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// LowerFirst lowers the first letter of s, to use a label that starts a
// sentence ("Group 101") inside one ("group 101"). It expects s to start
// with an ASCII letter, as this module's labels do.
func LowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// Zone loads the IANA time zone name; an empty, "Local" or unknown name
// gives UTC, so output never depends on the machine's zone.
func Zone(name string) *time.Location {
	if name == "" || name == "Local" {
		return time.UTC
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// MemberLabel names a member for a heading: `m1 (Ann) <ann@example.com>`;
// the name and email are left out when empty.
func MemberLabel(id, name, email string) string {
	s := id
	if name != "" {
		s += " (" + name + ")"
	}
	if email != "" {
		s += " <" + email + ">"
	}
	return s
}
