package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/schedule"
)

// kindHours is the class of a stretch in which one of Kisi's time
// restrictions on a group occurs: outside them Kisi refuses unlocks.
const kindHours = "hours"

// hoursLabel starts the label of a time restriction's lane.
const hoursLabel = "Kisi hours: "

// hours returns the occurrences of Kisi's schedule sc that overlap window,
// whole, read in loc, the zone of the schedule's place (Kisi's schedule
// object has none of its own): a recurring event on its weekdays from
// starts_at_time to ends_at_time (an empty time is midnight; an end not
// after the start ends the next day), an all-day event from midnight of its
// first date to midnight after its last, a single event as its two
// instants. Wall times a DST change skips or repeats resolve as
// [schedule.WallTime] does. why says why nothing can be drawn (a disabled
// schedule, a holiday calendar, whose dates Kisi keeps, an unreadable
// time); it is "" when the set is the schedule's.
func hours(sc *kisi.Schedule, loc *time.Location, window schedule.Interval) (set schedule.Set, why string) {
	if !sc.Enabled {
		return schedule.Set{}, "disabled in Kisi, not in force"
	}
	switch {
	case sc.Recurring != nil:
		r := sc.Recurring
		days := r.Weekdays()
		if len(days) == 0 {
			return schedule.Set{}, "on no weekday"
		}
		from, err := scheduleClock(r.StartsAtTime)
		if err != nil {
			return schedule.Set{}, err.Error()
		}
		to, err := scheduleClock(r.EndsAtTime)
		if err != nil {
			return schedule.Set{}, err.Error()
		}
		set, err := schedule.Expand([]schedule.Rule{{Days: days, From: from, To: to}}, loc, window)
		if err != nil {
			return schedule.Set{}, err.Error()
		}
		return set, ""
	case sc.Single != nil:
		if !sc.Single.StartsAt.Before(sc.Single.EndsAt) {
			return schedule.Set{}, "its end is not after its start"
		}
		return schedule.NewSet(schedule.Interval{Start: sc.Single.StartsAt, End: sc.Single.EndsAt}), ""
	case sc.AllDay != nil:
		first, errA := time.Parse(time.DateOnly, sc.AllDay.StartsAtDate)
		last, errB := time.Parse(time.DateOnly, sc.AllDay.EndsAtDate)
		if errA != nil || errB != nil || last.Before(first) {
			return schedule.Set{}, fmt.Sprintf("dates %q to %q not read", sc.AllDay.StartsAtDate, sc.AllDay.EndsAtDate)
		}
		return schedule.NewSet(schedule.Interval{
			Start: schedule.WallTime(loc, first.Year(), first.Month(), first.Day(), 0, 0),
			End:   schedule.WallTime(loc, last.Year(), last.Month(), last.Day()+1, 0, 0),
		}), ""
	case sc.Holiday != nil:
		return schedule.Set{}, "the holidays of " + sc.Holiday.Region + " as Kisi reads them, not drawn"
	}
	return schedule.Set{}, "type " + sc.Type + ", not drawn"
}

// scheduleClock reads a schedule's time of day, "hh:mm" or "hh:mm:ss"
// (seconds dropped), or the timestamp Rails writes for a time-of-day
// column ("2000-01-01T08:00:00.000Z"), whose clock reading it takes: Kisi's
// spec does not say which form it sends. "" is midnight.
func scheduleClock(s string) (schedule.Clock, error) {
	if s == "" {
		return schedule.Clock{}, nil
	}
	for _, layout := range []string{"15:04", "15:04:05", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return schedule.Clock{Hour: t.Hour(), Minute: t.Minute()}, nil
		}
	}
	return schedule.Clock{}, fmt.Errorf("time %q not read", s)
}

// hoursLane draws the occurrences of restriction r in the group's week, in
// the zone of r's place (else the group's, said in the restriction's line).
// ok is false for a restriction known only by its name and words, which
// only its line names.
func (wg *weekOfGroup) hoursLane(r restriction) (l lane, ok bool) {
	if r.sc == nil {
		return lane{}, false
	}
	l = lane{label: oneLine(hoursLabel + r.name)}
	set, why := hours(r.sc, r.zoneOr(wg.zone), schedule.Interval{Start: wg.days[0], End: wg.days[weekDays]})
	for _, iv := range set.Intervals() {
		if _, _, in := wg.clip(iv.Start, iv.End); in {
			wg.add(&l, kindHours, iv.Start, iv.End, l.windows)
			l.windows++
		}
	}
	l.note = "no hours this week"
	if why != "" {
		l.note = oneLine(why)
	}
	return l, true
}

// zoneOr is the zone r's hours are read in: its place's, else def.
func (r restriction) zoneOr(def *time.Location) *time.Location {
	if r.zone != nil {
		return r.zone
	}
	return def
}

// line names r on one line in the week of a group in zone: "Kisi time
// restriction: Office hours (Mon–Fri 08:00–18:00)", with the zone its
// hours are read in when that is not the week's.
func (r restriction) line(zone *time.Location) string {
	when := r.when
	if when == "" {
		when = "hours not given"
	}
	if r.sc != nil && r.sc.Consequence != "" && r.sc.Consequence != kisi.ScheduleAllow {
		when += ", consequence " + r.sc.Consequence
	}
	switch {
	case r.sc == nil, r.sc.Holiday != nil, r.sc.Single != nil:
		// Known by words only, a holiday calendar, or absolute instants: no
		// zone to name.
	case r.zone == nil:
		when += "; place's zone unknown, read in " + zone.String()
	case r.zone.String() != zone.String():
		when += " " + r.zone.String()
	}
	return oneLine(fmt.Sprintf("Kisi time restriction: %s (%s)", r.name, when))
}

// drawsHours reports whether the timeline has a lane of a restriction's
// hours.
func (tl timeline) drawsHours() bool {
	for _, wg := range tl.groups {
		for _, l := range wg.lanes {
			if strings.HasPrefix(l.label, hoursLabel) {
				return true
			}
		}
	}
	return false
}
