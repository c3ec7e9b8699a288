package sqlitestore_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/time/rate"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/sqlitestore"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
)

// firstSyncMembers is the size of the space BenchmarkFirstSync syncs.
const firstSyncMembers = 2000

// BenchmarkFirstSync measures the first Sync of a space of 2,000 members,
// each with an active plan mapped to one group (2,000 Kisi users and 2,000
// roles created, every one recorded in the Store as it happens), against
// the fake Kisi without its rate limit, with the memory Store and with a
// new SQLite file (by default, and with WithFullSync). Each iteration starts from an empty fake and an empty
// Store; only the Sync is timed.
//
//	cd access/sqlitestore && go test -run '^$' -bench FirstSync -benchtime 3x .
func BenchmarkFirstSync(b *testing.B) {
	at := time.Date(2026, time.June, 10, 9, 0, 0, 0, time.UTC)
	stores := []struct {
		name string
		open func(b *testing.B) access.Store
	}{
		{"memory", func(*testing.B) access.Store { return access.NewMemoryStore() }},
		{"sqlite", func(b *testing.B) access.Store { return open(b, filepath.Join(b.TempDir(), "state.db")) }},
		{"sqlite-fullsync", func(b *testing.B) access.Store {
			return open(b, filepath.Join(b.TempDir(), "state.db"), sqlitestore.WithFullSync())
		}},
	}
	for _, sc := range stores {
		b.Run("store="+sc.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				clock := clockwork.NewFakeClockAt(at)
				srv := kisitest.NewServer(kisitest.WithoutRateLimit(), kisitest.WithClock(clock))
				place, err := srv.AddPlace("Berlin", "Europe/Berlin")
				if err != nil {
					b.Fatal(err)
				}
				group, err := srv.AddGroup("Members", place)
				if err != nil {
					b.Fatal(err)
				}
				client, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(rate.Inf, 0))
				if err != nil {
					b.Fatal(err)
				}
				s := access.Snapshot{Locations: []access.Location{{ID: "ber", TimeZone: "Europe/Berlin"}}}
				for i := range firstSyncMembers {
					id := fmt.Sprintf("m%04d", i)
					s.Members = append(s.Members, access.Member{ID: id, Email: id + "@example.com", Name: "Member " + id})
					s.Plans = append(s.Plans, access.Plan{ID: "p" + id, PlanID: "pro", MemberID: id,
						Start: at.Add(-24 * time.Hour), Status: access.PlanActive})
				}
				m := mapping.Mapping{Plans: map[string][]int64{"pro": {group}}}
				r, err := access.NewReconciler(client, sc.open(b), m, access.DefaultPolicy(),
					access.WithClock(clock))
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				rep, err := r.Sync(b.Context(), s)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				if rep.Created != firstSyncMembers || rep.UsersCreated != firstSyncMembers {
					b.Fatalf("created %d roles and %d users, want %d each", rep.Created, rep.UsersCreated, firstSyncMembers)
				}
				srv.Close()
				b.StartTimer()
			}
		})
	}
}
