package access

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/kisisync/kisisync/schedule"
)

// TestSortPieces checks the bucket sort of pieces against one comparison
// sort, for numbers of members below, at and well above the 256 buckets of
// its first round.
func TestSortPieces(t *testing.T) {
	for _, members := range []int{1, 7, 256, 257, 1000, 70000} {
		t.Run(fmt.Sprintf("members=%d", members), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(members), 1))
			ix := &index{rank: make([]int32, members)}
			// Ranks are a permutation of the canonical indexes.
			ix.byRank = make([]int32, members)
			for i, c := range r.Perm(members) {
				ix.byRank[i] = int32(c)
				ix.rank[c] = int32(i)
			}
			ps := make([]piece, 5*members)
			for i := range ps {
				ps[i] = piece{start: r.Int64N(50), startNs: r.Int32N(2), end: 100, group: r.Int64N(3),
					member: r.Int32N(int32(members)), src: pieceSrc(uint8(r.IntN(6)), i)}
			}
			want := slices.Clone(ps)
			slices.SortFunc(want, func(a, b piece) int {
				if c := cmp.Compare(ix.rank[a.member], ix.rank[b.member]); c != 0 {
					return c
				}
				return cmpPiece(a, b)
			})
			e := &engine{ix: ix, pieces: ps, horizon: schedule.Interval{Start: time.Unix(0, 0), End: time.Unix(1000, 0)}}
			got := e.sortPieces()
			if len(got) != len(want) {
				t.Fatalf("sortPieces returned %d pieces, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("piece %d: got %+v, want %+v", i, got[i], want[i])
				}
			}
		})
	}
}

// TestUsableIDs checks usableIDs against a map: the first record of each
// non-empty ID is usable, and no other.
func TestUsableIDs(t *testing.T) {
	many := make([]string, 5000)
	for i := range many {
		many[i] = fmt.Sprintf("id%d", i%1234)
	}
	same := slices.Repeat([]string{"x"}, 3000)
	for _, tc := range []struct {
		name string
		ids  []string
	}{
		{"none", nil},
		{"distinct", []string{"a", "b", "c"}},
		{"empty and repeated", []string{"", "a", "", "b", "a", "b", "c", "a"}},
		{"many repeats", many},
		{"all the same", same},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := make([]bool, len(tc.ids))
			seen := map[string]bool{}
			for i, id := range tc.ids {
				want[i] = id != "" && !seen[id]
				seen[id] = true
			}
			got := usableIDs(len(tc.ids), func(i int) string { return tc.ids[i] })
			if !slices.Equal(got, want) {
				t.Errorf("usableIDs(%q) = %v, want %v", tc.ids, got, want)
			}
		})
	}
}
