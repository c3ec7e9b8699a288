package access

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// Link is an access link a drop-in booking wants (one per mapped group of
// the booked resource).
type Link struct {
	BookingID string            `json:"booking_id"`
	GroupID   int64             `json:"group_id"`
	Name      string            `json:"name"`      // the guest's name (link name in Kisi, for auditing)
	Email     string            `json:"email"`     // normalized guest email
	Window    schedule.Interval `json:"window"`    // booking widened by the buffer in force
	SendLink  bool              `json:"send_link"` // mapping.DropIn.Link
	QR        bool              `json:"qr"`        // mapping.DropIn.QR
}

// Links returns the links the snapshot wants at `at`: one per mapped group
// of the booked resource for every drop-in booking (a Guest and no
// MemberID) that has not ended (window End > at). Links are wanted as soon
// as the booking exists, so the guest gets the email ahead of time. They are
// sorted by BookingID, GroupID. Bad records are skipped and reported in err
// as by [Access], for the records links depend on: locations, resources,
// members, teams and bookings.
//
// With mapping.DropIn.AddToGroup a guest whose email belongs to a member
// also gets the member's grant (see [Access]); the link is wanted either
// way.
func Links(s Snapshot, m mapping.Mapping, p Policy, at time.Time) ([]Link, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("access: %w", err)
	}
	e := newEngine(&s, m, p, schedule.Interval{Start: at, End: at}, -1)
	e.linksOnly = true
	e.bookings()
	return e.links(at), errors.Join(e.ix.errs...)
}

// links returns the links of the drop-ins collected by bookings.
func (e *engine) links(at time.Time) []Link {
	s, m := e.ix.s, e.m
	var links []Link
	for _, i := range e.dropIns {
		b := &s.Bookings[i]
		ri := e.res[b.ResourceID]
		w := widen(schedule.Interval{Start: b.Start, End: b.End}, ri.buf)
		if !w.End.After(at) {
			continue
		}
		email, _ := NormalizeEmail(b.Guest.Email) // checked by checkBooking
		for _, g := range ri.groups {
			links = append(links, Link{BookingID: b.ID, GroupID: g, Name: b.Guest.Name, Email: email,
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
