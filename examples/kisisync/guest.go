package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/troubleshoot"
	"github.com/kisisync/kisisync/internal/textfmt"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// guestExplanation says what a drop-in guest gets, booking by booking: the
// links Kisi holds or will hold (one per booking and mapped group), or why
// a booking gets none; with mapping.DropIn.AddToGroup also the guest's
// group access as a Kisi user. diagnose adds the links Kisi holds.
type guestExplanation struct {
	Email    string         `json:"guest_email"`
	Name     string         `json:"name,omitempty"`
	At       time.Time      `json:"at"`
	Bookings []guestBooking `json:"bookings"`
	// Grants is the guest's group access as a Kisi user (add_to_group).
	Grants []access.Grant `json:"grants,omitempty"`
	// Kisi is what Kisi holds, per wanted link: set by diagnose only.
	Kisi []guestKisiLink `json:"kisi,omitempty"`

	loc *time.Location
}

// guestBooking is one drop-in booking of the guest.
type guestBooking struct {
	BookingID  string            `json:"booking_id"`
	ResourceID string            `json:"resource_id"`
	Booked     schedule.Interval `json:"booked"`
	Links      []access.Link     `json:"links,omitempty"`
	// NoLink says why the booking gets no link; empty when it has links.
	NoLink string `json:"no_link,omitempty"`
}

// guestKisiLink is a wanted link and the links Kisi holds for the guest in
// its group.
type guestKisiLink struct {
	BookingID string            `json:"booking_id"`
	GroupID   int64             `json:"group_id"`
	Wanted    schedule.Interval `json:"wanted"`
	Held      []*kisi.GroupLink `json:"held"`
}

// guestEmail returns the normalized email --member names when it is a
// drop-in guest's and no member's; "" otherwise.
func guestEmail(s access.Snapshot, member string) string {
	want := strings.ToLower(strings.TrimSpace(member))
	if !strings.Contains(want, "@") {
		return ""
	}
	for _, mb := range s.Members {
		if mb.ID == member || strings.ToLower(strings.TrimSpace(mb.Email)) == want {
			return ""
		}
	}
	for _, b := range s.Bookings {
		if b.MemberID == "" && b.Guest != nil && strings.ToLower(strings.TrimSpace(b.Guest.Email)) == want {
			return want
		}
	}
	return ""
}

// explainGuest explains the drop-in guest with email at `at`; it reads no
// Kisi.
func explainGuest(s access.Snapshot, m mapping.Mapping, p access.Policy, email string, at time.Time) guestExplanation {
	x := guestExplanation{Email: email, At: at, loc: textfmt.Zone(firstZone(s))}
	links, lerr := access.Links(s, m, p, at)
	rejected := map[string]*access.RecordError{}
	for _, re := range access.RecordErrors(lerr) {
		if re.Kind == access.KindBooking {
			rejected[re.ID] = re
		}
	}
	for _, b := range s.Bookings {
		if b.MemberID != "" || b.Guest == nil || strings.ToLower(strings.TrimSpace(b.Guest.Email)) != email {
			continue
		}
		if x.Name == "" {
			x.Name = strings.TrimSpace(b.Guest.Name)
		}
		gb := guestBooking{BookingID: b.ID, ResourceID: b.ResourceID, Booked: schedule.Interval{Start: b.Start, End: b.End}}
		for _, l := range links {
			if l.BookingID == b.ID {
				gb.Links = append(gb.Links, l)
			}
		}
		switch re := rejected[b.ID]; {
		case len(gb.Links) > 0:
		case re != nil:
			gb.NoLink = fmt.Sprintf("the booking is not synced: %v (%s)", re.Err, re.Remedy())
		case !m.DropIn.Link && !m.DropIn.QR && m.DropIn.AddToGroup:
			gb.NoLink = "the mapping's drop_in sends no link (link and qr are off); the guest gets the groups as a Kisi user (add_to_group)"
		case !m.DropIn.Link && !m.DropIn.QR:
			gb.NoLink = "the mapping's drop_in chooses no delivery (link, qr, add_to_group), so nothing is created and Kisi emails the guest nothing"
		case !b.End.After(at):
			gb.NoLink = "the booking has ended; its links are deleted"
		default:
			gb.NoLink = fmt.Sprintf("resource %s maps to no Kisi group, or its window (with the buffer) has ended", b.ResourceID)
		}
		x.Bookings = append(x.Bookings, gb)
	}
	if m.DropIn.AddToGroup {
		grants, _ := access.Access(s, m, p, schedule.Interval{Start: at, End: schedule.Forever})
		for _, g := range grants {
			if g.Guest != nil && g.Email == email {
				x.Grants = append(x.Grants, g)
			}
		}
	}
	return x
}

// String renders the explanation for a terminal.
func (x guestExplanation) String() string {
	var b strings.Builder
	label := "<" + x.Email + ">"
	if x.Name != "" {
		label = x.Name + " " + label
	}
	fmt.Fprintf(&b, "Drop-in guest %s at %s: a guest, not a member; access is a Kisi link per booking and group.\n", label, textfmt.Time(x.At, x.loc))
	for _, bk := range x.Bookings {
		fmt.Fprintf(&b, "Booking %s of %s (%s):", bk.BookingID, bk.ResourceID, textfmt.Span(bk.Booked.Start, bk.Booked.End, x.loc))
		if bk.NoLink != "" {
			fmt.Fprintf(&b, " no link: %s.\n", bk.NoLink)
			continue
		}
		b.WriteString("\n")
		for _, l := range bk.Links {
			fmt.Fprintf(&b, "  - Link to group %d, valid %s%s: %s. %s\n", l.GroupID, textfmt.Window(l.Window, x.loc),
				bufferNote(bk.Booked, l.Window), linkState(l.Window, x.At, x.loc), delivery(l))
		}
	}
	for _, g := range x.Grants {
		fmt.Fprintf(&b, "Group %d: as a Kisi user (add_to_group), %s.\n", g.GroupID, textfmt.Window(g.Window, x.loc))
	}
	for _, k := range x.Kisi {
		switch {
		case len(k.Held) == 0 && k.Wanted.End.After(x.At):
			fmt.Fprintf(&b, "ERROR Kisi holds no link of %s to group %d for booking %s: the next apply creates it (run 'kisisync apply'; 'kisisync plan' shows it)\n", x.Email, k.GroupID, k.BookingID)
		case len(k.Held) == 0:
		default:
			for _, l := range k.Held {
				fmt.Fprintf(&b, "Kisi holds link %d to group %d, valid %s, %s.\n", l.ID, k.GroupID,
					textfmt.Validity(heldWindow(l), x.loc), map[bool]string{true: "enabled", false: "disabled"}[l.LinkEnabled])
			}
		}
	}
	return b.String()
}

// bufferNote names the buffer by which a link's window exceeds the booking.
func bufferNote(booked, w schedule.Interval) string {
	before, after := booked.Start.Sub(w.Start), w.End.Sub(booked.End)
	if before <= 0 && after <= 0 {
		return ""
	}
	return fmt.Sprintf(" (the booking with %s before and %s after)", textfmt.Duration(before), textfmt.Duration(after))
}

// linkState says whether a link's window is open at `at`.
func linkState(w schedule.Interval, at time.Time, loc *time.Location) string {
	switch {
	case at.Before(w.Start):
		return fmt.Sprintf("not open yet, opens at %s (in %s)", textfmt.ClockOrTime(w.Start, at, loc), textfmt.Duration(w.Start.Sub(at)))
	case at.Before(w.End):
		return fmt.Sprintf("open now, until %s", textfmt.ClockOrTime(w.End, at, loc))
	}
	return "ended"
}

// delivery says how Kisi sends the link.
func delivery(l access.Link) string {
	how := "a link"
	switch {
	case l.SendLink && l.QR:
		how = "a link and a QR code"
	case l.QR:
		how = "a QR code"
	}
	return fmt.Sprintf("Kisi emails it to the guest as %s when it is created, as soon as the booking exists.", how)
}

// heldWindow is the validity of a link Kisi holds.
func heldWindow(l *kisi.GroupLink) schedule.Interval {
	var w schedule.Interval
	if l.ValidFrom != nil {
		w.Start = *l.ValidFrom
	}
	if l.ValidUntil != nil {
		w.End = *l.ValidUntil
	} else {
		w.End = schedule.Forever
	}
	return w
}

// errGuestLinkMissing: a link the guest should have is not in Kisi.
var errGuestLinkMissing = errors.New("a wanted link is missing in Kisi")

// diagnoseGuest adds to x the links Kisi holds for the guest in the group
// of every wanted link (one listing per group, filtered by the email); it
// returns errGuestLinkMissing when a wanted link that has not ended is not
// there.
func diagnoseGuest(ctx context.Context, k troubleshoot.Kisi, x *guestExplanation) error {
	var missing bool
	for _, bk := range x.Bookings {
		for _, l := range bk.Links {
			gl := guestKisiLink{BookingID: bk.BookingID, GroupID: l.GroupID, Wanted: l.Window, Held: []*kisi.GroupLink{}}
			held, _, err := k.ListGroupLinks(ctx, &kisi.GroupLinkListOptions{GroupID: l.GroupID, Query: x.Email})
			if err != nil {
				return fmt.Errorf("list the links of group %d: %w", l.GroupID, err)
			}
			for _, h := range held {
				if h.Email != nil && strings.EqualFold(strings.TrimSpace(*h.Email), x.Email) {
					gl.Held = append(gl.Held, h)
				}
			}
			if len(gl.Held) == 0 && l.Window.End.After(x.At) {
				missing = true
			}
			x.Kisi = append(x.Kisi, gl)
		}
	}
	if missing {
		return errGuestLinkMissing
	}
	return nil
}

// guestDrawing refuses the week drawings for a guest: they draw a member's
// week; a guest's access is the text.
func guestDrawing(cfg config) error {
	if cfg.timeline || cfg.svg != "" || cfg.html != "" {
		return &usageError{fmt.Sprintf("%s is a drop-in guest's email: --timeline, --svg and --html draw a member's week; %s without them lists the guest's links", cfg.member, cfg.command)}
	}
	return nil
}
