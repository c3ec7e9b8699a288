package access

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestUsableIDsMany checks usableIDs against a map on many IDs, enough
// that many share a bit of its bitsets: the first record of each non-empty
// ID is usable, the others not.
func TestUsableIDsMany(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 7, 100, 5000, 40000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(n), 3))
			ids := make([]string, n)
			for i := range ids {
				switch rng.IntN(10) {
				case 0:
					ids[i] = ""
				case 1, 2:
					ids[i] = fmt.Sprint("dup-", rng.IntN(n/10+1))
				default:
					ids[i] = fmt.Sprint("id-", i)
				}
			}
			want := make([]bool, n)
			seen := map[string]bool{}
			for i, id := range ids {
				want[i] = id != "" && !seen[id]
				seen[id] = true
			}
			got := usableIDs(n, func(i int) string { return ids[i] })
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("usableIDs (-want +got):\n%s", diff)
			}
		})
	}
}
