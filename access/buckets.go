package access

import (
	"cmp"
	"hash/maphash"
	"slices"
)

// bucketSort orders xs in place by key, which is in [0, nb) (an American
// flag sort: linear time, no extra copy), and leaves the start of bucket k
// in bounds[k] (nb+1 entries; bounds[nb] is len(xs)). next is scratch space
// of at least nb entries. With few buckets the places written at once stay
// in the cache, however long xs is.
func bucketSort[T any](xs []T, nb int, key func(*T) int32, bounds, next []int32) {
	clear(bounds[:nb+1])
	for i := range xs {
		bounds[key(&xs[i])+1]++
	}
	for k := 1; k <= nb; k++ {
		bounds[k] += bounds[k-1]
	}
	copy(next, bounds[:nb])
	for k := range int32(nb) {
		for next[k] < bounds[k+1] {
			x := xs[next[k]]
			for bk := key(&x); bk != k; bk = key(&x) {
				x, xs[next[bk]] = xs[next[bk]], x
				next[bk]++
			}
			xs[next[k]] = x
			next[k]++
		}
	}
}

// hashed is a string's hash and the index of its record.
type hashed struct {
	h uint64
	i int32
}

// hashStrings returns the hashes of the non-empty strings str(i), i < n,
// sorted by hash then index: bucketed on the hash's top 8 bits, each large
// bucket again on the next 8 bits, then each bucket, small enough to stay
// in the cache and short however many strings there are, sorted.
func hashStrings(n int, str func(i int) string) []hashed {
	seed := maphash.MakeSeed()
	hs := make([]hashed, 0, n)
	for i := range n {
		if s := str(i); s != "" {
			hs = append(hs, hashed{h: maphash.String(seed, s), i: int32(i)})
		}
	}
	byHash := func(x, y hashed) int {
		if c := cmp.Compare(x.h, y.h); c != 0 {
			return c
		}
		return cmp.Compare(x.i, y.i)
	}
	var bounds, bounds2 [257]int32
	var next [256]int32
	bucketSort(hs, 256, func(x *hashed) int32 { return int32(x.h >> 56) }, bounds[:], next[:])
	for b := range 256 {
		part := hs[bounds[b]:bounds[b+1]]
		if len(part) <= 64 {
			slices.SortFunc(part, byHash)
			continue
		}
		bucketSort(part, 256, func(x *hashed) int32 { return int32(x.h >> 48 & 0xff) }, bounds2[:], next[:])
		for b2 := range 256 {
			slices.SortFunc(part[bounds2[b2]:bounds2[b2+1]], byHash)
		}
	}
	return hs
}

// usableIDs reports, for each of n records with the IDs id(i), whether the
// ID is usable: not empty, and not the ID of an earlier record. It sorts
// hashes rather than filling a map: the work is sequential, and a snapshot
// of millions of records takes little more per record than a small one.
func usableIDs(n int, id func(i int) string) []bool {
	ok := make([]bool, n)
	hs := hashStrings(n, id)
	var firsts []int // the usable records among those of one hash
	for j := 0; j < len(hs); {
		k := j + 1
		for k < len(hs) && hs[k].h == hs[j].h {
			k++
		}
		// hs[j:k] share a hash, in record order: each is usable unless an
		// earlier usable one has its ID. Distinct IDs with one hash are
		// rare, so firsts stays short.
		firsts = firsts[:0]
		for _, x := range hs[j:k] {
			i := int(x.i)
			if !slices.ContainsFunc(firsts, func(f int) bool { return id(f) == id(i) }) {
				ok[i] = true
				firsts = append(firsts, i)
			}
		}
		j = k
	}
	return ok
}
