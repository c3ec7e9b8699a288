package access

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// Link is an access link a drop-in booking wants (one per mapped group of
// the booked resource).
type Link struct {
	// BookingID is the drop-in [Booking] the link is for.
	BookingID string `json:"booking_id"`
	// GroupID is the Kisi group the link opens.
	GroupID int64 `json:"group_id"`
	// Name is the guest's name, the link's name in Kisi (for auditing); the
	// guest's email when the booking gives no name, since Kisi refuses an
	// empty one.
	Name string `json:"name"`
	// Email is the guest's normalized email; Kisi sends the link to it.
	Email string `json:"email"`
	// Window is the half-open booking window widened by the buffer in
	// force for the resource; it becomes the link's valid_from and
	// valid_until. Its times keep the location of the booking's.
	Window schedule.Interval `json:"window"`
	// SendLink is mapping.DropIn.Link: the guest is emailed an access
	// link.
	SendLink bool `json:"send_link"`
	// QR is mapping.DropIn.QR: the guest is emailed a QR code.
	QR bool `json:"qr"`
}

// Links returns the links the snapshot wants at `at`: one per mapped group
// of the booked resource for every drop-in booking (a Guest and no
// MemberID) that has not ended (window End > at), when mapping.DropIn.Link
// or mapping.DropIn.QR is set. With neither set no link is wanted, so Kisi
// emails the guest nothing. Links are wanted as soon as the booking exists,
// so the guest gets the email ahead of time. They are sorted by BookingID,
// GroupID. Bad records are skipped and reported in err as by [Access], for
// the records links depend on: locations, resources, members, teams and
// bookings.
//
// mapping.DropIn.AddToGroup gives the guest group access as well, like a
// member booking (see [Grant.Guest]); it does not change the links.
func Links(s Snapshot, m mapping.Mapping, p Policy, at time.Time) ([]Link, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("access: %w", err)
	}
	// Links need no identities for guests (those serve guests' grants).
	lm := m
	lm.DropIn.AddToGroup = false
	e := newEngine(&s, lm, p, schedule.Interval{Start: at, End: at}, -1)
	e.linksOnly = true
	e.bookings()
	return e.links(at), errors.Join(e.ix.errs...)
}

// links returns the links of the drop-ins collected by bookings.
func (e *engine) links(at time.Time) []Link {
	ix, m := e.ix, e.m
	if !e.wantsLinks() {
		return nil // no delivery chosen: no link, so Kisi sends no email
	}
	n := 0 // an upper bound: links of bookings that have ended are left out
	for _, i := range e.dropIns {
		n += len(ix.bookResource(i).groups)
	}
	links := make([]Link, 0, n)
	for _, i := range e.dropIns {
		w, ok := e.linkWindow(i, at)
		if !ok {
			continue
		}
		b := &ix.s.Bookings[i]
		email := ix.guestEmail(i)
		name := strings.TrimSpace(b.Guest.Name)
		if name == "" {
			name = email // Kisi refuses a link without a name
		}
		for _, g := range ix.bookResource(i).groups {
			links = append(links, Link{BookingID: b.ID, GroupID: g, Name: name, Email: email,
				Window: w, SendLink: m.DropIn.Link, QR: m.DropIn.QR})
		}
	}
	slices.SortFunc(links, func(a, b Link) int {
		if c := cmp.Compare(a.BookingID, b.BookingID); c != 0 {
			return c
		}
		return cmp.Compare(a.GroupID, b.GroupID)
	})
	return links
}

// wantsLinks reports whether the mapping chooses a delivery for drop-in
// links; without one no link is wanted.
func (e *engine) wantsLinks() bool { return e.m.DropIn.Link || e.m.DropIn.QR }

// linkWindow returns the window of the links of drop-in booking i (see
// [Link.Window]) and whether it wants any at `at`: its resource maps to a
// group and the window has not ended. [nextChange] reads the windows' ends
// from it without building the links.
func (e *engine) linkWindow(i int32, at time.Time) (schedule.Interval, bool) {
	b, ri := &e.ix.s.Bookings[i], e.ix.bookResource(i)
	w := widen(schedule.Interval{Start: b.Start, End: b.End}, ri.buf)
	return w, len(ri.groups) > 0 && w.End.After(at)
}
