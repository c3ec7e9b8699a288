package access

import (
	"fmt"
	"strings"
	"time"

	"github.com/kisisync/kisisync/internal/textfmt"
	"github.com/kisisync/kisisync/schedule"
)

// Action is what a [Change] does.
type Action string

// The actions. Create, Replace and Delete write to Kisi; Adopt and Forget
// only correct the Store.
const (
	ActionCreate  Action = "create"
	ActionReplace Action = "replace" // delete then create (or PATCH), back to back
	ActionDelete  Action = "delete"
	ActionAdopt   Action = "adopt"  // an object found in Kisi for a pending intent becomes managed
	ActionForget  Action = "forget" // a record with nothing to do in Kisi is dropped
)

// ObjectKind names the Kisi object of a [Change].
type ObjectKind string

// The object kinds.
const (
	ObjectGrant ObjectKind = "grant" // a group role assignment
	ObjectLink  ObjectKind = "link"  // a group link of a drop-in booking
	ObjectPark  ObjectKind = "park"  // a park record (Store only; see [Parked])
)

// Change is one step of [Changes]: create, replace or delete one grant or
// link, or adopt or forget a Store record, with the reason and the sources
// behind it.
type Change struct {
	// Action is what the change does, Object what it does it to.
	Action Action     `json:"action"`
	Object ObjectKind `json:"object"`
	// Key is the Store key of the record the change works on.
	Key string `json:"key"`
	// Email is the email of the member or guest; MemberID the member's
	// platform ID, empty for a guest's link.
	Email    string `json:"email"`
	MemberID string `json:"member_id,omitempty"`
	// Name is the member's or the guest's name (user and link names).
	Name string `json:"name,omitempty"`
	// Managed is set for a member who is a managed Kisi user (one Kisi
	// sends no email, as in a white-label app).
	Managed bool `json:"managed,omitempty"`
	// GroupID is the Kisi group of the grant or link.
	GroupID int64 `json:"group_id"`
	// GroupName is the group's name from [WithGroupNames], if known.
	GroupName string `json:"group_name,omitempty"`
	// Window is the window created (create, replace, adopt); Old the window
	// removed (replace, delete).
	Window *schedule.Interval `json:"window,omitempty"`
	Old    *schedule.Interval `json:"old,omitempty"`
	// KisiID is the Kisi object deleted, replaced or adopted.
	KisiID int64 `json:"kisi_id,omitempty"`
	// UserID is the Kisi user of an adopted grant.
	UserID int64 `json:"user_id,omitempty"`
	// Sources are the platform records behind the grant or link.
	Sources []Source `json:"sources,omitempty"`
	// BookingID is the drop-in booking of a link; SendLink and QR say
	// whether Kisi emails the guest the link, a QR code or both.
	BookingID string `json:"booking_id,omitempty"`
	SendLink  bool   `json:"send_link,omitempty"`
	QR        bool   `json:"qr,omitempty"`
	// Expired marks a delete of an object whose window has ended: cleanup,
	// not a revocation.
	Expired bool `json:"expired,omitempty"`
	// Rolling marks a grant whose Window is a rolling bound of a longer
	// desired window (see [Policy.Validity]); it is renewed before it ends.
	Rolling bool `json:"rolling,omitempty"`
	// Cut is set on a delete or replacement that cuts access in force or
	// entering Kisi within the lead time: the changes the revoke guard
	// counts.
	Cut CutKind `json:"cut,omitempty"`
	// Held is set on a cut the revoke guard held back (see
	// [RevokeLimitError]); it was not applied.
	Held bool `json:"held,omitempty"`
	// Reason says why, in a few words ("new access", "no longer desired").
	Reason string `json:"reason"`
}

// CutKind classifies a cut of access for the revoke guard.
type CutKind string

// The kinds of cut.
const (
	// CutVanished: every source record of the access is gone from the
	// snapshot, as it would be from an empty or truncated snapshot. These
	// count toward the revoke limit ([WithRevokeLimit], default 25%).
	CutVanished CutKind = "vanished"
	// CutExplained: a source record is still in the snapshot and explains
	// the cut (a cancelled plan, an End or a check-out set). These count,
	// with the vanished ones, toward the higher limit of
	// [WithExplainedRevokeLimit] (default 50%).
	CutExplained CutKind = "explained"
	// CutExplicit: a source record still in the snapshot says the access
	// ends — a plan cancelled, a check-out, a member suspended. Routine
	// life, never held by the revoke guard.
	CutExplicit CutKind = "explicit"
)

// Conflict is a grant Kisi refused because the user already holds a role in
// the group that this SDK does not manage. It is reported, retried only
// once the wanted grant changes (its window or its sources) and then with
// back-off on its user and group (up to once an hour), or when
// [Reconciler.Verify] finds that role gone; the other role is never
// touched. That role may be one this SDK made
// before its Store was lost, for a Kisi user it did not create: nothing in
// Kisi proves it, so it is left alone too, and ends at its valid_until.
type Conflict struct {
	// Email and GroupID name the user and group of the wanted grant.
	Email   string `json:"email"`
	GroupID int64  `json:"group_id"`
	// KisiID is the role assignment held outside this SDK.
	KisiID int64 `json:"kisi_id,omitempty"`
	// Window is the window the grant would have had (zero when Unwanted).
	Window schedule.Interval `json:"window,omitzero"`
	// Unwanted is set once the platform no longer wants the access: the
	// role not managed here still gives it, until its own end or until
	// someone removes it in Kisi. It is reported at every run until Verify
	// finds the role gone.
	Unwanted bool `json:"unwanted,omitempty"`
}

// Changes is the dry-run result of [Reconciler.Plan]: what [Reconciler.Apply]
// would do, in order. It marshals to JSON, and String renders it like a
// Terraform plan.
//
// Order: Store corrections (adopt, forget), then pure revocations and the
// cleanup of expired links (Kisi counts them toward its email-link quota),
// then replacements, then creates with the soonest window first, then the
// cleanup of expired roles. Within each part changes sort by email, group,
// booking.
type Changes struct {
	// Organization is the organization planned for (see [WithOrganization]);
	// At the instant of the plan, from the Reconciler's clock.
	Organization string    `json:"organization"`
	At           time.Time `json:"at"`
	// Location is the IANA zone String renders times in.
	Location string `json:"location"`
	// Changes are the steps, in the order Apply takes them.
	Changes []Change `json:"changes"`
	// Conflicts are wanted grants held back by an unmanaged role.
	Conflicts []Conflict `json:"conflicts,omitempty"`
	// Parked are wanted grants and links held back: their group is missing
	// in Kisi, Kisi refused them and their back-off runs, or they wait for
	// room under the email-link quota.
	Parked []Parked `json:"parked,omitempty"`
	// Skipped are the snapshot records Desired or Links rejected, one
	// error each, sorted by their text; every valid record is still
	// planned. Test them with errors.Is (e.g. [ErrUnknownMember]); their
	// JSON form keeps the cause (see [RecordError.MarshalJSON]).
	Skipped []*RecordError `json:"skipped,omitempty"`
	// Unresolved counts pending intents Plan could not look up in Kisi;
	// they are left alone and looked up again next run.
	Unresolved int `json:"unresolved,omitempty"`
	// Managed is the number of grants and links the Store held at plan time
	// whose windows had not ended (the base of the revoke guard);
	// Revocations the cuts among the changes (see [Change.Cut]): deletes
	// and shortenings of access in force or entering Kisi within the lead
	// time. Apply counts both again from its Store rather than trusting
	// these.
	Managed     int `json:"managed"`
	Revocations int `json:"revocations"`
	// Held counts the cuts the revoke guard would hold back (each marked
	// [Change.Held]); the rest of the plan is applied.
	Held int `json:"held,omitempty"`
	// Links is the number of email links that will exist after Apply.
	Links int `json:"links"`
	// Approved lets Apply go beyond the revoke limit; see [Changes.Approve].
	Approved bool `json:"approved,omitempty"`
	// Base fingerprints the Store the plan was made from; Apply refuses a
	// plan whose Store has changed since (see [ErrStalePlan]).
	Base string `json:"base"`
	// GroupLocations are the locations of the mapped groups, by group: the
	// location of the resources and check-ins the mapping sends to the
	// group, when that is one location. The revoke guard judges cuts per
	// location and kind of source; a group without one location is a
	// scope of its own.
	GroupLocations map[int64]string `json:"group_locations,omitempty"`

	// NextRun is carried over to the Report.
	NextRun time.Time `json:"next_run,omitzero"`
	loc     *time.Location
	// renewals is the earliest renewal of a rolling window, retries the
	// earliest end of a park's back-off: both part of NextRun.
	renewals, retries time.Time
}

// Approve marks the changes as reviewed, so [Reconciler.Apply] applies them
// even when they revoke more than the revoke limit allows.
func (c *Changes) Approve() { c.Approved = true }

// Empty reports whether applying the changes would do nothing.
func (c *Changes) Empty() bool { return c == nil || len(c.Changes) == 0 }

// Count returns how many changes have action a.
func (c *Changes) Count(a Action) int {
	n := 0
	for _, ch := range c.Changes {
		if ch.Action == a {
			n++
		}
	}
	return n
}

func (c *Changes) location() *time.Location {
	if c.loc != nil {
		return c.loc
	}
	if c.Location != "" {
		if l, err := time.LoadLocation(c.Location); err == nil {
			return l
		}
	}
	return time.UTC
}

// String renders the changes like a Terraform plan, one line per change,
// with times in c.Location:
//
//   - grant alice@example.com → group 12  2026-06-10 13:55–15:05 CEST  (booking bk1)
//
// "+" creates, "-" deletes, "~" replaces, "=" adopts or forgets a Store
// record. The output is deterministic.
func (c *Changes) String() string {
	if c == nil {
		return "no changes\n"
	}
	loc := c.location()
	var b strings.Builder
	fmt.Fprintf(&b, "plan for organization %q at %s\n", c.Organization, c.At.In(loc).Format("2006-01-02 15:04 MST"))
	switch {
	case len(c.Changes) == 0 && (len(c.Parked) > 0 || len(c.Skipped) > 0 || len(c.Conflicts) > 0 || c.Unresolved > 0):
		// Not "Kisi matches": some access is held back, listed below.
		b.WriteString("\nno changes to make now; some access is held back (below)\n")
	case len(c.Changes) == 0:
		// A plan trusts the Store and reads Kisi only for pending intents:
		// only Verify can say that Kisi matches.
		b.WriteString("\nno changes: the Store holds the desired access (Verify compares it with Kisi)\n")
	default:
		b.WriteString("\n")
	}
	for _, ch := range c.Changes {
		b.WriteString(ch.line(loc))
		b.WriteString("\n")
	}
	for _, cf := range c.Conflicts {
		if cf.Unwanted {
			fmt.Fprintf(&b, "! unwanted %s → group %d  (holds role %d not managed here, which the platform no longer wants; remove it in Kisi)\n",
				cf.Email, cf.GroupID, cf.KisiID)
			continue
		}
		fmt.Fprintf(&b, "! conflict %s → group %d  %s  (holds role %d not managed here; left alone)\n",
			cf.Email, cf.GroupID, textfmt.Window(cf.Window, loc), cf.KisiID)
	}
	for _, s := range c.Skipped {
		fmt.Fprintf(&b, "! skipped %s\n", s)
	}
	for _, p := range c.Parked {
		when := "until the group is back or the mapping changes"
		if !p.RetryAt.IsZero() {
			when = "retried from " + p.RetryAt.In(loc).Format("2006-01-02 15:04 MST")
		}
		fmt.Fprintf(&b, "! parked %s %s → group %d (%s: %s; %s)\n", p.Object, p.Email, p.GroupID, p.Class, p.Reason, when)
	}
	if c.Unresolved > 0 {
		fmt.Fprintf(&b, "! %d pending intents could not be looked up; retried next run\n", c.Unresolved)
	}
	if c.Held > 0 {
		fmt.Fprintf(&b, "! the revoke guard holds %d cuts of access (marked \"held\"): review them, then approve\n", c.Held)
	}
	fmt.Fprintf(&b, "\nPlan: %d to create, %d to replace, %d to delete (cutting %d of %d managed), %d to adopt, %d to forget.\n",
		c.Count(ActionCreate), c.Count(ActionReplace), c.Count(ActionDelete), c.Revocations, c.Managed,
		c.Count(ActionAdopt), c.Count(ActionForget))
	return b.String()
}

func (ch Change) line(loc *time.Location) string {
	var sym, verb string
	switch ch.Action {
	case ActionCreate:
		sym, verb = "+", "grant"
		if ch.Object == ObjectLink {
			verb = "link"
		}
	case ActionReplace:
		sym, verb = "~", "replace"
		if ch.Object == ObjectLink {
			verb = "replace link"
		}
	case ActionDelete:
		sym, verb = "-", "revoke"
		if ch.Expired {
			verb = "clean up"
		}
		if ch.Object == ObjectLink {
			verb += " link"
		}
	case ActionAdopt:
		sym, verb = "=", "adopt "+string(ch.Object)
	default:
		sym, verb = "=", "forget "+string(ch.Object)
	}
	var win string
	switch {
	case ch.Old != nil && ch.Window != nil:
		win = textfmt.Window(*ch.Old, loc) + " → " + textfmt.Window(*ch.Window, loc)
	case ch.Window != nil:
		win = textfmt.Window(*ch.Window, loc)
	case ch.Old != nil:
		win = textfmt.Window(*ch.Old, loc)
	}
	var notes []string
	for _, s := range ch.Sources {
		notes = append(notes, s.Kind+" "+s.ID)
	}
	if ch.Object == ObjectLink {
		var how []string
		if ch.SendLink {
			how = append(how, "link")
		}
		if ch.QR {
			how = append(how, "QR")
		}
		if len(how) > 0 && ch.Action != ActionDelete {
			notes = append(notes, "sends "+strings.Join(how, "+"))
		}
	}
	if ch.Reason != "" {
		notes = append(notes, ch.Reason)
	}
	if ch.Rolling && ch.Action != ActionDelete {
		notes = append(notes, "rolling")
	}
	if ch.Held {
		notes = append(notes, "held by the revoke guard")
	}
	line := fmt.Sprintf("%s %s %s → group %d", sym, verb, ch.Email, ch.GroupID)
	if ch.GroupName != "" {
		line += fmt.Sprintf(" %q", ch.GroupName)
	}
	if win != "" {
		line += "  " + win
	}
	if len(notes) > 0 {
		line += "  (" + strings.Join(notes, "; ") + ")"
	}
	return line
}
