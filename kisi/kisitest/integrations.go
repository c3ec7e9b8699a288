package kisitest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
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
	name             string
	scheduleableType string
	scheduleableID   int64
	timeZone         string
}

type wireSchedule struct {
	ID               int64  `json:"id"`
	ResourceType     string `json:"resource_type"`
	Name             string `json:"name"`
	ScheduleableType string `json:"scheduleable_type"`
	ScheduleableID   int64  `json:"scheduleable_id"`
	TimeZone         string `json:"time_zone"`
	CreatedAt        string `json:"created_at"`
	UpdatedAt        string `json:"updated_at"`
}

func renderSchedule(sc *schedule) wireSchedule {
	return wireSchedule{
		ID: sc.id, ResourceType: "Schedule", Name: sc.name, ScheduleableType: sc.scheduleableType,
		ScheduleableID: sc.scheduleableID, TimeZone: sc.timeZone, CreatedAt: ts(sc.createdAt), UpdatedAt: ts(sc.updatedAt),
	}
}

// routeSchedules serves GET /schedules, filtered by scheduleable_type and
// scheduleable_id. Schedules are seeded with [Server.AddSchedule]; the fake
// offers no writes.
func (st *state) routeSchedules(c *call) response {
	return serve(st, c, resource[schedule, wireSchedule]{
		key: "schedule", items: st.schedules, render: renderSchedule,
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

// AddSchedule gives a group a time restriction (a schedule) and returns its
// id. timeZone is an IANA name or "" for none. The fake stores the name and
// zone only; it does not enforce the hours.
func (s *Server) AddSchedule(groupID int64, name, timeZone string) (int64, error) {
	if timeZone != "" {
		if _, err := time.LoadLocation(timeZone); err != nil {
			return 0, fmt.Errorf("kisitest: add schedule %q: %w", name, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.groups[groupID] == nil {
		return 0, fmt.Errorf("kisitest: add schedule %q: no group %d", name, groupID)
	}
	now := s.clock.Now().UTC()
	sc := &schedule{meta: s.st.newMeta(now), name: name, scheduleableType: "Group", scheduleableID: groupID, timeZone: timeZone}
	s.st.schedules[sc.id] = sc
	return sc.id, nil
}
