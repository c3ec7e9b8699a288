package access

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/schedule"
)

// TestDiffIgnoresRecordOrder: diff joins the records in key order, as a
// Store's Load returns them; records in any other order plan the same
// changes, and neither the records nor the grants are changed.
func TestDiffIgnoresRecordOrder(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, time.June, 10, 12, 0, 0, 0, time.UTC)
	windows := []schedule.Interval{
		{Start: now.Add(-2 * time.Hour), End: now.Add(-time.Hour)},
		{Start: now.Add(-time.Hour), End: now.Add(time.Hour)},
		{Start: now.Add(10 * time.Minute), End: now.Add(2 * time.Hour)},
		{Start: now.Add(-time.Hour), End: schedule.Forever},
		{Start: now.Add(-time.Hour), End: now.Add(DefaultValidity)},
	}
	states := []state.RecordState{state.StateSettled, state.StateSettled, state.StatePending, state.StateGone, state.StateConflict}
	for seed := range uint64(30) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 11))
			var recs []state.Record
			var grants []Grant
			var links []Link
			res := map[string]resolution{}
			for i := range 60 {
				email, group := fmt.Sprintf("m%d@x.io", rng.IntN(12)), int64(1+rng.IntN(12))
				w := windows[rng.IntN(len(windows))]
				switch rng.IntN(4) {
				case 0:
					grants = append(grants, Grant{MemberID: email, Email: email, GroupID: group, Window: w,
						Sources: []Source{{Kind: KindPlan, ID: "p" + email}}})
				case 1:
					b := fmt.Sprint("b", rng.IntN(20))
					links = append(links, Link{BookingID: b, GroupID: group, Email: email, Name: "Guest", Window: w})
					if rng.IntN(2) == 0 {
						recs = append(recs, state.Record{Key: state.LinkKey(b, group), Kind: state.KindLink, State: states[rng.IntN(len(states))],
							Email: email, GroupID: group, BookingID: b, Name: "Guest", KisiID: int64(i + 1), Window: w})
					}
				default:
					key := state.RoleKey(email, group)
					rec := state.Record{Key: key, Kind: state.KindRole, State: states[rng.IntN(len(states))], Email: email,
						GroupID: group, UserID: 7, KisiID: int64(i + 1), Window: windows[rng.IntN(len(windows))],
						Sources: []Source{{Kind: KindBooking, ID: fmt.Sprint("b", i)}}}
					recs = append(recs, rec)
					if rec.State == state.StatePending && rng.IntN(3) > 0 {
						res[key] = resolution{found: rng.IntN(2) == 0, kisiID: 99, window: rec.Window}
					}
					if rng.IntN(4) == 0 {
						recs = append(recs, state.Record{Key: parkKey(key), Kind: state.KindPark, Email: email, GroupID: group,
							Class: FailureRefused, Window: rec.Window, RetryAt: now.Add(time.Hour)})
					}
				}
			}
			recs = append(recs, state.Record{Key: state.UserKey("m1@x.io"), Kind: state.KindUser, Email: "m1@x.io", KisiID: 7})
			// One record per key, as in a Store.
			slices.SortStableFunc(recs, func(a, b state.Record) int { return strings.Compare(a.Key, b.Key) })
			recs = slices.CompactFunc(recs, func(a, b state.Record) bool { return a.Key == b.Key })
			plan := func(recs []state.Record) string {
				h := holding{now: now, validity: DefaultValidity, loc: time.UTC}
				c := diff(diffInput{now: now, lead: 20 * time.Minute, hold: h, recs: recs, grants: grants, links: links,
					res: res, notify: true, linkWarn: 5})
				js, err := json.MarshalIndent(struct {
					C         *Changes
					Renewals  time.Time
					Retries   time.Time
					NChanges  int
					Conflicts int
				}{c, c.renewals, c.retries, len(c.Changes), len(c.Conflicts)}, "", " ")
				if err != nil {
					t.Fatal(err)
				}
				return string(js)
			}
			sorted := slices.Clone(recs)
			want := plan(sorted)
			if !slices.EqualFunc(sorted, recs, func(a, b state.Record) bool { return a.Key == b.Key && a.State == b.State && a.Window == b.Window }) {
				t.Fatal("diff changed the records")
			}
			for range 3 {
				shuffled := slices.Clone(recs)
				rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				if got := plan(shuffled); got != want {
					t.Fatalf("records in another order plan otherwise:\n got %s\nwant %s", got, want)
				}
			}
		})
	}
}
