package access

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestScatterSort checks scatterSort against a stable comparison sort on
// the key, with the bounds of every bucket, and that it leaves its input
// as it was.
func TestScatterSort(t *testing.T) {
	t.Parallel()
	type item struct{ Key, Pos int32 }
	for _, tc := range []struct{ n, nb int }{{0, 1}, {1, 1}, {10, 3}, {1000, 256}, {70000, 200}} {
		t.Run(fmt.Sprintf("n=%d/buckets=%d", tc.n, tc.nb), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(uint64(tc.n), uint64(tc.nb)))
			xs := make([]item, tc.n)
			for i := range xs {
				xs[i] = item{Key: r.Int32N(int32(tc.nb)), Pos: int32(i)}
			}
			in := slices.Clone(xs)
			want := slices.Clone(xs)
			slices.SortStableFunc(want, func(a, b item) int { return int(a.Key - b.Key) })
			bounds := make([]int32, tc.nb+1)
			got := scatterSort(xs, tc.nb, func(x *item) int32 { return x.Key }, bounds)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(in, xs); diff != "" {
				t.Errorf("input changed (-was +is):\n%s", diff)
			}
			for k := range tc.nb {
				for _, x := range got[bounds[k]:bounds[k+1]] {
					if x.Key != int32(k) {
						t.Fatalf("bucket %d holds key %d", k, x.Key)
					}
				}
			}
			if int(bounds[tc.nb]) != tc.n {
				t.Errorf("bounds end at %d, want %d", bounds[tc.nb], tc.n)
			}
		})
	}
}
