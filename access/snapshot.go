package access

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kisisync/kisisync/schedule"
)

// Snapshot is everything the host platform knows that bears on door access,
// at one moment. The SDK never mutates it.
type Snapshot struct {
	Locations   []Location   `json:"locations,omitempty"`
	Resources   []Resource   `json:"resources,omitempty"`
	Members     []Member     `json:"members,omitempty"`
	Teams       []Team       `json:"teams,omitempty"`
	Plans       []Plan       `json:"plans,omitempty"`
	Allowances  []Allowance  `json:"allowances,omitempty"`
	Bookings    []Booking    `json:"bookings,omitempty"`
	Assignments []Assignment `json:"assignments,omitempty"`
	CheckIns    []CheckIn    `json:"check_ins,omitempty"`
}

// Location is a site of the platform. TimeZone is an IANA name such as
// "Europe/Berlin"; weekly rules and check-in days are read in it. A name
// that is not a known IANA zone, including the empty name and "Local" (which
// would mean UTC or the zone of the machine running the code), rejects the
// location with [ErrUnknownTimeZone].
type Location struct {
	ID       string `json:"id"`
	TimeZone string `json:"time_zone"`
}

// Resource is a bookable or assignable thing (a room, a desk, an office) at a
// location.
type Resource struct {
	ID         string `json:"id"`
	LocationID string `json:"location_id"`
}

// Member is a person known to the platform. Email identifies the member in
// Kisi (trimmed and case-folded). A Managed member gets a managed Kisi user,
// which receives no Kisi email (white-label apps).
type Member struct {
	ID      string `json:"id"`
	Email   string `json:"email"`
	Name    string `json:"name,omitempty"`
	Managed bool   `json:"managed,omitempty"`
}

// Team is a group of members sharing plans, allowances and assignments.
type Team struct {
	ID        string   `json:"id"`
	MemberIDs []string `json:"member_ids"`
}

// PlanStatus is the state of a membership plan. Only [PlanActive] grants
// access.
type PlanStatus int

// The plan states.
const (
	PlanPending   PlanStatus = iota // not yet accepted or confirmed
	PlanActive                      // in force between Start and End
	PlanCancelled                   // grants nothing
)

// Plan is a membership plan held by a member or a whole team. PlanID is the
// platform's plan (product) ID, looked up in mapping.Mapping.Plans. A zero End
// means open-ended.
type Plan struct {
	ID       string     `json:"id"`
	PlanID   string     `json:"plan_id"`
	MemberID string     `json:"member_id,omitempty"`
	TeamID   string     `json:"team_id,omitempty"`
	Start    time.Time  `json:"start"`
	End      time.Time  `json:"end,omitzero"`
	Status   PlanStatus `json:"status"`
}

// Allowance is an allowance or discount (from a plan, a pass or added by an
// admin) held by a member or a team, mapped by AllowanceID. A zero End means
// open-ended.
type Allowance struct {
	ID          string    `json:"id"`
	AllowanceID string    `json:"allowance_id"`
	MemberID    string    `json:"member_id,omitempty"`
	TeamID      string    `json:"team_id,omitempty"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end,omitzero"`
}

// Guest is the booker of a drop-in booking who is not a member.
type Guest struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Booking is a booking of a resource from Start to End, by a member or, for a
// drop-in, by a Guest.
type Booking struct {
	ID         string    `json:"id"`
	ResourceID string    `json:"resource_id"`
	MemberID   string    `json:"member_id,omitempty"`
	Guest      *Guest    `json:"guest,omitempty"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	CreatedAt  time.Time `json:"created_at,omitzero"`
}

// Assignment is a recurring assignment of a resource (a dedicated desk, an
// office) to a member or a team, between Start and End (zero End: open). With
// no Rules it is in force all the time; otherwise during each occurrence of
// its weekly Rules, in the wall clock of the resource's location.
type Assignment struct {
	ID         string          `json:"id"`
	ResourceID string          `json:"resource_id"`
	MemberID   string          `json:"member_id,omitempty"`
	TeamID     string          `json:"team_id,omitempty"`
	Start      time.Time       `json:"start"`
	End        time.Time       `json:"end,omitzero"`
	Rules      []schedule.Rule `json:"rules,omitempty"`
}

// CheckIn is a member's check-in at a location at At, with the check-out Out
// (zero while still checked in).
type CheckIn struct {
	ID         string    `json:"id"`
	MemberID   string    `json:"member_id"`
	LocationID string    `json:"location_id"`
	At         time.Time `json:"at"`
	Out        time.Time `json:"out,omitzero"`
}

// Policy holds the organization's access settings.
//
// Its JSON form, which a host may write by hand, gives every duration as a Go
// duration string ("20m", "1h30m"; see [schedule.FormatDuration]):
//
//	{
//	  "buffer":           {"before": "5m", "after": "5m"},
//	  "resource_buffers": {"room-1": {"before": "15m", "after": "10m"}},
//	  "check_in_for":     "2h",
//	  "lead":             "20m"
//	}
//
// Decoding sets only the fields present, so decode into [DefaultPolicy] to
// default the others. A number where a duration belongs, a negative duration
// or an unknown field is an error wrapping [ErrInvalidPolicy] that names the
// field.
type Policy struct {
	// Buffer ("buffer") widens every booking and assignment occurrence.
	Buffer schedule.Buffer `json:"buffer"`
	// ResourceBuffers ("resource_buffers") overrides Buffer per resource ID.
	ResourceBuffers map[string]schedule.Buffer `json:"resource_buffers,omitempty"`
	// CheckInFor ("check_in_for") is how long a check-in grants access; 0
	// (left out of the JSON) means until check-out or the end of the local
	// day at the location.
	CheckInFor time.Duration `json:"check_in_for,omitempty"`
	// Lead ("lead") is how long before a window starts it is put into Kisi.
	Lead time.Duration `json:"lead"`
}

// DefaultPolicy returns a 5-minute buffer before and after, a 20-minute lead
// time and check-ins that last until the end of the local day.
func DefaultPolicy() Policy {
	return Policy{Buffer: schedule.DefaultBuffer, Lead: 20 * time.Minute}
}

// Source names one platform record that produced access. Kind is plan,
// allowance, booking, assignment, checkin or default; default is an active
// plan whose plan ID is unmapped and which therefore grants
// mapping.Mapping.Default, and its ID is the plan's ID.
type Source struct {
	Kind string `json:"kind"` // plan, allowance, booking, assignment, checkin or default
	ID   string `json:"id"`
}

// Grant is access for one member to one Kisi group during Window, with the
// Sources that produced it, listed by kind (plan, default, allowance,
// booking, assignment, checkin) and then in snapshot order. Email is
// normalized (see [NormalizeEmail]); members sharing an email are one Kisi
// user and their grants carry the ID of the first of them in the snapshot.
type Grant struct {
	MemberID string            `json:"member_id"`
	Email    string            `json:"email"`
	GroupID  int64             `json:"group_id"`
	Window   schedule.Interval `json:"window"`
	Sources  []Source          `json:"sources"`
}

// String returns "pending", "active" or "cancelled".
func (s PlanStatus) String() string {
	switch s {
	case PlanPending:
		return "pending"
	case PlanActive:
		return "active"
	case PlanCancelled:
		return "cancelled"
	}
	return fmt.Sprintf("PlanStatus(%d)", int(s))
}

// MarshalText encodes s as "pending", "active" or "cancelled"; JSON uses
// it, so a plan's status reads "status": "active".
func (s PlanStatus) MarshalText() ([]byte, error) {
	if s < PlanPending || s > PlanCancelled {
		return nil, fmt.Errorf("access: %w %d", ErrInvalidStatus, int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes "pending", "active" or "cancelled" (any case).
func (s *PlanStatus) UnmarshalText(b []byte) error {
	switch strings.ToLower(strings.TrimSpace(string(b))) {
	case "pending":
		*s = PlanPending
	case "active":
		*s = PlanActive
	case "cancelled", "canceled":
		*s = PlanCancelled
	default:
		return fmt.Errorf("access: %w %q", ErrInvalidStatus, b)
	}
	return nil
}

// policyJSON is the wire form of a Policy.
type policyJSON struct {
	Buffer          schedule.Buffer            `json:"buffer"`
	ResourceBuffers map[string]schedule.Buffer `json:"resource_buffers,omitempty"`
	CheckInFor      string                     `json:"check_in_for,omitempty"`
	Lead            string                     `json:"lead"`
}

// MarshalJSON encodes p with durations as Go duration strings (see
// [Policy]). An invalid policy is an error wrapping [ErrInvalidPolicy].
func (p Policy) MarshalJSON() ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("access: %w", err)
	}
	w := policyJSON{Buffer: p.Buffer, ResourceBuffers: p.ResourceBuffers, Lead: schedule.FormatDuration(p.Lead)}
	if p.CheckInFor != 0 {
		w.CheckInFor = schedule.FormatDuration(p.CheckInFor)
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes the form written by [Policy.MarshalJSON]. Fields
// left out keep their value; "resource_buffers", when present, replaces the
// whole map.
func (p *Policy) UnmarshalJSON(data []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return fmt.Errorf("access: %w: want an object such as {\"buffer\": {\"before\": \"5m\", \"after\": \"5m\"}, \"lead\": \"20m\"}", ErrInvalidPolicy)
	}
	if fields == nil { // null
		return nil
	}
	out := *p
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		raw := fields[k]
		var err error
		switch k {
		case "buffer":
			err = out.Buffer.UnmarshalJSON(raw) // its error names buffer and the side
		case "resource_buffers":
			out.ResourceBuffers, err = decodeResourceBuffers(raw)
		case "check_in_for":
			out.CheckInFor, err = schedule.DecodeDuration(raw)
		case "lead":
			out.Lead, err = schedule.DecodeDuration(raw)
		default:
			return fmt.Errorf("access: %w: unknown field %q (want buffer, resource_buffers, check_in_for or lead)", ErrInvalidPolicy, k)
		}
		switch {
		case err == nil:
		case k == "check_in_for" || k == "lead":
			return fmt.Errorf("access: %w: %s: %w", ErrInvalidPolicy, k, err)
		default: // the error names the field
			return fmt.Errorf("access: %w: %w", ErrInvalidPolicy, err)
		}
	}
	*p = out
	return nil
}

// decodeResourceBuffers decodes "resource_buffers", naming the resource of a
// bad buffer.
func decodeResourceBuffers(raw json.RawMessage) (map[string]schedule.Buffer, error) {
	var items map[string]json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, errors.New("resource_buffers: want an object from resource IDs to buffers")
	}
	if items == nil {
		return nil, nil
	}
	out := make(map[string]schedule.Buffer, len(items))
	for _, id := range slices.Sorted(maps.Keys(items)) {
		var b schedule.Buffer
		if err := b.UnmarshalJSON(items[id]); err != nil {
			return nil, fmt.Errorf("resource_buffers[%q]: %w", id, err)
		}
		out[id] = b
	}
	return out, nil
}
