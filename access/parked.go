package access

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/internal/kisiglue"
	"github.com/kisisync/kisisync/internal/textfmt"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/schedule"
)

// parks are the park records a plan honours.
type parks struct {
	users     map[string]state.Record // Kisi users whose create failed, by email
	groups    map[int64]state.Record  // groups found deleted in Kisi
	forbidden map[string]state.Record // roles or links of groups Kisi refused the API key on (403), by key
	changes   map[string]state.Record // by the key of the parked change
	quota     state.Record            // Kisi's email-link quota found full (Key empty if not)
}

// parkRecords collects the park records of in.recs still in force, and
// plans forgetting the others: a change no longer wanted, a group parked
// under another mapping.
func parkRecords(c *Changes, in diffInput, want []wantEntry, store *[]Change) parks {
	p := parks{users: map[string]state.Record{}, groups: map[int64]state.Record{}, forbidden: map[string]state.Record{},
		changes: map[string]state.Record{}}
	held := map[string]bool{} // the keys of the objects the Store records
	for _, rec := range in.recs {
		if rec.Kind == state.KindRole || rec.Kind == state.KindLink {
			held[rec.Key] = true
		}
	}
	for _, rec := range in.recs {
		if rec.Kind != state.KindPark {
			continue
		}
		key, isChange := strings.CutPrefix(rec.Key, "park/")
		switch {
		case rec.Class == FailureMissing && rec.Key == groupParkKey(rec.GroupID, in.mappingFP):
			p.groups[rec.GroupID] = rec
		case rec.Class == FailureForbidden && strings.HasPrefix(rec.Key, "park/forbidden/"):
			// Kept until a write to the group succeeds.
			p.forbidden[rec.Key] = rec
		case rec.Key == orgParkKey:
			// Kept until a run of the organization succeeds.
		case rec.Key == patchParkKey:
			// Kept: Kisi does not PATCH windows in this organization.
		case rec.Key == patchVerifiedKey:
			// Kept until a Verify finds a window other than recorded.
		case rec.Key == quotaParkKey:
			// Kept until a link beyond linkHorizon fits (see createLink).
			p.quota = rec
		case rec.Key == createsFailingKey:
			// Kept until a create works (see creates.go).
		case rec.Key == runMarkKey:
			// Kept until a run verifies (see Sync).
		case rec.Key == writtenKey:
			// Kept: the count of runs that wrote to Kisi (see restored).
		case strings.HasPrefix(rec.Key, "park/user/"):
			// Kept until the user is created or found.
			p.users[rec.Email] = rec
		case (rec.Class == FailureTransient || rec.Class == FailureForbidden) && isChange && held[key]:
			// A failing delete backs off too (see run.waiting): kept while
			// its object is.
		case rec.Class != FailureMissing && isChange && isWanted(want, key):
			p.changes[key] = rec
		case (rec.Class == FailureTransient || rec.Class == FailureUnknown || rec.Class == FailureRefused || rec.Class == FailureQuota) &&
			isChange && in.now.Before(rec.RetryAt.Add(in.keepParks)):
			// Failing, and not wanted by this snapshot (an export that
			// misses it, or a window that comes and goes): its back-off is
			// kept a while, so that if it comes back it goes on backing off
			// instead of starting again.
		default:
			*store = append(*store, Change{Action: ActionForget, Object: ObjectPark, Key: rec.Key, Email: rec.Email,
				GroupID: rec.GroupID, Reason: "parked change no longer relevant"})
		}
	}
	return p
}

// isWanted reports whether want, in key order, holds key.
func isWanted(want []wantEntry, key string) bool {
	_, ok := slices.BinarySearchFunc(want, key, func(w wantEntry, k string) int { return strings.Compare(w.key, k) })
	return ok
}

// hold takes out of creates those parked: in a group deleted in Kisi or
// whose back-off after a 403 still runs, or whose key (user and group, or
// link) failed with back-off still running. A key Kisi refused (a 422 on
// its window) is held for a window with the same start (its end may move
// at every export) or any window not yet in force; a window in force that
// starts elsewhere goes through, as Kisi may accept it, so that a member
// without a role gets one at once. A key that failed otherwise (a server error) waits whatever its
// window: the window moves, the failure does not.
func (p parks) hold(c *Changes, creates []Change, now time.Time) []Change {
	out := creates[:0]
	for _, ch := range creates {
		// A group's park record names no one (or the first member that
		// found it): each change parked with it names its own member.
		if rec, ok := p.groups[ch.GroupID]; ok {
			rec.Email = ch.Email
			c.Parked = append(c.Parked, parkedOf(ch.Object, ch.Key, rec))
			continue
		}
		if rec, ok := p.forbidden[forbiddenKey(ch.GroupID, ch.Object)]; ok && now.Before(rec.RetryAt) {
			rec.Email = ch.Email
			c.Parked = append(c.Parked, parkedOf(ch.Object, ch.Key, rec))
			c.retries = earliest(c.retries, rec.RetryAt)
			continue
		}
		if rec, ok := p.users[ch.Email]; ok && ch.Object == ObjectGrant && now.Before(rec.RetryAt) {
			c.Parked = append(c.Parked, parkedOf(ch.Object, ch.Key, rec))
			c.retries = earliest(c.retries, rec.RetryAt)
			continue
		}
		if rec, ok := p.changes[ch.Key]; ok && now.Before(rec.RetryAt) &&
			(rec.Class != FailureRefused || sameWanted(rec.Window, ch) || ch.Window.Start.After(now) ||
				kisiglue.SameInstant(rec.Window.Start, ch.Window.Start)) {
			c.Parked = append(c.Parked, parkedOf(ch.Object, ch.Key, rec))
			c.retries = earliest(c.retries, rec.RetryAt)
			continue
		}
		out = append(out, ch)
	}
	return out
}

// holdReplacements takes out of replaces the renewals and extensions Kisi
// refused (a PATCH, or the create of the new window: FailureRefused), while their back-off
// runs and for the same wanted window: the role Kisi holds stays as it was,
// valid for days. A replacement that cuts access is not held here; the
// guard judges it.
func (p parks) holdReplacements(c *Changes, replaces []Change, now time.Time) []Change {
	out := replaces[:0]
	for _, ch := range replaces {
		if rec, ok := p.changes[ch.Key]; ok && rec.Class == FailureRefused && ch.Cut == "" && now.Before(rec.RetryAt) && sameWanted(rec.Window, ch) {
			c.Parked = append(c.Parked, parkedOf(ch.Object, ch.Key, rec))
			c.retries = earliest(c.retries, rec.RetryAt)
			continue
		}
		out = append(out, ch)
	}
	return out
}

// sameWanted reports whether a parked change's window asks for the same
// access as ch: the same window, or for a rolling window (whose end moves
// with the clock) the same start.
func sameWanted(parked schedule.Interval, ch Change) bool {
	if ch.Rolling {
		return kisiglue.SameInstant(parked.Start, ch.Window.Start)
	}
	return kisiglue.SameWindow(parked, *ch.Window)
}

// quota keeps Kisi's email-link quota for the soonest guests: once the
// email links after the plan would reach the warning level, or while Kisi
// refused a link for its quota (full, a park record), links for bookings
// starting beyond linkHorizon wait (parked until they come within it, or
// the refusal's back-off ends), the soonest first to get room.
func quota(c *Changes, view []viewEntry, revokes, cleanups, creates []Change, in diffInput, full state.Record) []Change {
	links := 0
	for _, v := range view {
		if rec := v.rec; rec != nil && rec.Kind == state.KindLink && rec.Email != "" && rec.State == state.StateSettled {
			links++
		}
	}
	for _, part := range [][]Change{revokes, cleanups} {
		for _, ch := range part {
			if ch.Object == ObjectLink && ch.Email != "" {
				links--
			}
		}
	}
	slices.SortStableFunc(creates, func(a, b Change) int { return a.Window.Start.Compare(b.Window.Start) })
	horizon := in.now.Add(linkHorizon)
	refused := full.Key != "" && in.now.Before(full.RetryAt)
	out := creates[:0]
	for _, ch := range creates {
		if ch.Object != ObjectLink || ch.Email == "" {
			out = append(out, ch)
			continue
		}
		if ch.Window.Start.After(horizon) && (links >= in.linkWarn || refused) {
			retry := ch.Window.Start.Add(-linkHorizon)
			reason := fmt.Sprintf("%d email links in use, near Kisi's limit of %d: created %s before the booking", links, kisi.EmailLinkLimit, textfmt.Duration(linkHorizon))
			if refused {
				retry = earliest(retry, full.RetryAt)
				reason = fmt.Sprintf("Kisi's email-link quota is full (it counts links kisisync did not make): created %s before the booking, or once a link fits again", textfmt.Duration(linkHorizon))
			}
			c.Parked = append(c.Parked, Parked{Object: ObjectLink, Key: ch.Key, Email: ch.Email, GroupID: ch.GroupID,
				Class: FailureQuota, RetryAt: retry, Reason: reason})
			c.retries = earliest(c.retries, retry)
			continue
		}
		links++
		out = append(out, ch)
	}
	return out
}
