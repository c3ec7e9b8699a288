package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jonboulle/clockwork"
)

// kisiRate is Kisi's limit of requests per second per user; the client
// paces itself to it, so it bounds how fast an apply can go.
const kisiRate = 5

// isTerminal reports whether w is a character device (a terminal), using
// only the standard library.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress shows how far an apply is, as the reconciler reports it (see
// access.WithProgress): on a terminal one line redrawn in place, otherwise a
// plain line at every tenth of the way. The reconciler reports from one
// goroutine, one call at a time. A nil progress shows nothing.
type progress struct {
	w     io.Writer
	term  bool
	clock clockwork.Clock
	start time.Time

	done, total int
	lastStep    int
}

func newProgress(w io.Writer, term bool, clock clockwork.Clock) *progress {
	return &progress{w: w, term: term, clock: clock, start: clock.Now()}
}

// begin starts the clock of the rate and of the time left.
func (p *progress) begin() {
	if p != nil {
		p.start = p.clock.Now()
	}
}

// update records that done of total changes are applied.
func (p *progress) update(done, total int) {
	if p == nil {
		return
	}
	p.done, p.total = done, total
	if p.term {
		fmt.Fprintf(p.w, "\r\033[K%s", p.status())
		return
	}
	step := done * 10 / max(total, 1)
	if total <= 10 || step != p.lastStep || done == total {
		p.lastStep = step
		fmt.Fprintln(p.w, p.status())
	}
}

// finish ends the progress line on a terminal.
func (p *progress) finish() {
	if p != nil && p.term && p.done > 0 {
		fmt.Fprintln(p.w)
	}
}

// status renders "applied 120/400 changes, 4.9/s, about 56s left". The time
// left assumes one Kisi request per change at Kisi's rate; a replacement
// takes two.
func (p *progress) status() string {
	s := fmt.Sprintf("applied %d/%d changes", p.done, p.total)
	if el := p.clock.Since(p.start); el >= time.Second {
		s += fmt.Sprintf(", %.1f/s", float64(p.done)/el.Seconds())
	}
	if left := p.total - p.done; left > 0 {
		s += ", about " + (time.Duration(left) * time.Second / kisiRate).Round(time.Second).String() + " left"
	}
	return s
}
