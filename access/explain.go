package access

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/kisisync/kisisync/access/reason"
	"github.com/kisisync/kisisync/internal/textfmt"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// Explanation answers "why does (or doesn't) this member have Kisi access
// at At?". It is JSON-marshalable for a host's UI; [Explanation.String]
// renders it in plain sentences for a support person. Every sentence comes
// with a stable [reason.Code] a host can act on.
type Explanation struct {
	// MemberID is the member asked about, as given.
	MemberID string `json:"member_id"`
	// Email is the member's normalized email; empty when the member is
	// unknown or the email invalid.
	Email string `json:"email,omitempty"`
	// Name is the member's name from the snapshot; empty when unknown.
	Name string `json:"name,omitempty"`
	// At is the instant explained, as given.
	At time.Time `json:"at"`
	// Problem is set when the member can get no access at all: member
	// unknown, email invalid, suspended, nothing held, or nothing mapped
	// to a group.
	// Empty otherwise, even when no group gives access at At.
	Problem string `json:"problem,omitempty"`
	// ProblemCode is the code of Problem: [reason.MemberUnknown],
	// [reason.EmailInvalid], [reason.MemberSuspended], [reason.NothingHeld]
	// or [reason.NothingMapped];
	// empty with Problem.
	ProblemCode reason.Code `json:"problem_code,omitempty"`
	// Notes are further facts, e.g. another member sharing the email;
	// sorted.
	Notes []string `json:"notes,omitempty"`
	// Groups lists every group the member has or could have, by GroupID.
	Groups []GroupExplanation `json:"groups,omitempty"`
	// Unmapped lists the sources considered that grant no group.
	Unmapped []SourceExplanation `json:"unmapped,omitempty"`

	zone *time.Location
}

// GroupExplanation is the state of one Kisi group for the member.
type GroupExplanation struct {
	// GroupID is the Kisi group.
	GroupID int64 `json:"group_id"`
	// Allowed reports whether a merged window is in force at At.
	Allowed bool `json:"allowed"`
	// InKisi reports whether the slot rule puts a window into Kisi at At
	// (in force, or starting within the lead time).
	InKisi bool `json:"in_kisi"`
	// Slot is the window the slot rule puts into Kisi at At, as in
	// [Desired]; nil when InKisi is false.
	Slot *schedule.Interval `json:"slot,omitempty"`
	// Windows are the merged windows, whole and sorted, that overlap the
	// span from two days before At to eight days after it, so a week drawn
	// from the local midnight of At's day is covered even on a 25-hour
	// day. End is [schedule.Forever] for an open-ended window.
	Windows []schedule.Interval `json:"windows,omitempty"`
	// Reason is the first reason access is missing at At, a sentence
	// (empty when Allowed).
	Reason string `json:"reason,omitempty"`
	// ReasonCode is the code of Reason: that of the source whose note
	// Reason starts with, or [reason.NoSource]; empty when Allowed.
	ReasonCode reason.Code `json:"reason_code,omitempty"`
	// Sources are the member's sources that map to this group.
	Sources []SourceExplanation `json:"sources"`
	// Zone is the IANA time zone times are shown in: that of the first
	// source with a location, else UTC.
	Zone string `json:"zone"`
}

// SourceExplanation is one platform record considered, with its own
// window (the one in force at At, else the next, else the last) and mapped
// groups.
type SourceExplanation struct {
	// Kind is plan, default, allowance, booking, assignment or checkin
	// (see [Source]).
	Kind string `json:"kind"`
	// ID is the record's ID.
	ID string `json:"id"`
	// Ref is the record's PlanID or AllowanceID, or the ID of its
	// resource (bookings, assignments) or location (check-ins).
	Ref string `json:"ref,omitempty"`
	// Groups are the Kisi groups the record maps to; empty when it maps
	// to none (or is a drop-in that gets a link, not a group).
	Groups []int64 `json:"groups,omitempty"`
	// Window is the record's own window, widened by any buffer: the one in
	// force at At, else the next, else the last. Nil for weekly rules
	// with no occurrence in the coming week. End is [schedule.Forever]
	// when open-ended.
	Window *schedule.Interval `json:"window,omitempty"`
	// Windows are the windows, buffer included, in which the record gives
	// access to Groups, sorted, that overlap the span of
	// [GroupExplanation.Windows]: one for most records, one per occurrence
	// for weekly rules. Nil when the record gives none (a pending or
	// cancelled plan, a drop-in, a record mapped to no group). With the
	// group's merged windows they draw the member's week, source by source.
	Windows []schedule.Interval `json:"windows,omitempty"`
	// Buffer is the buffer that widened the windows of a booking or an
	// assignment (see [Policy.Buffer]); zero for other records.
	Buffer schedule.Buffer `json:"buffer,omitzero"`
	// Applies reports that Window is in force at At and the record maps
	// to a group.
	Applies bool `json:"applies"`
	// Code is the stable code of Note: [reason.InForce] when Applies, else
	// the first reason the record gives no access at At.
	Code reason.Code `json:"code"`
	// Note is a sentence on the record's state.
	Note string `json:"note"`
	// Zone is the IANA time zone times are shown in.
	Zone string `json:"zone"`

	state standing
	key   time.Time // the instant that orders sources of one standing
	loc   *time.Location
}

// standing orders the reasons of a source; the first missing-access reason of
// a group is the source with the lowest standing.
type standing uint8

const (
	stApplies standing = iota
	stPending
	stUpcoming
	stCheckedOut
	stNotToday
	stCancelled
	stEnded
	stNoGroup
)

// Explain explains the access of memberID at `at` (see [Explanation]).
//
// It decides with the same rules as [Desired]: every record the engine
// admits for the member is considered, for the same reasons. These are
// every plan, allowance and assignment of the member or of their teams, the
// bookings whose window lies between a day before `at` and a week after it
// (drop-ins booked with the member's email included), and per location the
// check-ins of the local day of `at`, else the latest one. Rejected records
// are not sources; they are in the returned error.
//
// When a group gives no access, its Reason is the first of: a plan pending
// acceptance, the soonest upcoming window (plan or allowance not started,
// booking starting, next occurrence of a weekly rule), a check-out, no
// check-in today, a cancelled plan, the latest ended window, nothing
// mapped.
// Errors of the snapshot are returned as by [Access]; an unknown member or
// invalid email is not an error but the Explanation's Problem. Times are
// shown in the zone of the location of each source (booked or assigned
// resource, check-in location); plans and allowances use the zone every
// location shares, and UTC where there is none.
func Explain(s Snapshot, m mapping.Mapping, p Policy, memberID string, at time.Time) (Explanation, error) {
	x := Explanation{MemberID: memberID, At: at, zone: time.UTC}
	if err := p.Validate(); err != nil {
		return x, fmt.Errorf("access: %w", err)
	}
	// The member's merged windows around at; nobody else's are computed.
	e := newEngine(&s, m, p, schedule.Interval{Start: at.Add(-48 * time.Hour), End: at.Add(8 * 24 * time.Hour)}, math.MaxInt32)
	e.follow, e.explain = true, true
	c, ok := e.ix.member[memberID]
	if ok {
		e.only = c
	}
	e.generate()
	err := errors.Join(e.ix.errs...)
	if !ok {
		x.unknownMember(&s)
		return x, err
	}
	x.member(e.ix, c)
	grants := e.merge(false)
	srcs := e.explainSources(at)
	for _, sx := range srcs {
		if sx.loc != nil {
			x.zone = sx.loc
			break
		}
	}
	x.groups(srcs, grants, at, p)
	switch {
	case e.ix.suspended[c]:
		x.ProblemCode = reason.MemberSuspended
		x.Problem = fmt.Sprintf("Member %s is suspended by the platform: their plans and bookings are kept, but they grant no access until the suspension is lifted there.", x.MemberID)
	case len(srcs) == 0:
		x.ProblemCode = reason.NothingHeld
		x.Problem = "The member has no plan, allowance, booking, assignment or check-in, so nothing gives access and the Kisi app shows “No locks found”."
	case len(x.Groups) == 0:
		x.ProblemCode = reason.NothingMapped
		x.Problem = "None of the member's plans, allowances, bookings, assignments or check-ins is mapped to a Kisi group, so the Kisi app shows “No locks found”. Map them to Kisi groups in the integration settings."
	}
	return x, err
}

// unknownMember explains a member ID that is not a valid member: rejected
// for its email, or unknown.
func (x *Explanation) unknownMember(s *Snapshot) {
	for _, mb := range s.Members {
		if mb.ID == x.MemberID {
			x.Name = mb.Name
			if _, err := NormalizeEmail(mb.Email); err != nil && x.MemberID != "" {
				x.ProblemCode = reason.EmailInvalid
				x.Problem = fmt.Sprintf("The email address %q of member %s is invalid: Kisi users are matched by email, so no access can be given until it is corrected.", mb.Email, x.MemberID)
			}
			break
		}
	}
	if x.Problem == "" {
		x.ProblemCode = reason.MemberUnknown
		x.Problem = fmt.Sprintf("Member %s is unknown: there is no member with this ID.", x.MemberID)
	}
}

// member fills in the member's email, name and the members sharing their
// email; c is the member's canonical identity.
func (x *Explanation) member(ix *index, c int32) {
	s := ix.s
	x.Email = ix.email[c]
	for _, mb := range s.Members {
		if mb.ID == x.MemberID {
			x.Name = mb.Name
			break
		}
	}
	if canon := s.Members[c].ID; canon != x.MemberID {
		x.Notes = append(x.Notes, fmt.Sprintf("Member %s has the same email as member %s: Kisi knows them as one user, and their access is combined under %s.", x.MemberID, canon, canon))
		return
	}
	for id, o := range ix.member {
		if o == c && id != x.MemberID {
			x.Notes = append(x.Notes, fmt.Sprintf("Member %s has the same email: Kisi knows them as one user, and their access is combined under %s.", id, x.MemberID))
		}
	}
	slices.Sort(x.Notes)
}

// groups lists every group of the sources and grants with its state at at,
// and the sources that map to no group.
func (x *Explanation) groups(srcs []SourceExplanation, grants []Grant, at time.Time, p Policy) {
	groupSet := map[int64]bool{}
	for _, sx := range srcs {
		if len(sx.Groups) == 0 {
			x.Unmapped = append(x.Unmapped, sx)
		}
		for _, g := range sx.Groups {
			groupSet[g] = true
		}
	}
	for _, g := range grants {
		groupSet[g.GroupID] = true
	}
	for _, g := range slices.Sorted(maps.Keys(groupSet)) {
		gx := GroupExplanation{GroupID: g, Zone: time.UTC.String()}
		zone := (*time.Location)(nil)
		for _, sx := range srcs {
			if slices.Contains(sx.Groups, g) {
				gx.Sources = append(gx.Sources, sx)
				if zone == nil && sx.loc != nil {
					zone = sx.loc
				}
			}
		}
		if zone != nil {
			gx.Zone = zone.String()
		}
		for _, gr := range grants {
			if gr.GroupID != g {
				continue
			}
			gx.Windows = append(gx.Windows, gr.Window)
			if gx.Slot == nil && gr.Window.End.After(at) && !gr.Window.Start.After(at.Add(p.Lead)) {
				w := gr.Window
				gx.Slot, gx.InKisi = &w, true
				gx.Allowed = !w.Start.After(at)
			}
		}
		if !gx.Allowed {
			gx.Reason, gx.ReasonCode = groupReason(gx, at, p, zone)
		}
		x.Groups = append(x.Groups, gx)
	}
}

// groupReason picks the first reason among the group's sources.
func groupReason(gx GroupExplanation, at time.Time, p Policy, zone *time.Location) (string, reason.Code) {
	var best *SourceExplanation
	for i := range gx.Sources {
		sx := &gx.Sources[i]
		if sx.Applies {
			continue
		}
		if best == nil || sx.state < best.state || (sx.state == best.state && better(sx, best)) {
			best = sx
		}
	}
	why, code := "No source grants this group now.", reason.NoSource
	if best != nil {
		why, code = best.Note, best.Code
	}
	if gx.Slot != nil { // starts within the lead time
		when := "at " + textfmt.ClockOrTime(gx.Slot.Start, at, zoneOr(zone))
		if strings.Contains(why, when) {
			when = "then"
		}
		why += fmt.Sprintf(" This access is already in Kisi (it is added %s ahead) and opens by itself %s.", textfmt.Duration(p.Lead), when)
	}
	return why, code
}

// better orders sources of one standing: the soonest upcoming, the latest
// ended.
func better(a, b *SourceExplanation) bool {
	if a.state == stUpcoming {
		return a.key.Before(b.key)
	}
	return a.key.After(b.key)
}

// String renders the explanation in plain sentences.
func (x Explanation) String() string {
	var b strings.Builder
	zone := zoneOr(x.zone)
	fmt.Fprintf(&b, "Member %s at %s:\n", textfmt.MemberLabel(x.MemberID, x.Name, x.Email), textfmt.Time(x.At, zone))
	if x.Problem != "" {
		fmt.Fprintf(&b, "%s\n", x.Problem)
	}
	for _, n := range x.Notes {
		fmt.Fprintf(&b, "%s\n", n)
	}
	allowed := false
	for _, g := range x.Groups {
		loc := textfmt.Zone(g.Zone)
		switch {
		case g.Allowed && g.Slot.End.Equal(schedule.Forever):
			allowed = true
			fmt.Fprintf(&b, "Group %d: access now, since %s, with no end date.\n", g.GroupID, textfmt.Time(g.Slot.Start, loc))
		case g.Allowed:
			allowed = true
			fmt.Fprintf(&b, "Group %d: access now, from %s to %s.\n", g.GroupID, textfmt.Time(g.Slot.Start, loc), textfmt.ClockOrTime(g.Slot.End, g.Slot.Start, loc))
		default:
			fmt.Fprintf(&b, "Group %d: no access now. %s\n", g.GroupID, g.Reason)
		}
		for _, sx := range g.Sources {
			if !g.Allowed && strings.HasPrefix(g.Reason, sx.Note) {
				continue // already said
			}
			fmt.Fprintf(&b, "  - %s\n", sx.Note)
		}
	}
	for _, sx := range x.Unmapped {
		fmt.Fprintf(&b, "  - %s\n", sx.Note)
	}
	if !allowed && x.Problem == "" && len(x.Groups) > 0 {
		fmt.Fprintf(&b, "No group gives access now, so the Kisi app shows “No locks found” (or does not list this door).\n")
	}
	return b.String()
}
