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
	// Each swap puts one element in its bucket for good; the elements are
	// swapped in the slice, never held in a variable whose address key
	// would take (which would put it on the heap).
	for k := range int32(nb) {
		for i := next[k]; i < bounds[k+1]; i = next[k] {
			bk := key(&xs[i])
			if bk == k {
				next[k]++
				continue
			}
			j := next[bk]
			next[bk]++
			xs[i], xs[j] = xs[j], xs[i]
		}
	}
}

// scatterSort orders xs by key, which is in [0, nb) with nb at most 256,
// into a new slice it returns (a counting sort), and leaves the start of
// bucket k in bounds[k] (nb+1 entries). It reads xs in order, twice, and
// writes each element once to the next place of its bucket: unlike
// bucketSort's swaps, no read waits for the write before it, so the work
// goes at the speed of memory rather than of its latency when xs is larger
// than the cache. xs is left as it was.
func scatterSort[T any](xs []T, nb int, key func(*T) int32, bounds []int32) []T {
	keys := make([]uint8, len(xs))
	clear(bounds[:nb+1])
	for i := range xs {
		k := key(&xs[i])
		keys[i] = uint8(k)
		bounds[k+1]++
	}
	for k := 1; k <= nb; k++ {
		bounds[k] += bounds[k-1]
	}
	var next [256]int32
	copy(next[:], bounds[:nb])
	out := make([]T, len(xs))
	for i, k := range keys {
		out[next[k]] = xs[i]
		next[k]++
	}
	return out
}

// hashed is a string's hash and the index of its record.
type hashed struct {
	h uint64
	i int32
}

// usableIDs reports, for each of n records with the IDs id(i), whether the
// ID is usable: not empty, and not the ID of an earlier record.
func usableIDs(n int, id func(i int) string) []bool {
	seed := maphash.MakeSeed()
	hs := make([]uint64, n)
	for i := range n {
		hs[i] = idHash(seed, id(i))
	}
	return usableHashed(hs, id)
}

// idHash is the hash of a record ID that usableHashed takes: 0 for the
// empty ID, never 0 for another.
func idHash(seed maphash.Seed, id string) uint64 {
	if id == "" {
		return 0
	}
	return max(maphash.String(seed, id), 1)
}

// usableHashed is usableIDs given the IDs' hashes hs (see idHash, one seed
// for all), so that a pass over the records that reads them anyway can hash
// their IDs.
//
// It fills no map: a first pass sets, for each ID, one bit of a bitset of
// about 8 bits per record chosen by the ID's hash (see [bitPairs]); an ID
// whose bit was set once is unique. The others (about one in nine) go
// through the same test again with other bits of their hashes, and those
// left (about one in a hundred and fifty, where sorting all the others took
// most of the time) are sorted by hash and compared. The bitsets, about a
// megabyte each for a million records, mostly stay in the cache, and the
// rest of the work is sequential.
func usableHashed(hs []uint64, id func(i int) string) []bool {
	ok := make([]bool, len(hs))
	bits := newBitPairs(len(hs))
	for _, h := range hs {
		if h != 0 {
			bits.set(h)
		}
	}
	// The records whose bit was set more than once: at most about one in
	// eight, as the bitsets have at least 8 bits per record.
	shared := make([]hashed, 0, len(hs)/8)
	for i, h := range hs {
		switch {
		case h == 0:
		case bits.twice(h):
			shared = append(shared, hashed{h: h, i: int32(i)})
		default:
			ok[i] = true
		}
	}
	// A shared record whose hash no other shared record has is unique: the
	// others' hashes differ in the first bits already.
	bits = newBitPairs(len(shared))
	for _, x := range shared {
		bits.set(x.h >> 32)
	}
	left := shared[:0]
	for _, x := range shared {
		if bits.twice(x.h >> 32) {
			left = append(left, x)
		} else {
			ok[x.i] = true
		}
	}
	firstOfEach(left, id, ok)
	return ok
}

// firstOfEach marks usable in ok the records of xs, whose hashes are shared
// with others, whose ID no earlier record of xs has.
func firstOfEach(xs []hashed, id func(i int) string, ok []bool) {
	slices.SortFunc(xs, func(x, y hashed) int {
		if c := cmp.Compare(x.h, y.h); c != 0 {
			return c
		}
		return cmp.Compare(x.i, y.i)
	})
	var firsts []int // the usable records among those of one hash
	for j := 0; j < len(xs); {
		k := j + 1
		for k < len(xs) && xs[k].h == xs[j].h {
			k++
		}
		// xs[j:k] share a hash, in record order: each is usable unless an
		// earlier usable one has its ID. Distinct IDs with one hash are
		// rare, so firsts stays short.
		firsts = firsts[:0]
		for _, x := range xs[j:k] {
			i := int(x.i)
			if !slices.ContainsFunc(firsts, func(f int) bool { return id(f) == id(i) }) {
				ok[i] = true
				firsts = append(firsts, i)
			}
		}
		j = k
	}
}

// bitPairs tells keys whose bit (chosen by the key's low bits) no other key
// sets: a bitset of the bits set once and one of those set more than once,
// about 8 bits per key.
type bitPairs struct {
	once, more []uint64
	mask       uint64
}

// newBitPairs returns bitPairs for n keys.
func newBitPairs(n int) bitPairs {
	bits := 64
	for bits < 8*n {
		bits <<= 1
	}
	return bitPairs{once: make([]uint64, bits/64), more: make([]uint64, bits/64), mask: uint64(bits - 1)}
}

// set sets key's bit.
func (p bitPairs) set(key uint64) {
	b := key & p.mask
	if p.once[b>>6]&(1<<(b&63)) != 0 {
		p.more[b>>6] |= 1 << (b & 63)
	} else {
		p.once[b>>6] |= 1 << (b & 63)
	}
}

// twice reports whether key's bit was set more than once.
func (p bitPairs) twice(key uint64) bool {
	b := key & p.mask
	return p.more[b>>6]&(1<<(b&63)) != 0
}
