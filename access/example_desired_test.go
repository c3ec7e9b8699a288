package access_test

import (
	"fmt"
	"time"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/mapping"
)

func ExampleDesired() {
	s := access.Snapshot{
		Locations: []access.Location{{ID: "berlin", TimeZone: "Europe/Berlin"}},
		Resources: []access.Resource{{ID: "room-1", LocationID: "berlin"}},
		Members:   []access.Member{{ID: "m1", Email: "Ann@Example.com"}, {ID: "m2", Email: "bob@example.com"}},
		Plans: []access.Plan{
			{ID: "p1", PlanID: "hot-desk", MemberID: "m1", Start: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Status: access.PlanActive},
			{ID: "p2", PlanID: "hot-desk", MemberID: "m2", Start: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Status: access.PlanPending},
		},
		Bookings: []access.Booking{{ID: "b1", ResourceID: "room-1", MemberID: "m2",
			Start: time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)}},
	}
	m := mapping.Mapping{
		Plans:     map[string][]int64{"hot-desk": {101}},
		Resources: map[string][]int64{"room-1": {104}},
	}
	// 12:40 UTC: the booking's window (12:55–14:05 with the 5-minute
	// buffer) starts within the 20-minute lead time.
	grants, err := access.Desired(s, m, access.DefaultPolicy(), time.Date(2026, 3, 2, 12, 40, 0, 0, time.UTC))
	if err != nil {
		fmt.Println(err)
	}
	for _, g := range grants {
		fmt.Println(g.Email, g.GroupID, g.Window, g.Sources)
	}
	// Output:
	// ann@example.com 101 [2026-03-01T00:00:00Z, forever) [{plan p1}]
	// bob@example.com 104 [2026-03-02T12:55:00Z, 2026-03-02T14:05:00Z) [{booking b1}]
}

func ExampleExplain() {
	s := access.Snapshot{
		Locations: []access.Location{{ID: "berlin", TimeZone: "Europe/Berlin"}},
		Resources: []access.Resource{{ID: "room-1", LocationID: "berlin"}},
		Members:   []access.Member{{ID: "m1", Email: "ann@example.com", Name: "Ann"}},
		Plans: []access.Plan{{ID: "p1", PlanID: "hot-desk", MemberID: "m1",
			Start: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Status: access.PlanPending}},
		Bookings: []access.Booking{{ID: "b1", ResourceID: "room-1", MemberID: "m1",
			Start: time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)}},
	}
	m := mapping.Mapping{
		Plans:     map[string][]int64{"hot-desk": {101}},
		Resources: map[string][]int64{"room-1": {104}},
	}
	x, err := access.Explain(s, m, access.DefaultPolicy(), "m1", time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC))
	if err != nil {
		fmt.Println(err)
	}
	fmt.Print(x)
	for _, g := range x.Groups {
		fmt.Println("group", g.GroupID, "code", g.ReasonCode)
	}
	// Output:
	// Member m1 (Ann) <ann@example.com> at Mon 2 Mar 2026 12:00 CET:
	// Group 101: no access now. Plan p1 (hot-desk) is pending acceptance: it gives no access and no Kisi invitation until it is accepted and active.
	// Group 104: no access now. Booking b1 of room-1 (Mon 2 Mar 2026 14:00–15:00 CET) starts in 2 hours; access opens at 13:55 CET (with the 5-minute buffer).
	// No group gives access now, so the Kisi app shows “No locks found” (or does not list this door).
	// group 101 code plan_pending
	// group 104 code booking_starts_later
}

func ExampleLinks() {
	s := access.Snapshot{
		Locations: []access.Location{{ID: "berlin", TimeZone: "Europe/Berlin"}},
		Resources: []access.Resource{{ID: "room-1", LocationID: "berlin"}},
		Bookings: []access.Booking{{ID: "b7", ResourceID: "room-1", Guest: &access.Guest{Name: "Gus", Email: " Gus@Example.org"},
			Start: time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)}},
	}
	m := mapping.Mapping{Resources: map[string][]int64{"room-1": {104}}, DropIn: mapping.DropIn{Link: true, QR: true}}
	links, err := access.Links(s, m, access.DefaultPolicy(), time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	if err != nil {
		fmt.Println(err)
	}
	for _, l := range links {
		fmt.Println(l.BookingID, l.GroupID, l.Email, l.Window, l.SendLink, l.QR)
	}
	// Output:
	// b7 104 gus@example.org [2026-03-02T12:55:00Z, 2026-03-02T14:05:00Z) true true
}
