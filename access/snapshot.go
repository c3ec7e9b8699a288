package access

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// Snapshot is everything the host platform knows that bears on door access,
// at one moment. The SDK never mutates it.
//
// Every record has an ID that must be non-empty and unique among the
// records of its kind; records refer to each other by these IDs. A record
// that breaks a rule is rejected alone and reported as a [*RecordError];
// the others are still used. Order matters only where stated: of records
// sharing an ID, and of members sharing an email, the first one wins, and
// a Grant lists its Sources in snapshot order within each kind. A nil slice and an empty one
// are the same. The zero Snapshot grants nothing.
//
// All times are instants: any location will do, as they are compared as
// instants, and results keep the location of the times they come from.
// Wall-clock meaning (weekly rules, the end of a check-in's day) comes from
// the time zone of the [Location] concerned, never from the machine.
type Snapshot struct {
	// Locations are the sites, with their time zones.
	Locations []Location `json:"locations,omitempty"`
	// Resources are the bookable and assignable things, each at a location.
	Resources []Resource `json:"resources,omitempty"`
	// Members are the people who can get access.
	Members []Member `json:"members,omitempty"`
	// Teams group members for plans, allowances and assignments.
	Teams []Team `json:"teams,omitempty"`
	// Plans are membership plans; only active ones grant access.
	Plans []Plan `json:"plans,omitempty"`
	// Allowances are allowances and discounts held by members or teams.
	Allowances []Allowance `json:"allowances,omitempty"`
	// Bookings are bookings of resources by members or guests (drop-ins).
	Bookings []Booking `json:"bookings,omitempty"`
	// Assignments are recurring assignments of resources.
	Assignments []Assignment `json:"assignments,omitempty"`
	// CheckIns are check-ins at locations.
	CheckIns []CheckIn `json:"check_ins,omitempty"`
}

// Location is a site of the platform. TimeZone is an IANA name such as
// "Europe/Berlin"; weekly rules and check-in days are read in it. A name
// that is not a known IANA zone, including the empty name and "Local" (which
// would mean UTC or the zone of the machine running the code), rejects the
// location with [ErrUnknownTimeZone].
type Location struct {
	// ID identifies the location; resources and check-ins refer to it,
	// and it is the key in mapping.Mapping.Locations (check-in access).
	ID string `json:"id"`
	// TimeZone is the IANA name of the location's time zone; required.
	TimeZone string `json:"time_zone"`
}

// Resource is a bookable or assignable thing (a room, a desk, an office) at a
// location. A resource whose location is unknown or rejected is rejected
// with [ErrUnknownLocation].
type Resource struct {
	// ID identifies the resource; bookings and assignments refer to it,
	// and it is the key in mapping.Mapping.Resources and in
	// [Policy].ResourceBuffers.
	ID string `json:"id"`
	// LocationID is the [Location] the resource is at; its time zone is
	// the one the resource's weekly rules are read in.
	LocationID string `json:"location_id"`
}

// Member is a person known to the platform. Email identifies the member in
// Kisi (trimmed and case-folded). A Managed member gets a managed Kisi user,
// which receives no Kisi email (white-label apps).
type Member struct {
	// ID identifies the member; the other records refer to it.
	ID string `json:"id"`
	// Email is required; it is trimmed and case-folded (see
	// [NormalizeEmail]) and a malformed one rejects the member with
	// [ErrInvalidEmail]. Members sharing an email are one Kisi user, served
	// under the ID of the first of them ([ErrSharedEmail]).
	Email string `json:"email"`
	// Name is the display name given to a Kisi user created for the
	// member, and shown in explanations; empty is allowed.
	Name string `json:"name,omitempty"`
	// Managed makes a Kisi user created for the member a managed user
	// (no Kisi emails, confirmed at once). False: a regular user, who gets
	// Kisi's invitation once, with the first grant.
	Managed bool `json:"managed,omitempty"`
	// Suspended removes the member's access while the platform keeps
	// their plans and other records (unpaid invoices, a ban): they grant
	// nothing until it is cleared. Members sharing an email are suspended
	// with the first of them.
	Suspended bool `json:"suspended,omitempty"`
}

// Team is a group of members sharing plans, allowances and assignments.
type Team struct {
	// ID identifies the team; plans, allowances and assignments refer to
	// it with their TeamID.
	ID string `json:"id"`
	// MemberIDs are the team's members. Repeats count once; an unknown ID
	// is reported with [ErrUnknownMember] and skipped, while the team
	// keeps its other members. Empty: a team that reaches nobody.
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

// Plan is a membership plan held by a member or a whole team. An active
// plan grants access during [Start, End); the groups are those
// mapping.Mapping.Plans gives PlanID, or mapping.Mapping.Default when it
// gives none.
type Plan struct {
	// ID identifies this plan held by this holder (a subscription).
	ID string `json:"id"`
	// PlanID is the platform's plan (product) ID, the key in
	// mapping.Mapping.Plans.
	PlanID string `json:"plan_id"`
	// MemberID is the holder, unless TeamID is set.
	MemberID string `json:"member_id,omitempty"`
	// TeamID, when set, makes every member of the team a holder; it wins
	// over MemberID. With neither set the plan is rejected ([ErrNoHolder]).
	TeamID string `json:"team_id,omitempty"`
	// Start is the instant access begins; required.
	Start time.Time `json:"start"`
	// End is the instant access ends (exclusive); zero means open-ended.
	// A non-zero End must be after Start.
	End time.Time `json:"end,omitzero"`
	// Status is the plan's state; the zero value is [PlanPending], which
	// grants nothing.
	Status PlanStatus `json:"status"`
}

// Allowance is an allowance or discount (from a plan, a pass or added by an
// admin) held by a member or a team. It grants the groups
// mapping.Mapping.Allowances gives AllowanceID during [Start, End); one
// that maps to no group grants nothing.
type Allowance struct {
	// ID identifies this allowance held by this holder.
	ID string `json:"id"`
	// AllowanceID is the platform's allowance (product) ID, the key in
	// mapping.Mapping.Allowances.
	AllowanceID string `json:"allowance_id"`
	// MemberID is the holder, unless TeamID is set.
	MemberID string `json:"member_id,omitempty"`
	// TeamID, when set, makes every member of the team a holder; it wins
	// over MemberID. With neither set the allowance is rejected.
	TeamID string `json:"team_id,omitempty"`
	// Start is the instant access begins; required.
	Start time.Time `json:"start"`
	// End is the instant access ends (exclusive); zero means open-ended.
	End time.Time `json:"end,omitzero"`
}

// Guest is the booker of a drop-in booking who is not a member.
type Guest struct {
	// Name names the guest's Kisi group link (seen in Kisi's logs); when
	// empty, the link is named after Email, since Kisi refuses a link
	// without a name.
	Name string `json:"name"`
	// Email is required and normalized as a member's; Kisi emails the link
	// or QR code to it. A malformed one rejects the booking with
	// [ErrInvalidEmail]. With mapping.DropIn.AddToGroup the guest also gets
	// a Kisi user and the resource's groups for the booking window, like a
	// member booking: as that member when the email is a member's, else as
	// a guest (see [Grant].Guest).
	Email string `json:"email"`
}

// Booking is a booking of a resource from Start to End, by a member or, for a
// drop-in, by a Guest. It grants the resource's groups during [Start −
// Before, End + After) with the buffer in force ([Policy]); a drop-in gets
// a group link for that window instead (see [Links]).
type Booking struct {
	// ID identifies the booking.
	ID string `json:"id"`
	// ResourceID is the booked [Resource].
	ResourceID string `json:"resource_id"`
	// MemberID is the member who booked. When set, Guest is ignored.
	MemberID string `json:"member_id,omitempty"`
	// Guest is the booker of a drop-in: used only when MemberID is empty.
	// With neither, the booking is rejected ([ErrNoHolder]).
	Guest *Guest `json:"guest,omitempty"`
	// Start is the instant the booking begins; required.
	Start time.Time `json:"start"`
	// End is the instant the booking ends; required and after Start (a
	// booking is never open-ended).
	End time.Time `json:"end"`
	// CreatedAt is when the booking was made; informational only, it
	// changes no window. Zero is allowed.
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// Assignment is a recurring assignment of a resource (a dedicated desk, an
// office) to a member or a team, between Start and End (zero End: open). With
// no Rules it is in force all the time, widened by the buffer in force:
// [Start − Before, End + After), End zero staying open. With Rules it is in
// force during each occurrence of its weekly Rules, in the wall clock of the
// resource's location, each cut to [Start, End) and then widened the same
// way.
type Assignment struct {
	// ID identifies the assignment.
	ID string `json:"id"`
	// ResourceID is the assigned [Resource]; its groups are granted.
	ResourceID string `json:"resource_id"`
	// MemberID is the holder, unless TeamID is set.
	MemberID string `json:"member_id,omitempty"`
	// TeamID, when set, makes every member of the team a holder; it wins
	// over MemberID. With neither set the assignment is rejected.
	TeamID string `json:"team_id,omitempty"`
	// Start is the instant the assignment begins; required.
	Start time.Time `json:"start"`
	// End is the instant it ends (exclusive); zero means open-ended.
	End time.Time `json:"end,omitzero"`
	// Rules are the weekly times of access, read in the time zone of the
	// resource's location; a rule whose To is not after its From ends on
	// the next day. Nil or empty: access all the time between Start and
	// End (widened by the buffer). An invalid rule rejects the assignment with [ErrInvalidRule].
	Rules []schedule.Rule `json:"rules,omitempty"`
}

// CheckIn is a member's check-in at a location at At, with the check-out Out
// (zero while still checked in). It grants the groups
// mapping.Mapping.Locations gives the location from At until the earliest
// of Out and the end of At's local day at the location (midnight), or
// for [Policy].CheckInFor when that is set.
type CheckIn struct {
	// ID identifies the check-in.
	ID string `json:"id"`
	// MemberID is the member who checked in; required.
	MemberID string `json:"member_id"`
	// LocationID is the [Location] checked in at; required.
	LocationID string `json:"location_id"`
	// At is the instant of the check-in; required.
	At time.Time `json:"at"`
	// Out is the instant of the check-out; zero means still checked in.
	// Out before At rejects the check-in; Out equal to At grants nothing.
	Out time.Time `json:"out,omitzero"`
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
//
// The zero Policy is valid but is not [DefaultPolicy]: no buffer, no lead
// time. No duration may be negative (see [Policy.Validate]).
type Policy struct {
	// Buffer ("buffer") widens every booking and assignment: access opens
	// Before its start and closes After its end (an assignment without
	// rules as a whole, one with weekly rules at each occurrence; an open
	// end stays open). Zero: no widening. Plans, allowances and check-ins
	// are not widened.
	Buffer schedule.Buffer `json:"buffer"`
	// ResourceBuffers ("resource_buffers") overrides Buffer per resource
	// ID: the resource's buffer replaces Buffer whole (both sides). Nil or
	// a resource not in it: Buffer applies.
	ResourceBuffers map[string]schedule.Buffer `json:"resource_buffers,omitempty"`
	// CheckInFor ("check_in_for") is how long a check-in grants access,
	// from its At, cut short by a check-out; 0 (left out of the JSON)
	// means until check-out or the end of the local day at the location.
	CheckInFor time.Duration `json:"check_in_for,omitempty"`
	// Lead ("lead") is how long before a window starts it is put into Kisi
	// (the slot rule of [Desired]); 0 means only once it has started. Kisi
	// itself opens the door at the window's start.
	Lead time.Duration `json:"lead"`
	// Validity ("validity") bounds how far ahead Kisi holds a window: an
	// open-ended window (or one ending later than Validity from now) is
	// held as a rolling window ending Validity from now, renewed when less
	// than half of it remains, so access that nobody ends any more (a sync
	// that stopped, a lost Store) ends by itself within Validity. Zero
	// means [DefaultValidity]; [UnboundedValidity] ("unbounded") holds
	// open-ended windows with no valid_until at all, an explicit choice
	// that gives up that bound.
	Validity time.Duration `json:"validity,omitempty"`
}

// DefaultValidity is the rolling validity of [Policy.Validity] when it is
// zero: 14 days.
const DefaultValidity = 14 * 24 * time.Hour

// UnboundedValidity, as [Policy.Validity], holds open-ended windows in Kisi
// with no valid_until: nothing but a later run of this SDK ends them.
const UnboundedValidity time.Duration = -1

// validity returns the rolling bound of p: [DefaultValidity] for zero, and
// a negative duration for [UnboundedValidity].
func (p Policy) validity() time.Duration {
	if p.Validity == 0 {
		return DefaultValidity
	}
	return p.Validity
}

// DefaultPolicy returns a 5-minute buffer before and after, a 20-minute lead
// time, check-ins that last until the end of the local day and windows held
// at most [DefaultValidity] ahead (Validity zero).
func DefaultPolicy() Policy {
	return Policy{Buffer: schedule.DefaultBuffer, Lead: 20 * time.Minute}
}

// The kinds of snapshot records: the one set of kind names used by
// [Source].Kind, [RecordError].Kind, [RecordRef].Kind and
// [SourceExplanation].Kind. The kinds that are also tables of a
// mapping.Mapping (plan, allowance, resource, location, default) take their
// values from mapping's [mapping.Kind] constants, so the two cannot drift
// apart. (The Kisi objects a [Store] records are a [state.RecordKind] instead:
// user, role, link.)
const (
	KindLocation   = string(mapping.KindLocation)
	KindResource   = string(mapping.KindResource)
	KindMember     = "member"
	KindTeam       = "team"
	KindPlan       = string(mapping.KindPlan)
	KindAllowance  = string(mapping.KindAllowance)
	KindBooking    = "booking"
	KindAssignment = "assignment"
	KindCheckIn    = "checkin"
	// KindDefault is the kind of a [Source] that is an active plan whose
	// PlanID maps to no group and which therefore grants
	// mapping.Mapping.Default; its ID is the plan's.
	KindDefault = string(mapping.KindDefault)
)

// Source names one platform record that produced access. Kind is plan,
// allowance, booking, assignment, checkin or default ([KindPlan] …
// [KindDefault]); default is an active plan whose plan ID is unmapped and
// which therefore grants mapping.Mapping.Default, and its ID is the plan's
// ID. It is defined in access/state, where a [state.Record] lists the
// sources of the role it stands for.
type Source = state.Source

// Grant is access for one member to one Kisi group during Window, with the
// Sources that produced it, listed by kind (plan, default, allowance,
// booking, assignment, checkin) and then in snapshot order. Email is
// normalized (see [NormalizeEmail]); members sharing an email are one Kisi
// user and their grants carry the ID of the first of them in the snapshot.
type Grant struct {
	// MemberID is the member served: the first member in the snapshot
	// with Email; empty for a guest (see Guest).
	MemberID string `json:"member_id"`
	// Email is the member's normalized email, which identifies the Kisi
	// user.
	Email string `json:"email"`
	// GroupID is the Kisi group the access is to.
	GroupID int64 `json:"group_id"`
	// Window is the half-open [Start, End) of the access: the union of the
	// overlapping and touching windows of all Sources, whole (not cut to
	// a horizon). End is [schedule.Forever] when open-ended (valid_until
	// null in Kisi). Its times keep the location of the snapshot times
	// they come from (the resource's zone for weekly rule occurrences);
	// compare them with time.Time.Equal.
	Window schedule.Interval `json:"window"`
	// Sources are the records that produced Window; never empty.
	Sources []Source `json:"sources"`
	// Guest is set for the grant of a drop-in guest whose email is no
	// member's (mapping.DropIn.AddToGroup): the guest's normalized email
	// and the name their Kisi user gets (the first non-blank name the guest
	// booked under, else the email). MemberID is then empty; the grant is
	// keyed, like every grant, by Email and GroupID, and lasts as long as
	// the guest's bookings do. Nil for a member, including a guest whose
	// email is a member's: that guest is served as the member.
	Guest *Guest `json:"guest,omitempty"`
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
	Validity        string                     `json:"validity,omitempty"`
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
	switch {
	case p.Validity == UnboundedValidity:
		w.Validity = "unbounded"
	case p.Validity != 0:
		w.Validity = schedule.FormatDuration(p.Validity)
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
		case "validity":
			if string(raw) == `"unbounded"` {
				out.Validity = UnboundedValidity
				break
			}
			out.Validity, err = schedule.DecodeDuration(raw)
		default:
			return fmt.Errorf("access: %w: unknown field %q (want buffer, resource_buffers, check_in_for, lead or validity)", ErrInvalidPolicy, k)
		}
		switch {
		case err == nil:
		case k == "check_in_for" || k == "lead" || k == "validity":
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
