package kisi

import (
	"context"
	"encoding/json"
	"iter"
	"net/url"
	"strings"
	"time"
)

// Schedule is one of Kisi's time restrictions, such as a group's opening
// hours: outside them Kisi refuses unlocks with [CodeAccessNotAllowedNow]
// ("34ffaa"). Kisi's schedules spec documents four types (the Schedule…
// constants); the fields of the object common to all of them are here, and
// the fields of its type are in the one of Recurring, Single, AllDay or
// Holiday that matches Type (the others are nil). Raw keeps the whole
// object as Kisi sent it.
//
// A schedule carries no time zone: a recurring or all-day schedule is read
// in the time zone of the place its group belongs to (see [Place]), a
// single event is absolute.
type Schedule struct {
	ID int64 `json:"id"`
	// Name is the schedule's name; empty when Kisi sends null.
	Name string `json:"name"`
	// Type is one of the Schedule… type constants; the matching detail
	// field below is set.
	Type string `json:"type"`
	// Enabled reports whether the schedule is in force.
	Enabled bool `json:"enabled"`
	// Override makes the schedule neutralise the events of other schedules
	// with the same consequence.
	Override bool `json:"override"`
	// Consequence is what happens while the schedule occurs:
	// [ScheduleAllow] for a time restriction, or "unlock", "permit",
	// "first_to_arrive".
	Consequence string `json:"consequence"`
	// ScheduleableType and ScheduleableID name what the schedule
	// restricts, e.g. "Group" and the group's ID ("Lock" and
	// "ElevatorStop" exist too).
	ScheduleableType string `json:"scheduleable_type"`
	ScheduleableID   int64  `json:"scheduleable_id"`
	// PlaceID is the place whose zone the schedule is read in; nil when
	// Kisi gives none.
	PlaceID   *int64    `json:"place_id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	// Recurring is set for Type [ScheduleRecurring].
	Recurring *RecurringSchedule `json:"-"`
	// Single is set for Type [ScheduleSingleEvent].
	Single *SingleEventSchedule `json:"-"`
	// AllDay is set for Type [ScheduleAllDayEvent].
	AllDay *AllDaySchedule `json:"-"`
	// Holiday is set for Type [ScheduleHolidayCalendar].
	Holiday *HolidaySchedule `json:"-"`

	// TimeZone is the "time_zone" key, which Kisi's schedule object does
	// not have; always empty from Kisi.
	//
	// Deprecated: a schedule is read in its place's time zone; see
	// [Schedule].
	TimeZone string `json:"time_zone,omitempty"`
	// Raw is the object as Kisi sent it.
	Raw json.RawMessage `json:"-"`
}

// Types and the consequence of a time restriction, as Kisi's schedules spec
// names them.
const (
	ScheduleRecurring       = "recurring_event"
	ScheduleSingleEvent     = "single_event"
	ScheduleAllDayEvent     = "single_all_day_event"
	ScheduleHolidayCalendar = "holiday_calendar"

	ScheduleAllow = "allow"
)

// RecurringSchedule occurs on the weekdays whose field is true, from
// StartsAtTime to EndsAtTime ("hh:mm", in the place's time zone; empty
// means the whole day).
type RecurringSchedule struct {
	Monday       bool   `json:"monday"`
	Tuesday      bool   `json:"tuesday"`
	Wednesday    bool   `json:"wednesday"`
	Thursday     bool   `json:"thursday"`
	Friday       bool   `json:"friday"`
	Saturday     bool   `json:"saturday"`
	Sunday       bool   `json:"sunday"`
	StartsAtTime string `json:"starts_at_time"`
	EndsAtTime   string `json:"ends_at_time"`
}

// Weekdays returns the days r occurs on, Sunday first.
func (r *RecurringSchedule) Weekdays() []time.Weekday {
	var out []time.Weekday
	for d, on := range [7]bool{r.Sunday, r.Monday, r.Tuesday, r.Wednesday, r.Thursday, r.Friday, r.Saturday} {
		if on {
			out = append(out, time.Weekday(d))
		}
	}
	return out
}

// SingleEventSchedule occurs once, from StartsAt to EndsAt (absolute
// instants).
type SingleEventSchedule struct {
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
}

// AllDaySchedule occurs on the days from StartsAtDate to EndsAtDate
// ("YYYY-MM-DD", in the place's time zone).
type AllDaySchedule struct {
	StartsAtDate string `json:"starts_at_date"`
	EndsAtDate   string `json:"ends_at_date"`
}

// HolidaySchedule occurs on the public holidays of Region (e.g. "de_be"),
// as Kisi reads them; Observed is Kisi's raw "observed" setting.
type HolidaySchedule struct {
	Region   string          `json:"region"`
	Observed json.RawMessage `json:"observed,omitempty"`
}

// UnmarshalJSON decodes a schedule, fills the detail field of its type and
// keeps the raw object in Raw.
func (s *Schedule) UnmarshalJSON(data []byte) error {
	type plain Schedule
	var p struct {
		plain
		Name *string `json:"name"`
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*s = Schedule(p.plain)
	if p.Name != nil {
		s.Name = *p.Name
	}
	var detail any
	switch s.Type {
	case ScheduleRecurring:
		s.Recurring = new(RecurringSchedule)
		detail = s.Recurring
	case ScheduleSingleEvent:
		s.Single = new(SingleEventSchedule)
		detail = s.Single
	case ScheduleAllDayEvent:
		s.AllDay = new(AllDaySchedule)
		detail = s.AllDay
	case ScheduleHolidayCalendar:
		s.Holiday = new(HolidaySchedule)
		detail = s.Holiday
	}
	if detail != nil {
		if err := json.Unmarshal(data, detail); err != nil {
			return err
		}
	}
	s.Raw = append(json.RawMessage(nil), data...)
	return nil
}

// String describes when s occurs, e.g. "Mon–Fri 08:00–18:00" for a
// recurring schedule (in the place's time zone), with " (disabled)" when
// it is not enabled.
func (s *Schedule) String() string {
	var when string
	switch {
	case s.Recurring != nil:
		when = weekdaysText(s.Recurring.Weekdays())
		from, to := s.Recurring.StartsAtTime, s.Recurring.EndsAtTime
		if from == "" && to == "" {
			when += " all day"
		} else {
			when += " " + from + "–" + to
		}
	case s.Single != nil:
		when = s.Single.StartsAt.UTC().Format(time.RFC3339) + " – " + s.Single.EndsAt.UTC().Format(time.RFC3339)
	case s.AllDay != nil:
		when = s.AllDay.StartsAtDate + " – " + s.AllDay.EndsAtDate + " all day"
	case s.Holiday != nil:
		when = "holidays of " + s.Holiday.Region
	default:
		when = "type " + s.Type
	}
	if !s.Enabled {
		when += " (disabled)"
	}
	return when
}

// weekdaysText writes days Monday first, runs of three or more as ranges:
// "Mon–Fri", "Mon, Wed", "every day".
func weekdaysText(days []time.Weekday) string {
	if len(days) == 7 {
		return "every day"
	}
	if len(days) == 0 {
		return "no day"
	}
	on := [7]bool{}
	for _, d := range days {
		on[(int(d)+6)%7] = true // Monday is 0
	}
	var parts []string
	for i := 0; i < 7; {
		if !on[i] {
			i++
			continue
		}
		j := i
		for j+1 < 7 && on[j+1] {
			j++
		}
		name := func(k int) string { return time.Weekday((k + 1) % 7).String()[:3] }
		switch {
		case j-i >= 2:
			parts = append(parts, name(i)+"–"+name(j))
		case j > i:
			parts = append(parts, name(i), name(j))
		default:
			parts = append(parts, name(i))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// ScheduleListOptions filters GET /schedules. List a group's time
// restrictions with ScheduleableType "Group" and ScheduleableID.
type ScheduleListOptions struct {
	ScheduleableType string
	ScheduleableID   int64
	ListOptions
}

func (o *ScheduleListOptions) encode(v url.Values) {
	setString(v, "scheduleable_type", o.ScheduleableType)
	setInt(v, "scheduleable_id", o.ScheduleableID)
	o.ListOptions.encode(v)
}

// SchedulesService reads schedules (time restrictions), for diagnosis of
// refusals outside opening hours.
type SchedulesService service

// List returns one page of schedules matching opts (nil lists all).
func (s *SchedulesService) List(ctx context.Context, opts *ScheduleListOptions) ([]*Schedule, *Response, error) {
	return list[Schedule](ctx, s.client, "schedules", opts, defaultLimit)
}

// ListIter returns every schedule matching opts, reading pages lazily.
func (s *SchedulesService) ListIter(ctx context.Context, opts *ScheduleListOptions) iter.Seq2[*Schedule, error] {
	return Items(ctx, s.List, opts)
}

// ForGroup returns every schedule of a group.
func (s *SchedulesService) ForGroup(ctx context.Context, groupID int64) ([]*Schedule, error) {
	var out []*Schedule
	for sc, err := range s.ListIter(ctx, &ScheduleListOptions{ScheduleableType: ScopeGroup, ScheduleableID: groupID}) {
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, nil
}
