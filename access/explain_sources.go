package access

import (
	"fmt"
	"strings"
	"time"

	"github.com/kisisync/kisisync/access/reason"
	"github.com/kisisync/kisisync/internal/textfmt"
	"github.com/kisisync/kisisync/schedule"
)

// explainSources describes the records the engine admitted for the member
// explained (see [engine.use]), in snapshot order by kind: the decisions
// that made the member's windows, put into sentences. Only bookings near
// at and the relevant check-ins are shown (see [Explain]).
func (e *engine) explainSources(at time.Time) []SourceExplanation {
	home := homeZone(e.ix.s) // plans and allowances belong to no location
	var out []SourceExplanation
	var checkIns []*admission
	for i := range e.admitted {
		a := &e.admitted[i]
		switch a.kind {
		case kPlan, kDefault:
			out = append(out, e.drawn(e.explainPlan(a, at, home), a))
		case kAllowance:
			out = append(out, e.drawn(e.explainAllowance(a, at, home), a))
		case kBooking:
			if sx, ok := e.explainBooking(a, at); ok {
				out = append(out, e.drawn(sx, a))
			}
		case kAssignment:
			out = append(out, e.drawn(e.explainAssignment(a, at), a))
		case kCheckIn:
			checkIns = append(checkIns, a)
		}
	}
	return append(out, e.explainCheckIns(checkIns, at)...)
}

// drawn sets the windows in which a source explained for a gives access
// within the engine's horizon, and its buffer.
func (e *engine) drawn(sx SourceExplanation, a *admission) SourceExplanation {
	sx.Buffer = a.buf
	if a.verdict != counts || len(sx.Groups) == 0 {
		return sx
	}
	ws := []schedule.Interval{a.window}
	if a.rules {
		ws = a.occ
	}
	for _, w := range ws {
		if w.Start.Before(e.horizon.End) && w.End.After(e.horizon.Start) {
			sx.Windows = append(sx.Windows, w)
		}
	}
	return sx
}

func (e *engine) explainPlan(a *admission, at time.Time, home *time.Location) SourceExplanation {
	pl := &e.ix.s.Plans[a.rec]
	w := a.window
	sx := SourceExplanation{Kind: kindName(a.kind), ID: pl.ID, Ref: pl.PlanID, Groups: a.groups, Window: &w, loc: home}
	name := fmt.Sprintf("Plan %s (%s)", pl.ID, pl.PlanID)
	switch a.verdict {
	case pending:
		sx.state, sx.Code = stPending, reason.PlanPending
		sx.Note = name + " is pending acceptance: it gives no access and no Kisi invitation until it is accepted and active."
	case cancelled:
		sx.state, sx.Code = stCancelled, reason.PlanCancelled
		sx.Note = name + " is cancelled, so it gives no access."
	default:
		timedNote(&sx, name, w, at, zoneOr(home), "")
	}
	return notMapped(sx, name)
}

func (e *engine) explainAllowance(a *admission, at time.Time, home *time.Location) SourceExplanation {
	al := &e.ix.s.Allowances[a.rec]
	w := a.window
	sx := SourceExplanation{Kind: KindAllowance, ID: al.ID, Ref: al.AllowanceID, Groups: a.groups, Window: &w, loc: home}
	name := fmt.Sprintf("Allowance %s (%s)", al.ID, al.AllowanceID)
	timedNote(&sx, name, w, at, zoneOr(home), "")
	return notMapped(sx, name)
}

// explainBooking describes a booking whose window lies between a day
// before at and a week after it; ok is false for the others.
func (e *engine) explainBooking(a *admission, at time.Time) (sx SourceExplanation, ok bool) {
	b := &e.ix.s.Bookings[a.rec]
	w := a.window
	if !w.End.After(at.Add(-24*time.Hour)) || !w.Start.Before(at.Add(7*24*time.Hour)) {
		return sx, false
	}
	loc := a.zone
	sx = SourceExplanation{Kind: KindBooking, ID: b.ID, Ref: b.ResourceID, Groups: a.groups, Window: &w, loc: loc}
	name := fmt.Sprintf("Booking %s of %s (%s)", b.ID, b.ResourceID, textfmt.Span(b.Start, b.End, loc))
	if a.verdict == linkOnly && len(a.groups) > 0 {
		sx.Groups, sx.state, sx.Zone = nil, stNoGroup, zoneOr(loc).String()
		if d := e.m.DropIn; d.Link || d.QR {
			sx.Code = reason.DropInLink
			sx.Note = name + " is a drop-in booking: the guest gets an access link by email, not group access."
		} else {
			sx.Code = reason.DropInNoOption
			sx.Note = name + " is a drop-in booking, and no drop-in option (link, QR code or group access) is set, so the guest gets nothing."
		}
		return sx, true
	}
	switch {
	case !w.Start.After(at) && w.End.After(at):
		sx.state, sx.Applies, sx.Code = stApplies, true, reason.InForce
		sx.Note = fmt.Sprintf("%s gives access from %s to %s (%s).", name, textfmt.Time(w.Start, loc), textfmt.ClockOrTime(w.End, w.Start, loc), fmtBuffer(a.buf))
	case w.Start.After(at):
		sx.state, sx.key, sx.Code = stUpcoming, w.Start, reason.BookingStartsLater
		sx.Note = fmt.Sprintf("%s starts in %s; access opens at %s (%s).", name, textfmt.Duration(b.Start.Sub(at)), textfmt.ClockOrTime(w.Start, at, loc), fmtBuffer(a.buf))
	default:
		sx.state, sx.key, sx.Code = stEnded, w.End, reason.Ended
		sx.Note = fmt.Sprintf("%s has ended; access closed at %s.", name, textfmt.ClockOrTime(w.End, at, loc))
	}
	return notMapped(sx, name), true
}

func (e *engine) explainAssignment(a *admission, at time.Time) SourceExplanation {
	as := &e.ix.s.Assignments[a.rec]
	loc := a.zone
	sx := SourceExplanation{Kind: KindAssignment, ID: as.ID, Ref: as.ResourceID, Groups: a.groups, loc: loc}
	name := fmt.Sprintf("Assignment %s of %s", as.ID, as.ResourceID)
	if !a.rules {
		w := a.window
		sx.Window = &w
		timedNote(&sx, name, w, at, loc, " ("+fmtBuffer(a.buf)+")")
		return notMapped(sx, name)
	}
	rules := fmtRules(as.Rules)
	whole := schedule.Interval{Start: as.Start, End: endOrForever(as.End)}
	var cur, next *schedule.Interval
	for k := range a.occ {
		if !a.occ[k].Start.After(at) && a.occ[k].End.After(at) {
			cur = &a.occ[k]
		} else if a.occ[k].Start.After(at) && next == nil {
			next = &a.occ[k]
		}
	}
	switch {
	case cur != nil:
		sx.Window, sx.state, sx.Applies, sx.Code = cur, stApplies, true, reason.InForce
		sx.Note = fmt.Sprintf("%s (%s) is in force now, from %s to %s.", name, rules, textfmt.Time(cur.Start, loc), textfmt.ClockOrTime(cur.End, cur.Start, loc))
	case !whole.End.After(at):
		sx.Window, sx.state, sx.key, sx.Code = &whole, stEnded, whole.End, reason.Ended
		sx.Note = fmt.Sprintf("%s ended on %s.", name, textfmt.Time(whole.End, loc))
	case next != nil:
		sx.Window, sx.state, sx.key, sx.Code = next, stUpcoming, next.Start, reason.OutsideSchedule
		what := "its schedule does not include today"
		if textfmt.SameLocalDay(next.Start, at, loc) {
			what = "its schedule does not include this time"
		}
		if whole.Start.After(at) {
			what, sx.Code = fmt.Sprintf("it starts on %s", textfmt.Time(whole.Start, loc)), reason.NotStarted
		}
		sx.Note = fmt.Sprintf("%s (%s): %s; the next access is from %s to %s (%s).", name, rules, what, textfmt.Time(next.Start, loc), textfmt.ClockOrTime(next.End, next.Start, loc), fmtBuffer(a.buf))
	default:
		sx.state, sx.key, sx.Code = stUpcoming, whole.Start, reason.NoOccurrence
		sx.Note = fmt.Sprintf("%s (%s): its schedule gives no access in the coming week.", name, rules)
	}
	return notMapped(sx, name)
}

// explainCheckIns describes, per location in order of first appearance,
// the member's check-ins of at's local day there, else the latest one
// before at.
func (e *engine) explainCheckIns(list []*admission, at time.Time) []SourceExplanation {
	s := e.ix.s
	latest := map[string]*admission{}
	today := map[string][]*admission{}
	var order []string
	for _, a := range list {
		ci := &s.CheckIns[a.rec]
		if ci.At.After(at) {
			continue
		}
		if _, seen := latest[ci.LocationID]; !seen {
			if _, seen := today[ci.LocationID]; !seen {
				order = append(order, ci.LocationID)
			}
		}
		if textfmt.SameLocalDay(ci.At, at, a.zone) {
			today[ci.LocationID] = append(today[ci.LocationID], a)
		} else if l, ok := latest[ci.LocationID]; !ok || ci.At.After(s.CheckIns[l.rec].At) {
			latest[ci.LocationID] = a
		}
	}
	var out []SourceExplanation
	for _, locID := range order {
		if list := today[locID]; len(list) > 0 {
			for _, a := range list {
				out = append(out, e.drawn(e.explainCheckIn(a, at), a))
			}
			continue
		}
		a := latest[locID]
		ci := &s.CheckIns[a.rec]
		w := a.window
		sx := SourceExplanation{Kind: KindCheckIn, ID: ci.ID, Ref: locID, Groups: a.groups, Window: &w, loc: a.zone,
			state: stNotToday, key: ci.At, Code: reason.NotCheckedIn}
		name := fmt.Sprintf("Check-in %s (%s, %s)", ci.ID, locID, textfmt.Time(ci.At, a.zone))
		sx.Note = fmt.Sprintf("The member has not checked in at %s today (last check-in %s); access from a check-in lasts for the day of the check-in only.", locID, textfmt.Time(ci.At, a.zone))
		out = append(out, e.drawn(notMapped(sx, name), a))
	}
	return out
}

// explainCheckIn describes a check-in of at's local day.
func (e *engine) explainCheckIn(a *admission, at time.Time) SourceExplanation {
	ci, loc := &e.ix.s.CheckIns[a.rec], a.zone
	w := a.window
	sx := SourceExplanation{Kind: KindCheckIn, ID: ci.ID, Ref: ci.LocationID, Groups: a.groups, Window: &w, loc: loc}
	name := fmt.Sprintf("Check-in %s (%s, %s)", ci.ID, ci.LocationID, textfmt.Time(ci.At, loc))
	switch {
	case w.End.After(at):
		sx.state, sx.Applies, sx.Code = stApplies, true, reason.InForce
		sx.Note = fmt.Sprintf("%s gives access until %s.", name, fmtCheckInEnd(ci, w.End, loc))
	case !ci.Out.IsZero() && !ci.Out.After(w.End):
		sx.state, sx.key, sx.Code = stCheckedOut, ci.Out, reason.CheckedOut
		sx.Note = fmt.Sprintf("%s: the member checked out at %s, which ended the access from this check-in.", name, textfmt.Clock(ci.Out, loc))
	default:
		sx.state, sx.key, sx.Code = stEnded, w.End, reason.Ended
		sx.Note = fmt.Sprintf("%s gave access until %s.", name, fmtCheckInEnd(ci, w.End, loc))
	}
	return notMapped(sx, name)
}

// notMapped sets the zone and, for a source that maps to no group, its
// reason.
func notMapped(sx SourceExplanation, name string) SourceExplanation {
	sx.Zone = zoneOr(sx.loc).String()
	if len(sx.Groups) > 0 {
		return sx
	}
	sx.Applies = false
	what, code := KindPlan, reason.PlanNotMapped // the mapping table that has no group for it
	switch sx.Kind {
	case KindAllowance:
		what, code = KindAllowance, reason.AllowanceNotMapped
	case KindBooking, KindAssignment:
		what, code = KindResource, reason.ResourceNotMapped
	case KindCheckIn:
		what, code = KindLocation, reason.LocationNotMapped
	}
	note := fmt.Sprintf("%s gives no access: its %s %s is not mapped to any Kisi group", name, what, sx.Ref)
	if sx.Kind == KindPlan { // a plan of kind default maps to the Default groups
		note += " and no default group is set"
	}
	if sx.state == stPending || sx.state == stCancelled {
		// The plan's status is the first reason; the mapping comes second.
		note = sx.Note + " " + strings.Replace(note, name+" gives no access: its", "Also, its", 1)
	} else {
		sx.Code = code
	}
	sx.Note, sx.state = note+".", max(sx.state, stNoGroup)
	return sx
}

// timedNote describes a source with one window in force, upcoming or past;
// extra goes before the final period.
func timedNote(sx *SourceExplanation, name string, w schedule.Interval, at time.Time, loc *time.Location, extra string) {
	switch {
	case !w.Start.After(at) && w.End.After(at):
		sx.state, sx.Applies, sx.Code = stApplies, true, reason.InForce
		if w.End.Equal(schedule.Forever) {
			sx.Note = fmt.Sprintf("%s has been active since %s and has no end date%s.", name, textfmt.Time(w.Start, loc), extra)
			return
		}
		sx.Note = fmt.Sprintf("%s is active from %s until %s%s.", name, textfmt.Time(w.Start, loc), textfmt.Time(w.End, loc), extra)
	case w.Start.After(at):
		sx.state, sx.key, sx.Code = stUpcoming, w.Start, reason.NotStarted
		sx.Note = fmt.Sprintf("%s has not started yet: it starts on %s (in %s)%s.", name, textfmt.Time(w.Start, loc), textfmt.Duration(w.Start.Sub(at)), extra)
	default:
		sx.state, sx.key, sx.Code = stEnded, w.End, reason.Ended
		sx.Note = fmt.Sprintf("%s ended on %s%s.", name, textfmt.Time(w.End, loc), extra)
	}
}
