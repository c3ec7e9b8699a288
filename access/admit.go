package access

import (
	"fmt"
	"slices"
	"time"

	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// This file holds the one decision on whether a snapshot record counts:
// [Access], [Desired], [NextChange], [Links] and [Explain] all ask the
// admit functions below, record by record, in snapshot order by kind.

// verdict says whether a valid record gives access and, if not, why not.
// Time is not part of it: a record that counts gives access during its
// window (or its weekly occurrences) only.
type verdict uint8

const (
	counts    verdict = iota // gives its groups during its window
	pending                  // a plan pending acceptance
	cancelled                // a cancelled plan
	linkOnly                 // a drop-in guest without DropIn.AddToGroup: a link at most
	unmapped                 // maps to no Kisi group
)

// admission is the engine's decision on one valid record.
type admission struct {
	kind    uint8 // kPlan, kDefault (a plan granting the Default groups), …
	rec     int32 // index of the record in its Snapshot slice
	verdict verdict
	// members are the identities the record reaches; they may alias the
	// engine's one-element buffer, so copy them to keep them.
	members []int32
	groups  []int64
	// window is the record's own window, widened by its buffer (bookings
	// and assignments); for weekly rules the span they are cut to.
	window schedule.Interval
	// occ are the widened occurrences of an assignment's weekly rules,
	// around the horizon; computed only for wanted records that count.
	occ   []schedule.Interval
	rules bool
	buf   schedule.Buffer
	zone  *time.Location // the location's zone (bookings, assignments, check-ins); nil for plans and allowances
}

// generate validates every record, asks admit for each valid one and turns
// those that count into pieces.
func (e *engine) generate() {
	e.sizePieces()
	e.admitPlans()
	e.admitAllowances()
	e.bookings()
	e.admitAssignments()
	e.admitCheckIns()
}

// generateFixed is generate but for the assignments: the records whose
// pieces do not depend on the horizon (see [engine.generateOn]). It puts
// their pieces in the index, in sortPieces' order, none left out (ix.fixed:
// they are shared, read only, by every engine that starts from them) and
// leaves the engine's own pieces empty: then admitAssignments adds the
// weekly assignments' only. It must run once, before the index is shared.
func (e *engine) generateFixed() {
	e.sizePieces()
	e.admitPlans()
	e.admitAllowances()
	e.bookings()
	e.admitCheckIns()
	e.ix.fixed = e.bucketPieces(e.pieces, false, true)
	e.pieces, e.shared = nil, true
}

// generateOn completes generate from the pieces and drop-ins of another
// engine's generateFixed on the same index, which it takes over: it adds
// the assignments' pieces, the only ones the horizon changes, to pieces
// (empty, as generateFixed leaves them: the others are the index's).
func (e *engine) generateOn(pieces []piece, dropIns []int32) {
	e.pieces, e.dropIns, e.shared = pieces, dropIns, true
	e.admitAssignments()
}

// sizePieces sizes the pieces for every member over a short horizon;
// weekly rules give more over a long one, about three occurrences a week
// (up to 16 weeks: past those, the pieces grow). For one member, they grow.
func (e *engine) sizePieces() {
	if e.only < 0 {
		hint := e.ix.pieceHint
		if !e.filter {
			span := e.horizon.End.Sub(e.horizon.Start) // saturates for an unbounded horizon
			if e.lookahead > 0 {
				span = e.lookahead
			}
			weeks := min(span/(7*24*time.Hour)+2, 16)
			hint += 3 * int(weeks) * len(e.ix.s.Assignments)
		}
		e.pieces = make([]piece, 0, hint)
	}
}

func (e *engine) admitPlans()       { e.admitEach(len(e.ix.s.Plans), e.admitPlan) }
func (e *engine) admitAllowances()  { e.admitEach(len(e.ix.s.Allowances), e.admitAllowance) }
func (e *engine) admitAssignments() { e.admitEach(len(e.ix.s.Assignments), e.admitAssignment) }
func (e *engine) admitCheckIns()    { e.admitEach(len(e.ix.s.CheckIns), e.admitCheckIn) }

// admitEach asks admit about records 0 to n-1 of one kind and turns those
// that count into pieces.
func (e *engine) admitEach(n int, admit func(i int, one *[1]int32, a *admission) bool) {
	var one [1]int32
	var a admission
	for i := range n {
		if admit(i, &one, &a) {
			e.use(&a)
		}
	}
}

// bookings admits the bookings, turns those that count into pieces (unless
// linksOnly) and collects the valid drop-ins for [engine.links].
func (e *engine) bookings() {
	s := e.ix.s
	var one [1]int32
	var a admission
	for i := range s.Bookings {
		if !e.admitBooking(i, &one, &a) {
			continue
		}
		if b := &s.Bookings[i]; b.MemberID == "" {
			e.dropIns = append(e.dropIns, int32(i))
		}
		if !e.linksOnly {
			e.use(&a)
		}
	}
}

// use keeps a's decision for Explain (when explaining, for the member
// explained) and adds the pieces of a record that counts.
func (e *engine) use(a *admission) {
	if e.explain && e.wants(a.members) {
		k := *a
		k.members = slices.Clone(a.members)
		e.admitted = append(e.admitted, k)
	}
	if a.verdict != counts {
		return
	}
	if !a.rules {
		e.add(a.members, a.groups, a.window, a.kind, int(a.rec))
		return
	}
	for _, iv := range a.occ {
		e.add(a.members, a.groups, iv, a.kind, int(a.rec))
	}
}

// wants reports whether any of ms is computed.
func (e *engine) wants(ms []int32) bool {
	return e.only < 0 || slices.Contains(ms, e.only)
}

func validWindow(start, end time.Time) error {
	if start.IsZero() {
		return fmt.Errorf("%w: no start", ErrInvalidWindow)
	}
	if !end.IsZero() && !end.After(start) {
		return fmt.Errorf("%w: %s–%s", ErrInvalidWindow, start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	return nil
}

// admitPlan decides on plan i. An active plan counts during [Start, End);
// pending and cancelled plans never do. A plan whose PlanID maps to no
// group grants the Default groups (kind default).
func (e *engine) admitPlan(i int, one *[1]int32, a *admission) bool {
	ix, pl := e.ix, &e.ix.s.Plans[i]
	if !e.checkRecordID(kPlan, i, pl.ID) {
		return false
	}
	if pl.Status < PlanPending || pl.Status > PlanCancelled {
		e.reject(KindPlan, pl.ID, fmt.Errorf("%w %d", ErrInvalidStatus, int(pl.Status)))
		return false
	}
	if err := validWindow(pl.Start, pl.End); err != nil {
		e.reject(KindPlan, pl.ID, err)
		return false
	}
	ms, err := ix.holders(kPlan, i, pl.MemberID, pl.TeamID, one)
	if err != nil {
		e.reject(KindPlan, pl.ID, err)
		return false
	}
	*a = admission{kind: kPlan, rec: int32(i), members: ms,
		window: schedule.Interval{Start: pl.Start, End: endOrForever(pl.End)}}
	a.groups, _ = e.lookup(mapping.KindPlan, pl.PlanID)
	if len(a.groups) == 0 { // absent, or present with none
		if d, _ := e.lookup(mapping.KindDefault, ""); len(d) > 0 {
			a.kind, a.groups = kDefault, d
		}
	}
	switch {
	case pl.Status == PlanPending:
		a.verdict = pending
	case pl.Status == PlanCancelled:
		a.verdict = cancelled
	case len(a.groups) == 0:
		a.verdict = unmapped
	}
	return true
}

// admitAllowance decides on allowance i: it counts during [Start, End)
// when its AllowanceID maps to a group.
func (e *engine) admitAllowance(i int, one *[1]int32, a *admission) bool {
	ix, al := e.ix, &e.ix.s.Allowances[i]
	if !e.checkRecordID(kAllowance, i, al.ID) {
		return false
	}
	if err := validWindow(al.Start, al.End); err != nil {
		e.reject(KindAllowance, al.ID, err)
		return false
	}
	ms, err := ix.holders(kAllowance, i, al.MemberID, al.TeamID, one)
	if err != nil {
		e.reject(KindAllowance, al.ID, err)
		return false
	}
	*a = admission{kind: kAllowance, rec: int32(i), members: ms,
		window: schedule.Interval{Start: al.Start, End: endOrForever(al.End)}}
	a.groups, _ = e.lookup(mapping.KindAllowance, al.AllowanceID)
	if len(a.groups) == 0 {
		a.verdict = unmapped
	}
	return true
}

// admitBooking decides on booking i: it counts during [Start − Before,
// End + After) for its member, or for a drop-in guest with
// DropIn.AddToGroup (as the member whose email the guest gave, else as the
// guest's own identity). A guest without AddToGroup gets a link at most.
func (e *engine) admitBooking(i int, one *[1]int32, a *admission) bool {
	ix, b := e.ix, &e.ix.s.Bookings[i]
	if !e.checkRecordID(kBooking, i, b.ID) {
		return false
	}
	if err := validWindow(b.Start, b.End); err != nil || b.End.IsZero() {
		if err == nil {
			err = fmt.Errorf("%w: no end", ErrInvalidWindow)
		}
		e.reject(KindBooking, b.ID, err)
		return false
	}
	ri := ix.bookResource(int32(i))
	if ri == nil {
		e.reject(KindBooking, b.ID, ix.missing(KindResource, b.ResourceID, ErrUnknownResource))
		return false
	}
	*a = admission{kind: kBooking, rec: int32(i), groups: ri.groups, buf: ri.buf, zone: ri.zone}
	if !e.linksOnly { // links widen their own windows, for drop-ins only
		a.window = widen(schedule.Interval{Start: b.Start, End: b.End}, ri.buf)
	}
	c := ix.bookMember[i]
	switch {
	case b.MemberID != "":
		if c < 0 {
			e.reject(KindBooking, b.ID, ix.missing(KindMember, b.MemberID, ErrUnknownMember))
			return false
		}
		one[0] = c
	case b.Guest != nil:
		if c == badGuestEmail {
			_, err := NormalizeEmail(b.Guest.Email)
			e.reject(KindBooking, b.ID, fmt.Errorf("guest: %w", err))
			return false
		}
		if !e.m.DropIn.AddToGroup {
			a.verdict = linkOnly
		}
		// A member's identity, or with AddToGroup the guest's own (see
		// addGuest); without AddToGroup a guest who is no member reaches
		// nobody.
		if c < 0 {
			return true
		}
		one[0] = c
	default:
		e.reject(KindBooking, b.ID, ErrNoHolder)
		return false
	}
	a.members = one[:]
	if a.verdict == counts && len(a.groups) == 0 {
		a.verdict = unmapped
	}
	return true
}

// admitAssignment decides on assignment i: it counts when its resource
// maps to a group, all the time between Start and End or during each
// occurrence of its weekly rules, widened by the buffer either way.
func (e *engine) admitAssignment(i int, one *[1]int32, a *admission) bool {
	ix, as := e.ix, &e.ix.s.Assignments[i]
	if !e.checkRecordID(kAssignment, i, as.ID) {
		return false
	}
	if err := validWindow(as.Start, as.End); err != nil {
		e.reject(KindAssignment, as.ID, err)
		return false
	}
	ri := ix.resource(as.ResourceID)
	if ri == nil {
		e.reject(KindAssignment, as.ID, ix.missing(KindResource, as.ResourceID, ErrUnknownResource))
		return false
	}
	ms, err := ix.holders(kAssignment, i, as.MemberID, as.TeamID, one)
	if err != nil {
		e.reject(KindAssignment, as.ID, err)
		return false
	}
	if err := validRules(as.Rules); err != nil {
		e.reject(KindAssignment, as.ID, err)
		return false
	}
	*a = admission{kind: kAssignment, rec: int32(i), members: ms, groups: ri.groups, buf: ri.buf, zone: ri.zone,
		rules: len(as.Rules) > 0, window: widen(schedule.Interval{Start: as.Start, End: endOrForever(as.End)}, ri.buf)}
	if len(a.groups) == 0 {
		a.verdict = unmapped
	}
	// Expanding weekly rules is the costly part: only for members computed,
	// and for Explain also when nothing is mapped (to say when access
	// would be).
	if a.rules && e.wants(ms) && (a.verdict == counts || e.explain) {
		if a.occ, err = e.occurrences(as, ri.zone, ri.buf); err != nil {
			e.reject(KindAssignment, as.ID, e.tooLong(err))
			return false
		}
	}
	return true
}

// admitCheckIn decides on check-in i: it counts from At until the
// check-out, the end of the local day or CheckInFor, when its location maps
// to a group.
func (e *engine) admitCheckIn(i int, one *[1]int32, a *admission) bool {
	ix, c := e.ix, &e.ix.s.CheckIns[i]
	if !e.checkRecordID(kCheckIn, i, c.ID) {
		return false
	}
	m := ix.ciMember[i]
	if m < 0 {
		e.reject(KindCheckIn, c.ID, ix.missing(KindMember, c.MemberID, ErrUnknownMember))
		return false
	}
	loc := ix.ciZone[i]
	if loc == nil {
		e.reject(KindCheckIn, c.ID, ix.missing(KindLocation, c.LocationID, ErrUnknownLocation))
		return false
	}
	if c.At.IsZero() || (!c.Out.IsZero() && c.Out.Before(c.At)) {
		e.reject(KindCheckIn, c.ID, fmt.Errorf("%w: check-out before check-in", ErrInvalidWindow))
		return false
	}
	one[0] = m
	*a = admission{kind: kCheckIn, rec: int32(i), members: one[:], zone: loc, window: checkInWindow(c, loc, e.p)}
	a.groups, _ = e.lookup(mapping.KindLocation, c.LocationID)
	if len(a.groups) == 0 {
		a.verdict = unmapped
	}
	return true
}

// checkInWindow is [At, min(Out, end of the local day or At+CheckInFor)).
func checkInWindow(c *CheckIn, loc *time.Location, p Policy) schedule.Interval {
	end := c.At.Add(p.CheckInFor)
	if p.CheckInFor <= 0 {
		end = schedule.EndOfDay(c.At, loc)
	}
	if !c.Out.IsZero() && c.Out.Before(end) {
		end = c.Out
	}
	return schedule.Interval{Start: c.At, End: end}
}

// tooLong explains a failed expansion of weekly rules. The rules and
// buffers are validated before any is expanded, so the only failure left is
// a window with too many occurrences: the horizon is too long (for an
// open-ended assignment, unbounded), not the rule wrong.
func (e *engine) tooLong(err error) error {
	if e.horizon.IsOpenEnded() {
		return fmt.Errorf("%w: weekly rules cannot be listed over an unbounded horizon (one ending at schedule.Forever); pass a bounded horizon, such as the next year", ErrHorizonTooLong)
	}
	return fmt.Errorf("%w: weekly rules cannot be listed over horizon %v; pass a shorter horizon: %w", ErrHorizonTooLong, e.horizon, err)
}
