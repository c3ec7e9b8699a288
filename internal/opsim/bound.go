package opsim

import (
	"maps"
	"net/http"
	"slices"

	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/kisi"
)

// The request bound of one run (invariant 3: "a run costs at most the
// changes it plans plus a bounded number of reads"). Every call the
// reconciler makes is sent at most attemptsPerCall times (the client's
// first attempt and its retries). A run makes at most one full listing of
// the organization (a Sync on an empty Store, or one that took over an
// expired lease, verifies before it writes; Verify is one), at most
// callsPerIntent lookups for each intent left pending by an earlier run,
// and at most callsPerChange calls for each change it applies or fails:
// the write or the two of a replacement, a user lookup and a user create,
// the look-up of the role that refused a create, and the read of a group
// that answered 404. One write key (a user, a (user, group), a link, an
// object) is written by at most callsPerKey calls in a run: a change and
// the restore of the old window, or a revocation and the clean-up of the
// same object.
const (
	attemptsPerCall = kisi.DefaultRetryMax + 1
	callsPerIntent  = 2
	callsPerChange  = 6
	callsPerKey     = 2
)

// listingCost is the number of calls one full listing of the organization
// makes, as Verify makes it: the users' pages, and per group the pages of
// its roles and of its links, and one read of the group itself.
func (w *world) listingCost() int {
	pages := func(n, per int) int { return max(1, (n+per-1)/per) }
	roles, links := map[int64]int{}, map[int64]int{}
	for _, hs := range w.obs.holds {
		for _, h := range hs {
			if h.link {
				links[h.group]++
			} else {
				roles[h.group]++
			}
		}
	}
	cost := pages(len(w.obs.users), kisi.MaxLimitUsers)
	for g := range w.groupName {
		cost += pages(roles[g], kisi.MaxLimit) + pages(links[g], kisi.MaxLimit) + 1
	}
	return cost
}

// requestBound checks the requests the processes sent in run n against the
// bound above, for a run that applied changes of which the report counts
// changes and began with pending intents in the Store.
func (c *checker) requestBound(n, changes, pending int) {
	w := c.w
	sent := 0
	perKey := map[string]int{}
	for _, s := range w.log {
		if s.run != n {
			continue
		}
		sent++
		if s.method != http.MethodGet {
			perKey[s.key]++
		}
	}
	bound := attemptsPerCall * (w.listingCost() + callsPerIntent*pending + callsPerChange*changes)
	if sent > bound {
		w.violate(3, "run %d sent %d requests, over the bound of %d (%d pending intents, %d changes applied or failed)",
			n, sent, bound, pending, changes)
	}
	for _, key := range slices.Sorted(maps.Keys(perKey)) {
		if perKey[key] > callsPerKey*attemptsPerCall {
			w.violate(3, "run %d wrote %q %d times, over the bound of %d", n, key, perKey[key], callsPerKey*attemptsPerCall)
		}
	}
}

// pendingIntents counts the intents in the Store: creates whose outcome a
// run must look up.
func (w *world) pendingIntents() int {
	recs, err := w.store.cur.Load(w.ctx, org)
	if err != nil {
		return 0
	}
	n := 0
	for _, r := range recs {
		if r.State == state.StatePending {
			n++
		}
	}
	return n
}
