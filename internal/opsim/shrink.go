package opsim

import (
	"context"
	"slices"
	"time"
)

// Shrink removes events from h, which failed with v, as long as the
// history left still breaks the same invariant (and is the same known
// defect, if v is one): first large runs of
// events, then smaller ones down to single events (delta debugging). It
// returns the shortest history found and its violation. To shrink a known
// defect's violation, pass Options without that defect in Known.
func Shrink(ctx context.Context, h History, v *Violation, o Options) (History, *Violation, error) {
	best, bestV := h, v
	d := knownDefect(Known, v)
	same := func(got *Violation) bool {
		if d != nil {
			return d.matches(got)
		}
		return got.Invariant == v.Invariant
	}
	// Nothing after the violation matters: end the history on its day.
	if days := int(v.At.Sub(h.Start)/(24*time.Hour)) + 1; days < h.Days {
		try := h
		try.Days = days
		try.Events = slices.DeleteFunc(slices.Clone(h.Events), func(e Event) bool { return h.Start.Add(time.Duration(e.At)).After(v.At) })
		if res, err := Run(ctx, try, o); err == nil && res.Violation != nil && same(res.Violation) {
			best, bestV = try, res.Violation
		}
	}
	for chunk := len(best.Events) / 2; chunk >= 1; {
		removed := false
		for i := 0; i+chunk <= len(best.Events); {
			if ctx.Err() != nil {
				return best, bestV, ctx.Err()
			}
			try := best.without(i, i+chunk)
			res, err := Run(ctx, try, o)
			if err != nil {
				return best, bestV, err
			}
			if got := res.Violation; got != nil && same(got) {
				best, bestV, removed = try, got, true
				continue // the same i now names the next events
			}
			i += chunk
		}
		if !removed || chunk == 1 {
			if chunk == 1 {
				break
			}
			chunk /= 2
		}
	}
	return best, bestV, nil
}
