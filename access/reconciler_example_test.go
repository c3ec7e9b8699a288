package access_test

import (
	"context"
	"errors"
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
	if rep == nil { // nothing was planned: the Store, Kisi or the lease; retry after a back-off
		fmt.Println(err)
		return
	}
	// A Report comes with an error too when changes failed or the revoke
	// guard held cuts (*access.RevokeLimitError): the rest was applied, and
	// NextRun is still when to run again. Log what was not done.
	if err != nil {
		fmt.Println(err)
	}
	for _, sk := range rep.Skipped {
		fmt.Printf("skipped %v: %s\n", sk, sk.Remedy())
	}
	for _, p := range rep.Parked {
		fmt.Printf("parked %s → group %d: %s; %s\n", p.Email, p.GroupID, p.Reason, p.Remedy())
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

// A run whose cuts the revoke guard held still returns its Report: the
// rest was applied, and NextRun says when to run again. A host that
// returned on any error would never schedule that run.
func ExampleRevokeLimitError() {
	ctx := context.Background()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	clock := clockwork.NewFakeClockAt(time.Date(2026, time.June, 10, 13, 40, 0, 0, berlin))
	srv := kisitest.NewServer(kisitest.WithoutRateLimit(), kisitest.WithClock(clock))
	defer srv.Close()
	members, _ := srv.AddGroup("Members", 0)
	client, _ := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(rate.Inf, 0))
	r, _ := access.NewReconciler(client, access.NewMemoryStore(),
		mapping.Mapping{Plans: map[string][]int64{"flex": {members}}}, access.DefaultPolicy(), access.WithClock(clock))

	s := access.Snapshot{Locations: []access.Location{{ID: "ber", TimeZone: "Europe/Berlin"}}}
	for _, name := range []string{"ann", "ben", "cem", "dev", "eva"} {
		s.Members = append(s.Members, access.Member{ID: name, Email: name + "@example.com", Managed: true})
		s.Plans = append(s.Plans, access.Plan{ID: "p-" + name, PlanID: "flex", MemberID: name,
			Start: time.Date(2026, time.June, 1, 0, 0, 0, 0, berlin), Status: access.PlanActive})
	}
	_, _ = r.Sync(ctx, s)

	s.Plans = nil // a truncated export: every plan vanished
	rep, err := r.Sync(ctx, s)
	var held *access.RevokeLimitError
	if errors.As(err, &held) {
		fmt.Printf("held %d cuts; %d in the report\n", held.Revocations, len(rep.Held))
	}
	fmt.Printf("next run %s\n", rep.NextRun.In(berlin).Format("15:04")) // soon: a held run is looked at again
	// Output:
	// held 5 cuts; 5 in the report
	// next run 13:41
}
