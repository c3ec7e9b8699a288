package access_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/access/storetest"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
)

// BenchmarkRequestsInFlight grants 30 members whose Kisi users exist (30 role
// creates) through the client's default pace of 5 requests per second, against a
// Kisi whose writes take a round trip of 50, 300 or 600 ms of real time, with 1 and 3
// requests in flight. It reports the requests per second the run reached: one after
// another, a round trip over 200 ms keeps a run below Kisi's 5. Wall time is the
// measure here (the run waits on round trips, not on the CPU):
//
//	go test -run '^$' -bench 'BenchmarkRequestsInFlight' -benchtime 1x ./access/
func BenchmarkRequestsInFlight(b *testing.B) {
	const members = 30
	for _, rtt := range []time.Duration{50 * time.Millisecond, 300 * time.Millisecond, 600 * time.Millisecond} {
		for _, n := range []int{1, 3} {
			b.Run(fmt.Sprintf("rtt=%v/in-flight=%d", rtt, n), func(b *testing.B) {
				var spent time.Duration
				for b.Loop() {
					b.StopTimer()
					clock := clockwork.NewFakeClockAt(syncStart)
					srv := kisitest.NewServer(kisitest.WithoutRateLimit(), kisitest.WithClock(clock))
					place, err := srv.AddPlace("Berlin", "Europe/Berlin")
					if err != nil {
						b.Fatal(err)
					}
					group, err := srv.AddGroup("Members", place)
					if err != nil {
						b.Fatal(err)
					}
					client, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL))
					if err != nil {
						b.Fatal(err)
					}
					s := baseSnapshot()
					addPlanMembers(&s, "m", members)
					st := access.NewMemoryStore()
					users := &sync.Map{}
					for _, mem := range s.Members[2:] {
						id, err := srv.AddUser(mem.Email, "", true)
						if err != nil {
							b.Fatal(err)
						}
						users.Store(id, mem.Email)
						storetest.Seed(b, st, "default", state.Record{Key: state.UserKey(mem.Email), Kind: state.KindUser,
							State: state.StateSettled, KisiID: id, Email: mem.Email, Managed: true, Invited: true})
					}
					m := mapping.Mapping{Plans: map[string][]int64{"pro": {group}}}
					k := slowKisi{KisiAPI: client, ev: &events{}, latency: rtt, users: users}
					r, err := access.NewReconciler(k, st, m, access.DefaultPolicy(), access.WithClock(clock), access.WithRequestsInFlight(n))
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					began := time.Now()
					rep, err := r.Sync(b.Context(), s)
					spent += time.Since(began)
					if err != nil || rep.Created != members {
						b.Fatalf("created %d, err %v", rep.Created, err)
					}
					srv.Close()
				}
				b.ReportMetric(float64(members*b.N)/spent.Seconds(), "requests/s")
			})
		}
	}
}
