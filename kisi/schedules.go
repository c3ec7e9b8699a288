package kisi

import (
	"context"
	"encoding/json"
	"iter"
	"net/url"
	"time"
)

// Schedule is one of Kisi's time restrictions, such as a group's opening
// hours: outside them Kisi refuses unlocks with [CodeAccessNotAllowedNow]
// ("34ffaa"). The fields below are those this package relies on; Kisi's
// schedule object is not documented further in what this package follows,
// so Raw keeps the whole object for a diagnosis to show.
type Schedule struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// ScheduleableType and ScheduleableID name what the schedule
	// restricts, e.g. "Group" and the group's ID.
	ScheduleableType string `json:"scheduleable_type"`
	ScheduleableID   int64  `json:"scheduleable_id"`
	// TimeZone is the IANA zone the schedule's hours are in; empty when
	// the object has none.
	TimeZone  string    `json:"time_zone,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Raw is the object as Kisi sent it.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes a schedule and keeps the raw object in Raw.
func (s *Schedule) UnmarshalJSON(data []byte) error {
	type plain Schedule
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*s = Schedule(p)
	s.Raw = append(json.RawMessage(nil), data...)
	return nil
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
	return listIter(ctx, opts, MaxLimit, s.List)
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
