package troubleshoot_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/time/rate"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/troubleshoot"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
)

// A member tried the door five minutes before the buffer of her booking
// opened. Diagnose reads the failed attempt from Kisi's event log and
// decodes its error code with the member's booking window.
func ExampleChecker_Diagnose() {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := time.Date(2026, time.June, 10, 13, 52, 0, 0, berlin)
	srv := kisitest.NewServer(kisitest.WithoutRateLimit(), kisitest.WithClock(clockwork.NewFakeClockAt(at)))
	defer srv.Close()
	place, _ := srv.AddPlace("Berlin Mitte", "Europe/Berlin")
	door, _ := srv.AddLock(place, "Room 1 door")
	room, _ := srv.AddGroup("Room 1", place)
	_, _ = srv.AddGroupLock(room, door)
	alice, _ := srv.AddUser("alice@example.com", "Alice", true)
	_, _ = srv.RecordUnlock(kisitest.Unlock{UserID: alice, LockID: door, At: at.Add(-2 * time.Minute), ErrorCode: "f358de"})

	c, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(rate.Inf, 0))
	if err != nil {
		log.Fatal(err)
	}
	s := access.Snapshot{
		Locations: []access.Location{{ID: "berlin", TimeZone: "Europe/Berlin"}},
		Resources: []access.Resource{{ID: "room1", LocationID: "berlin"}},
		Members:   []access.Member{{ID: "alice", Email: "alice@example.com", Name: "Alice"}},
		Bookings: []access.Booking{{ID: "b1", ResourceID: "room1", MemberID: "alice",
			Start: time.Date(2026, time.June, 10, 14, 0, 0, 0, berlin), End: time.Date(2026, time.June, 10, 15, 0, 0, 0, berlin)}},
	}
	m := mapping.Mapping{Resources: map[string][]int64{"room1": {room}}}

	chk, err := troubleshoot.New(c, m, access.DefaultPolicy())
	if err != nil {
		log.Fatal(err)
	}
	d, err := chk.Diagnose(context.Background(), s, "alice", at)
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range d.Findings {
		fmt.Printf("%s %s\n", f.Severity, f.Code)
	}
	fmt.Println(d.Attempts[0].Explanation)
	// Output:
	// error unlock_failed
	// warning role_missing
	// info no_access_now
	// access not yet valid — the booking window for group 100006 "Room 1" opens at 13:55 CEST.
}

// CheckConnection tells a support person why a sync silently does nothing:
// here the API key belongs to a user who is only an Observer.
func ExampleChecker_CheckConnection() {
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	defer srv.Close()
	members, _ := srv.AddGroup("Members", 0)
	key, _ := srv.NewUserKey("ops@example.com", "observer")
	c, err := kisi.NewClient(key, kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(rate.Inf, 0))
	if err != nil {
		log.Fatal(err)
	}
	m := mapping.Mapping{Plans: map[string][]int64{"pro": {members, 424242}}}

	chk, err := troubleshoot.New(c, m, access.DefaultPolicy())
	if err != nil {
		log.Fatal(err)
	}
	rep, err := chk.CheckConnection(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ok:", rep.OK())
	for _, f := range rep.Findings {
		fmt.Printf("%s %s\n", f.Severity, f.Code)
	}
	fmt.Println("skip:", rep.MissingGroups())
	// Output:
	// ok: false
	// error key_not_admin
	// error group_no_doors
	// error group_missing
	// info email_links
	// skip: [424242]
}
