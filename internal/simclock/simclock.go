// Package simclock is a discrete-event clock for simulations: a clockwork
// fake clock that moves itself by every wait.
package simclock

import (
	"time"

	"github.com/jonboulle/clockwork"
)

// Clock is a clockwork fake clock whose every wait (a timer, Sleep, After)
// advances it by the wait at once. Where everything runs one request at a
// time, it is a discrete-event clock: rate limiters, back-off and a fake
// server's token buckets see time pass exactly as it would, without any
// real waiting.
type Clock struct{ *clockwork.FakeClock }

// New returns a Clock at t.
func New(t time.Time) *Clock { return &Clock{FakeClock: clockwork.NewFakeClockAt(t)} }

// NewTimer returns a timer that has already fired: the clock moved by d.
func (c *Clock) NewTimer(d time.Duration) clockwork.Timer {
	t := c.FakeClock.NewTimer(d)
	c.FakeClock.Advance(max(d, 0))
	return t
}

// After returns a channel that has already received: the clock moved by d.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	ch := c.FakeClock.After(d)
	c.FakeClock.Advance(max(d, 0))
	return ch
}

// Sleep moves the clock by d.
func (c *Clock) Sleep(d time.Duration) { c.FakeClock.Advance(max(d, 0)) }

// AdvanceTo moves the clock forward to t; a t in the past changes nothing.
func (c *Clock) AdvanceTo(t time.Time) {
	if d := t.Sub(c.Now()); d > 0 {
		c.Advance(d)
	}
}
