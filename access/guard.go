package access

import (
	"fmt"
	"time"

	"github.com/kisisync/kisisync/access/state"
)

// RevokeLimitError is returned by Apply and Sync when the revoke guard held
// cuts of access back: the run cut more access in force (or entering Kisi
// within the lead time) than the revoke limits allow. Everything else was
// applied; the held cuts are listed in [Report.Held] and marked
// [Change.Held]. Review them, then call [Changes.Approve] and Apply the
// plan, or fix the snapshot.
//
// The guard protects against a broken upstream, not against routine life:
// cuts whose sources vanished from the snapshot count toward Limit, and all
// cuts, explained by records still present or not, toward ExplainedLimit.
type RevokeLimitError struct {
	// Organization is the organization the changes were planned for.
	Organization string `json:"organization"`
	// Revocations is how many cuts were held: Vanished of them had every
	// source gone from the snapshot, Explained a source still in it.
	Revocations int `json:"revocations"`
	Vanished    int `json:"vanished"`
	Explained   int `json:"explained"`
	// Managed is the number of grants and links managed in force or still
	// to come: the base of the limits.
	Managed int `json:"managed"`
	// Limit is the share of Managed a run may cut when the sources
	// vanished (0.25 is 25%), ExplainedLimit the share of all cuts, and
	// Floor the count a run may always cut.
	Limit          float64 `json:"limit"`
	ExplainedLimit float64 `json:"explained_limit"`
	Floor          int     `json:"floor"`
}

// Error implements error. It says what was held and why: a snapshot that
// lost records only when sources vanished.
func (e *RevokeLimitError) Error() string {
	limit := fmt.Sprintf("%.0f%% of managed access for all cuts", e.ExplainedLimit*100)
	advice := "check that the platform meant to end this access (cancelled plans, End dates, check-outs)"
	why := fmt.Sprintf("%d explained by records still in the snapshot", e.Explained)
	if e.Vanished > 0 {
		why = fmt.Sprintf("%d whose sources vanished from the snapshot, %s", e.Vanished, why)
		advice = "check that the snapshot is complete"
		if float64(e.Vanished) > e.Limit*float64(e.Managed) {
			limit = fmt.Sprintf("%.0f%% of managed access for vanished sources", e.Limit*100)
		}
	}
	return fmt.Sprintf("access: held %d cuts of access for %q (%s) of %d managed grants and links, "+
		"above the revoke limit (%s, beyond %d); everything else was applied: %s, then approve the plan to apply them",
		e.Revocations, e.Organization, why, e.Managed, limit, e.Floor, advice)
}

// guardCount is the revoke guard's count of one plan's cuts against the Store.
type guardCount struct {
	vanished, explained, managed int
}

// cut returns how ch cuts access according to the Store's records: the
// plan's own classification, except that a delete of a record in force is
// always a cut (vanished unless the plan says otherwise), and a change
// whose record is not live cuts nothing.
func cut(ch Change, recs map[string]state.Record, now time.Time, lead time.Duration) CutKind {
	rec, ok := recs[ch.Key]
	switch ch.Action {
	case ActionDelete:
		if ok && (!live(rec, now) || !due(rec.Window, now, lead) && !sentLink(rec)) {
			return ""
		}
		if ch.Cut == "" {
			return CutVanished
		}
		return ch.Cut
	case ActionReplace:
		if ok && !live(rec, now) {
			return ""
		}
		return ch.Cut
	}
	return ""
}

// guarded reports whether the guard judges a cut of kind k: every cut but
// one a record explicitly asks for.
func guarded(k CutKind) bool { return k == CutVanished || k == CutExplained }

// judge counts the cuts of c and the managed access, from the Store's
// records rather than from c's own counts.
func (r *Reconciler) judge(c *Changes, recs map[string]state.Record, now time.Time) guardCount {
	v := r.judgeCuts(c, recs, now)
	for _, rec := range recs {
		if r.inBase(rec, now) {
			v.managed++
		}
	}
	return v
}

// inBase reports whether rec is part of the access the guard's limits are
// shares of: access in force or entering Kisi within the lead time. Links
// and roles further ahead (guests booked for next week) would dilute them.
func (r *Reconciler) inBase(rec state.Record, now time.Time) bool {
	return live(rec, now) && due(rec.Window, now, r.p.Lead)
}

// judgeCuts counts the cuts of c, and the managed access its adoptions
// add, from the Store's records of its changes' keys (recs may hold only
// those).
func (r *Reconciler) judgeCuts(c *Changes, recs map[string]state.Record, now time.Time) guardCount {
	var v guardCount
	for _, ch := range c.Changes {
		if ch.Action == ActionAdopt && ch.Window != nil && !ended(*ch.Window, now) && due(*ch.Window, now, r.p.Lead) {
			v.managed++
		}
		switch cut(ch, recs, now, r.p.Lead) {
		case CutVanished:
			v.vanished++
		case CutExplained:
			v.explained++
		}
	}
	return v
}

// holds reports whether the guard holds the cuts of c.
func (r *Reconciler) holds(c *Changes, v guardCount) bool {
	if c.Approved || r.o.approveAll {
		return false
	}
	over := func(n int, share float64) bool {
		return n > r.o.revokeFloor && float64(n) > share*float64(v.managed)
	}
	return over(v.vanished, r.o.revokeLimit) || over(v.vanished+v.explained, r.o.explainedLimit)
}

// limitError describes a held run.
func (r *Reconciler) limitError(v guardCount) *RevokeLimitError {
	return &RevokeLimitError{Organization: r.o.org, Revocations: v.vanished + v.explained, Vanished: v.vanished,
		Explained: v.explained, Managed: v.managed, Limit: r.o.revokeLimit, ExplainedLimit: r.o.explainedLimit,
		Floor: r.o.revokeFloor}
}

// markHeld marks the cuts of c the guard holds, for the plan's reader.
// recs are the Store's records, one per key.
func (r *Reconciler) markHeld(c *Changes, recs []state.Record) {
	// The cuts depend only on the records of the changes' keys.
	keys := make(map[string]struct{}, len(c.Changes))
	for i := range c.Changes {
		keys[c.Changes[i].Key] = struct{}{}
	}
	byKey := make(map[string]state.Record, len(keys))
	managed := 0
	for i := range recs {
		if r.inBase(recs[i], c.At) {
			managed++
		}
		if _, ok := keys[recs[i].Key]; ok {
			byKey[recs[i].Key] = recs[i]
		}
	}
	v := r.judgeCuts(c, byKey, c.At)
	v.managed += managed
	if !r.holds(c, v) {
		return
	}
	for i := range c.Changes {
		if guarded(cut(c.Changes[i], byKey, c.At, r.p.Lead)) {
			c.Changes[i].Held = true
			c.Held++
		}
	}
}
