package memstore_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/memstore"
	"github.com/kisisync/kisisync/access/state"
)

// TestLoadAfterPutsAndDeletes: whatever order records are put and deleted
// in, Load returns exactly the records last put, sorted by key.
func TestLoadAfterPutsAndDeletes(t *testing.T) {
	t.Parallel()
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 1))
			st := memstore.New()
			now := time.Date(2026, time.June, 10, 12, 0, 0, 0, time.UTC)
			token, err := st.Lease(t.Context(), "org", "run", now, now.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]state.Record{}
			for op := range 400 {
				key := fmt.Sprintf("role/%d/m%d", rng.IntN(5), rng.IntN(40))
				switch rng.IntN(4) {
				case 0:
					if err := st.Delete(t.Context(), "org", token, key); err != nil {
						t.Fatal(err)
					}
					delete(want, key)
				case 1:
					recs, err := st.Load(t.Context(), "org")
					if err != nil {
						t.Fatal(err)
					}
					wantRecs := make([]state.Record, 0, len(want))
					for _, r := range want {
						wantRecs = append(wantRecs, r)
					}
					slices.SortFunc(wantRecs, func(a, b state.Record) int { return strings.Compare(a.Key, b.Key) })
					if diff := cmp.Diff(wantRecs, recs); diff != "" {
						t.Fatalf("op %d: Load (-want +got):\n%s", op, diff)
					}
				default:
					rec := state.Record{Key: key, Kind: state.KindRole, KisiID: int64(op + 1),
						Sources: []access.Source{{Kind: access.KindPlan, ID: fmt.Sprint(op)}}}
					if err := st.Put(t.Context(), "org", token, rec); err != nil {
						t.Fatal(err)
					}
					want[key] = rec
				}
			}
		})
	}
}
