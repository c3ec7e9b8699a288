package kisitest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

type integration struct {
	meta
	name, typ     string
	url           string
	enabled       bool
	enabledEvents []string
	signatureKey  string
	disabledAt    *time.Time // disabled due to error
}

type wireIntegration struct {
	ID                   int64           `json:"id"`
	ResourceType         string          `json:"resource_type"`
	Name                 string          `json:"name"`
	Type                 string          `json:"type"`
	Enabled              bool            `json:"enabled"`
	DisabledDueToError   bool            `json:"disabled_due_to_error"`
	DisabledDueToErrorAt *string         `json:"disabled_due_to_error_at"`
	CreatedAt            string          `json:"created_at"`
	UpdatedAt            string          `json:"updated_at"`
	OrganizationID       int64           `json:"organization_id"`
	Organization         refOrganization `json:"organization"`
	PlaceID              *int64          `json:"place_id"`
	Place                *refNamed       `json:"place"`
	URL                  *string         `json:"url,omitempty"`
	EnabledEvents        []string        `json:"enabled_events,omitempty"`
}

var integrationTypes = map[string]bool{
	"active_directory_user_import": true, "braxos_elevator": true, "event_webhook": true,
	"jumpcloud_user_import": true, "rhombus_systems_camera": true,
}

func (st *state) renderIntegration(in *integration) wireIntegration {
	w := wireIntegration{
		ID: in.id, ResourceType: "Integration", Name: in.name, Type: in.typ, Enabled: in.enabled,
		DisabledDueToError: in.disabledAt != nil, DisabledDueToErrorAt: tsPtr(in.disabledAt),
		CreatedAt: ts(in.createdAt), UpdatedAt: ts(in.updatedAt),
		OrganizationID: st.org.id, Organization: st.orgRef(),
	}
	if in.typ == "event_webhook" {
		u := in.url
		w.URL = &u
		w.EnabledEvents = append([]string{}, in.enabledEvents...)
	}
	return w
}

// routeIntegrations serves /integrations. The signature key is stored but
// never returned.
func (st *state) routeIntegrations(c *call) response {
	return serve(st, c, resource[integration, wireIntegration]{
		key: "integration", items: st.integrations, render: st.renderIntegration,
		pageSize: 10, maxPageSize: 250, filter: st.integrationFilter,
		create: func(f *fields) (*integration, response) {
			in := &integration{meta: stamp(c.now), name: f.required("name"), typ: f.required("type"), enabled: true}
			if in.typ != "" && !integrationTypes[in.typ] {
				f.fail("type", "is not included in the list")
			}
			st.applyIntegrationFields(f, in)
			if in.typ == "event_webhook" && in.url == "" {
				f.fail("url", "can't be blank")
			}
			return in, response{}
		},
		update: func(f *fields, cp *integration) {
			if f.has("name") {
				cp.name = f.required("name")
			}
			st.applyIntegrationFields(f, cp)
			if cp.enabled {
				cp.disabledAt = nil // re-enabling clears the error state
			}
		},
		remove: removeWith(func(in *integration) { delete(st.integrations, in.id) }),
	})
}

func (st *state) applyIntegrationFields(f *fields, in *integration) {
	if u := f.str("url"); u != nil {
		if p, err := url.Parse(*u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			f.fail("url", "is invalid")
		}
		in.url = *u
	}
	if b := f.boolean("enabled"); b != nil {
		in.enabled = *b
	}
	if k := f.str("signature_key"); k != nil {
		in.signatureKey = *k
	}
	if !f.isNull("enabled_events") {
		var evs []string
		if json.Unmarshal(f.m["enabled_events"], &evs) != nil {
			f.fail("enabled_events", "is invalid")
		}
		for _, e := range evs {
			if !slices.Contains(eventTypes[:], e) {
				f.fail("enabled_events", "is invalid")
				break
			}
		}
		in.enabledEvents = evs
	}
}

func (st *state) integrationFilter(q *query) func(*integration) bool {
	text := q.text()
	enabled := q.Get("enabled")
	return func(in *integration) bool {
		return matches(text, in.name) && (enabled == "" || enabled == fmt.Sprint(in.enabled))
	}
}

// DisableIntegrationDueToError turns an integration off as Kisi does with
// one that keeps failing: enabled false, disabled_due_to_error true and
// disabled_due_to_error_at now. Updating it with enabled true clears the
// error state.
func (s *Server) DisableIntegrationDueToError(id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.st.integrations[id]
	if in == nil {
		return fmt.Errorf("kisitest: disable integration: no integration %d", id)
	}
	now := s.clock.Now().UTC()
	in.enabled, in.disabledAt, in.updatedAt = false, &now, now
	return nil
}

// IntegrationSignatureKey returns the signature key stored for an
// integration, which the API never returns, so that a test can sign
// deliveries as Kisi would.
func (s *Server) IntegrationSignatureKey(id int64) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.st.integrations[id]
	if in == nil {
		return "", errors.New("kisitest: integration signature key: no such integration")
	}
	return in.signatureKey, nil
}

type schedule struct {
	meta
	Schedule
	typ              string
	scheduleableType string
	scheduleableID   int64
	scheduleableName string
	placeID          int64
	placeName        string
}

// Schedule is a time restriction to seed with [Server.AddGroupSchedule],
// with the fields of Kisi's schedules spec. Its type follows the spec's
// rules: Region makes a holiday calendar, StartsAt and EndsAt a single
// event, StartsAtDate and EndsAtDate an all-day event, and otherwise it is
// a recurring event, which needs at least one of Days. Like Kisi's, it has
// no time zone: hours and dates are read in the place's zone.
type Schedule struct {
	Name string
	// Consequence is "allow" (the default), "unlock", "permit" or
	// "first_to_arrive".
	Consequence string
	// Disabled seeds the schedule with enabled false.
	Disabled bool
	Override bool
	// Days and StartsAtTime, EndsAtTime ("hh:mm") make a recurring event.
	Days                     []time.Weekday
	StartsAtTime, EndsAtTime string
	// StartsAt and EndsAt make a single event.
	StartsAt, EndsAt time.Time
	// StartsAtDate and EndsAtDate ("YYYY-MM-DD") make an all-day event.
	StartsAtDate, EndsAtDate string
	// Region makes a holiday calendar, e.g. "de_be".
	Region string
}

// kind returns the schedule's type by the spec's rules, or an error for
// what Kisi's validations refuse.
func (sc *Schedule) kind() (string, error) {
	switch {
	case sc.Region != "":
		return "holiday_calendar", nil
	case !sc.StartsAt.IsZero() || !sc.EndsAt.IsZero():
		if sc.StartsAt.IsZero() || sc.EndsAt.IsZero() || !sc.StartsAt.Before(sc.EndsAt) {
			return "", errors.New("a single event needs starts_at before ends_at")
		}
		return "single_event", nil
	case sc.StartsAtDate != "" || sc.EndsAtDate != "":
		a, errA := time.Parse(time.DateOnly, sc.StartsAtDate)
		b, errB := time.Parse(time.DateOnly, sc.EndsAtDate)
		if errA != nil || errB != nil || b.Before(a) {
			return "", errors.New("an all-day event needs starts_at_date and ends_at_date as YYYY-MM-DD, in order")
		}
		return "single_all_day_event", nil
	}
	if len(sc.Days) == 0 {
		return "", errors.New("a recurring event needs at least one weekday")
	}
	for _, t := range []string{sc.StartsAtTime, sc.EndsAtTime} {
		if _, err := time.Parse("15:04", t); t != "" && err != nil {
			return "", fmt.Errorf("time %q is not hh:mm", t)
		}
	}
	if sc.StartsAtTime != "" && sc.EndsAtTime != "" && sc.StartsAtTime >= sc.EndsAtTime {
		return "", errors.New("starts_at_time must be before ends_at_time")
	}
	return "recurring_event", nil
}

func (st *state) renderSchedule(sc *schedule) map[string]any {
	var placeID, place any
	if sc.placeID != 0 {
		placeID = sc.placeID
		place = map[string]any{"id": sc.placeID, "resource_type": "Place", "name": sc.placeName}
	}
	var name any
	if sc.Name != "" {
		name = sc.Name
	}
	consequence := sc.Consequence
	if consequence == "" {
		consequence = "allow"
	}
	out := map[string]any{
		"id": sc.id, "resource_type": "Schedule", "created_at": ts(sc.createdAt), "updated_at": ts(sc.updatedAt),
		"name": name, "enabled": !sc.Disabled, "override": sc.Override, "consequence": consequence,
		"scheduleable_type": sc.scheduleableType, "scheduleable_id": sc.scheduleableID,
		"scheduleable": map[string]any{"id": sc.scheduleableID, "type": sc.scheduleableType, "name": sc.scheduleableName},
		"place_id":     placeID, "integration_id": nil, "type": sc.typ,
	}
	if place != nil {
		out["place"] = place
	}
	switch sc.typ {
	case "recurring_event":
		on := map[time.Weekday]bool{}
		for _, d := range sc.Days {
			on[d] = true
		}
		for d := time.Sunday; d <= time.Saturday; d++ {
			out[strings.ToLower(d.String())] = on[d]
		}
		out["starts_at_time"], out["ends_at_time"] = sc.StartsAtTime, sc.EndsAtTime
		out["next_occurence"] = nil
	case "single_event":
		out["starts_at"], out["ends_at"] = ts(sc.StartsAt), ts(sc.EndsAt)
	case "single_all_day_event":
		out["starts_at_date"], out["ends_at_date"] = sc.StartsAtDate, sc.EndsAtDate
	case "holiday_calendar":
		out["region"], out["observed"] = sc.Region, true
	}
	return out
}

// routeSchedules serves GET /schedules, filtered by scheduleable_type and
// scheduleable_id. Schedules are seeded with [Server.AddGroupSchedule]; the fake
// offers no writes.
func (st *state) routeSchedules(c *call) response {
	return serve(st, c, resource[schedule, map[string]any]{
		key: "schedule", items: st.schedules, render: st.renderSchedule,
		pageSize: 10, maxPageSize: 250,
		filter: func(q *query) func(*schedule) bool {
			typ := q.Get("scheduleable_type")
			id, byID := q.id("scheduleable_id")
			return func(sc *schedule) bool {
				return (typ == "" || sc.scheduleableType == typ) && (!byID || sc.scheduleableID == id)
			}
		},
	})
}

// AddGroupSchedule gives a group a time restriction (a schedule) and
// returns its id. It fails for an unknown group and for a schedule Kisi's
// validations refuse (see [Schedule]). The fake lists schedules; it does
// not enforce their hours.
func (s *Server) AddGroupSchedule(groupID int64, sc Schedule) (int64, error) {
	typ, err := sc.kind()
	if err != nil {
		return 0, fmt.Errorf("kisitest: add schedule %q: %w", sc.Name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.st.groups[groupID]
	if g == nil {
		return 0, fmt.Errorf("kisitest: add schedule %q: no group %d", sc.Name, groupID)
	}
	now := s.clock.Now().UTC()
	row := &schedule{meta: s.st.newMeta(now), Schedule: sc, typ: typ,
		scheduleableType: "Group", scheduleableID: groupID, scheduleableName: g.name, placeID: g.placeID}
	row.Days = slices.Clone(sc.Days)
	if p := s.st.places[g.placeID]; p != nil {
		row.placeName = p.name
	}
	s.st.schedules[row.id] = row
	return row.id, nil
}

// AddSchedule gives a group a recurring time restriction on every day,
// named name, and returns its id.
//
// Deprecated: Kisi's schedule object has no time zone (its hours are read
// in the place's zone), so timeZone is only checked to be a valid IANA name
// or "", and not sent. Use [Server.AddGroupSchedule], which takes the
// schedule's days and hours.
func (s *Server) AddSchedule(groupID int64, name, timeZone string) (int64, error) {
	if timeZone != "" {
		if _, err := time.LoadLocation(timeZone); err != nil {
			return 0, fmt.Errorf("kisitest: add schedule %q: %w", name, err)
		}
	}
	every := []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}
	return s.AddGroupSchedule(groupID, Schedule{Name: name, Days: every})
}
