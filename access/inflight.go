package access

import (
	"context"
	"sync"
	"time"
)

// applyAll applies changes in order and returns the *SystemicError that
// stopped the run, if any. With [WithRequestsInFlight] above 1, a run of
// consecutive deletes, or of consecutive creates, goes out with up to that
// many requests in flight under the client's one rate limiter; everything
// else, replacements above all (a role in force is replaced by delete and
// create only once a create worked, one at a time), goes one change after
// another. A run of deletes ends before the next change starts, so
// revocations still come first; the changes of one email stay in order in
// one lane, so a member's user is created once and each create's intent is
// recorded before its request, as in a run without requests in flight.
func (ru *run) applyAll(ctx context.Context, changes []Change, held bool, now time.Time) *SystemicError {
	n := ru.r.o.inFlight
	// done counts the changes applied, failed, held or left to wait, for
	// WithProgress: in the order they finish, which in flight is not the
	// order of changes.
	done := 0
	for i := 0; i < len(changes); {
		j := i + 1
		if n > 1 && (changes[i].Action == ActionDelete || changes[i].Action == ActionCreate) {
			for j < len(changes) && changes[j].Action == changes[i].Action {
				j++
			}
		}
		var started int
		var stop *SystemicError
		if j-i == 1 {
			started = 1
			stop = ru.applyOne(ctx, changes[i], held, now, &done, len(changes))
		} else {
			started, stop = ru.applyConcurrently(ctx, changes, i, j, held, now, n, &done)
		}
		if stop != nil {
			stop.NotAttempted = len(changes) - i - started
			ru.rep.NotAttempted = stop.NotAttempted
			return stop
		}
		i = j
	}
	return nil
}

// applyOne applies ch, one of the run's total changes, unless the guard
// holds it or it waits for a back-off, and counts it in done once it
// ends (unless it stopped the run).
func (ru *run) applyOne(ctx context.Context, ch Change, held bool, now time.Time, done *int, total int) *SystemicError {
	r := ru.r
	if held && r.holdsCut(ru.guard, ch, ru.recs, now) {
		ch.Held = true
		ru.rep.Held = append(ru.rep.Held, ch)
		*done++
		return nil
	}
	if ru.waiting(ch) {
		*done++
		return nil
	}
	if stop := ru.step(ctx, ch); stop != nil {
		return stop
	}
	*done++
	if r.o.progress != nil {
		r.o.progress(*done, total)
	}
	return nil
}

// applyConcurrently applies changes[from:to] with up to n requests in
// flight, one lane per email (or key) so that one member's changes keep
// their order. The lanes start in the order of their first change. It
// returns how many changes were started or held by the guard, and the
// *SystemicError that stopped them: no lane starts a change after it.
//
// The run's state, done included, is guarded by ru.mu, held by a lane
// throughout except while its Kisi write is in flight (see fencedKisi).
func (ru *run) applyConcurrently(ctx context.Context, changes []Change, from, to int, held bool, now time.Time, n int, done *int) (int, *SystemicError) {
	lanes := make(map[string][]int)
	var order []string
	heldBack := 0
	for k := from; k < to; k++ {
		// The guard's holds first, in order: whether a change is held
		// depends on its own record alone.
		if ch := changes[k]; held && ru.r.holdsCut(ru.guard, ch, ru.recs, now) {
			ch.Held = true
			ru.rep.Held = append(ru.rep.Held, ch)
			heldBack++
			*done++
			continue
		}
		key := changes[k].Email
		if key == "" {
			key = changes[k].Key
		}
		if _, ok := lanes[key]; !ok {
			order = append(order, key)
		}
		lanes[key] = append(lanes[key], k)
	}
	ru.parallel = true
	defer func() { ru.parallel = false }()
	var (
		wg      sync.WaitGroup
		stop    *SystemicError
		started int
	)
	sem := make(chan struct{}, n)
	for _, key := range order {
		sem <- struct{}{}
		ru.mu.Lock()
		halted := stop != nil
		ru.mu.Unlock()
		if halted {
			<-sem
			break
		}
		wg.Add(1)
		go func(idx []int) {
			defer wg.Done()
			defer func() { <-sem }()
			ru.mu.Lock()
			defer ru.mu.Unlock()
			for _, k := range idx {
				if stop != nil {
					return
				}
				started++
				if s := ru.applyOne(ctx, changes[k], false, now, done, len(changes)); s != nil {
					stop = s
					return
				}
			}
		}(lanes[key])
	}
	wg.Wait()
	return heldBack + started, stop
}
