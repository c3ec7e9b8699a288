package access

import (
	"fmt"
	"strings"
	"time"

	"github.com/kisisync/kisisync/internal/textfmt"
	"github.com/kisisync/kisisync/schedule"
)

// This file holds how explanations write check-in ends, buffers and weekly
// rules; times and durations are written as everywhere else, by
// internal/textfmt.

// fmtCheckInEnd renders the end of a check-in's access: "midnight (Tue 3
// Mar 2026 00:00 CET)" when it lasts until the end of the local day.
func fmtCheckInEnd(ci *CheckIn, end time.Time, loc *time.Location) string {
	if end.Equal(schedule.EndOfDay(ci.At, loc)) {
		return "midnight (" + textfmt.Time(end, loc) + ")"
	}
	return textfmt.ClockOrTime(end, ci.At, loc)
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
