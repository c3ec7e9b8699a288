package access

import (
	"context"
	"slices"
	"time"

	"github.com/kisisync/kisisync/mapping"
)

// IncrementalDesired computes the desired access of successive snapshots as
// a Reconciler's plan does: incrementally from what it kept of the last
// one, or in full when it cannot (see incremental.go).
type IncrementalDesired struct {
	m mapping.Mapping
	p Policy
	c *compiled
	// Incremental and Full count the steps computed each way.
	Incremental, Full int
}

// NewIncrementalDesired returns an IncrementalDesired that keeps nothing yet.
func NewIncrementalDesired(m mapping.Mapping, p Policy) *IncrementalDesired {
	return &IncrementalDesired{m: m, p: p}
}

// At returns the grants, links, record errors and next change of s at now.
func (d *IncrementalDesired) At(s Snapshot, now time.Time) (grants []Grant, links []Link, errs []error, next time.Time, ok bool) {
	if d.c != nil {
		if out, ok := d.c.update(&s, now); ok {
			d.Incremental++
			return out.grants, out.links, out.errs, out.next, out.nextOK
		}
	}
	d.Full++
	ix := newIndex(&s, d.m, d.p)
	errs = slices.Clone(ix.errs)
	e := engineOn(ix, d.m, d.p, leadHorizon(now, d.p), -1)
	e.errs = &errs
	e.follow = true
	e.generateFixed()
	fixed := &engine{pieces: append(make([]piece, 0, len(e.pieces)+4*len(s.Assignments)), e.pieces...), dropIns: e.dropIns}
	e.admitAssignments()
	grants = e.merge(true)
	links = e.links(now)
	col := &edges{}
	next, ok = nextChange(ix, d.m, d.p, now, fixed, col)
	d.c = compile(ix, d.m, d.p, now, grants, links, errs, col)
	return grants, links, errs, next, ok
}

// SetIncremental turns incremental plans of r on or off.
func SetIncremental(r *Reconciler, on bool) {
	r.incremental = on
	r.compiled.Store(nil)
}

// PlanChanges is r's plan of s, without the roles a create would replace.
func PlanChanges(ctx context.Context, r *Reconciler, s Snapshot) (*Changes, error) {
	c, _, err := r.plan(ctx, s)
	return c, err
}
