package access_test

import (
	"context"
	"fmt"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/time/rate"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
)

func ExampleReconciler_Sync() {
	ctx := context.Background()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	clock := clockwork.NewFakeClockAt(time.Date(2026, time.June, 10, 13, 40, 0, 0, berlin))

	// A fake Kisi with one group; a host would use the real API.
	srv := kisitest.NewServer(kisitest.WithoutRateLimit(), kisitest.WithClock(clock))
	defer srv.Close()
	room, _ := srv.AddGroup("Room 1", 0)
	client, _ := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(rate.Inf, 0))

	m := mapping.Mapping{Resources: map[string][]int64{"room1": {room}}}
	r, _ := access.NewReconciler(client, access.NewMemoryStore(), m, access.DefaultPolicy(),
		access.WithClock(clock), access.WithGroupNames(map[int64]string{room: "Room 1"}))

	s := access.Snapshot{
		Locations: []access.Location{{ID: "ber", TimeZone: "Europe/Berlin"}},
		Resources: []access.Resource{{ID: "room1", LocationID: "ber"}},
		Members:   []access.Member{{ID: "m1", Email: "alice@example.com", Name: "Alice"}},
		Bookings: []access.Booking{{ID: "bk1", ResourceID: "room1", MemberID: "m1",
			Start: time.Date(2026, time.June, 10, 14, 0, 0, 0, berlin), End: time.Date(2026, time.June, 10, 15, 0, 0, 0, berlin)}},
	}
	c, _ := r.Plan(ctx, s) // dry run
	fmt.Print(c)

	rep, err := r.Sync(ctx, s)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("created %d, next run %s\n", rep.Created, rep.NextRun.In(berlin).Format("15:04"))

	rep, _ = r.Sync(ctx, s) // nothing to do: no Kisi request at all
	fmt.Printf("second run: created %d, replaced %d, deleted %d\n", rep.Created, rep.Replaced, rep.Deleted)
	// Output:
	// plan for organization "default" at 2026-06-10 13:40 CEST
	//
	// + grant alice@example.com → group 100004 "Room 1"  2026-06-10 13:55–15:05 CEST  (booking bk1; new access)
	//
	// Plan: 1 to create, 0 to replace, 0 to delete (cutting 0 of 0 managed), 0 to adopt, 0 to forget.
	// created 1, next run 15:05
	// second run: created 0, replaced 0, deleted 0
}
