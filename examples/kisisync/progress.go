package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/term"

	"github.com/kisisync/kisisync/internal/textfmt"
)

// kisiRate is Kisi's limit of requests per second per user; the client
// paces itself to it, so it bounds how fast an apply can go.
const kisiRate = 5

// isTerminal reports whether w is a terminal (not /dev/null, which is a
// character device too, nor a file or a pipe).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// counter is the base transport of the Kisi client: it counts the requests
// that go out, every attempt of every call (retries included), and the
// answers 429 Too Many Requests the client absorbed by waiting and trying
// again. It is safe for concurrent use.
type counter struct {
	base              http.RoundTripper
	requests, limited atomic.Int64
}

func newCounter() *counter {
	base := http.DefaultTransport
	if t, ok := base.(*http.Transport); ok {
		base = t.Clone()
	}
	return &counter{base: base}
}

// RoundTrip implements http.RoundTripper.
func (c *counter) RoundTrip(req *http.Request) (*http.Response, error) {
	c.requests.Add(1)
	resp, err := c.base.RoundTrip(req)
	if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
		c.limited.Add(1)
	}
	return resp, err
}

// counts returns the requests sent and the 429s absorbed so far; zero for a
// nil counter.
func (c *counter) counts() (requests, limited int64) {
	if c == nil {
		return 0, 0
	}
	return c.requests.Load(), c.limited.Load()
}

// progress shows how far an apply is, as the reconciler reports it (see
// access.WithProgress): on a terminal one line redrawn in place, otherwise a
// plain line at the first change, at every tenth of the way and at least
// every progressEvery. The reconciler reports from one
// goroutine, one call at a time. A nil progress shows nothing.
//
// The time left counts requests, not changes: a change costs one request
// (a delete) to three or more (a create for a member without a Kisi user:
// the user's lookup, its creation, the role), and a 429 costs one more.
// The requests still to come are the changes left times the requests per
// change so far; they take their number divided by the client's pace.
type progress struct {
	w     io.Writer
	term  bool
	clock clockwork.Clock
	reqs  *counter
	pace  float64 // the client's requests per second
	start time.Time
	// req0, lim0 are the counts when the apply began.
	req0, lim0 int64

	done, total int
	lastStep    int
	lastAt      time.Time // when the last plain line was printed
}

// progressEvery is the longest a log goes without a progress line: at
// Kisi's pace a tenth of a large apply takes minutes.
const progressEvery = 30 * time.Second

// newProgress returns a progress writing to w that reads the requests of
// reqs (nil: none counted) and assumes the client sends pace requests per
// second.
func newProgress(w io.Writer, term bool, clock clockwork.Clock, reqs *counter, pace float64) *progress {
	return &progress{w: w, term: term, clock: clock, reqs: reqs, pace: pace, start: clock.Now()}
}

// begin starts the clock of the rate and the count of the requests.
func (p *progress) begin() {
	if p != nil {
		p.start = p.clock.Now()
		p.lastAt = p.start
		p.req0, p.lim0 = p.reqs.counts()
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
	if total <= 10 || done == 1 || step != p.lastStep || done == total || p.clock.Since(p.lastAt) >= progressEvery {
		p.lastStep, p.lastAt = step, p.clock.Now()
		fmt.Fprintln(p.w, p.status())
	}
}

// finish ends the progress line on a terminal.
func (p *progress) finish() {
	if p != nil && p.term && p.done > 0 {
		fmt.Fprintln(p.w)
	}
}

// requestsLeft estimates the requests still to come: the changes left times
// the requests per change so far.
func (p *progress) requestsLeft() int64 {
	req, _ := p.reqs.counts()
	sent := req - p.req0
	if p.done == 0 || sent <= 0 {
		return int64(p.total - p.done)
	}
	return (sent*int64(p.total-p.done) + int64(p.done)/2) / int64(p.done)
}

// status renders "applied 500/5000 changes, 1510 requests (2 answered 429,
// retried), 4.9/s; about 13590 more requests, 45 minutes at 5/s".
func (p *progress) status() string {
	req, lim := p.reqs.counts()
	s := fmt.Sprintf("applied %d/%d changes", p.done, p.total)
	if p.reqs != nil {
		s += ", " + textfmt.Plural(int(req-p.req0), "request", "requests")
		if n := lim - p.lim0; n > 0 {
			s += fmt.Sprintf(" (%d answered 429, retried)", n)
		}
		if el := p.clock.Since(p.start); el >= time.Second {
			s += fmt.Sprintf(", %.1f/s", float64(req-p.req0)/el.Seconds())
		}
	}
	if p.total-p.done > 0 && p.pace > 0 {
		left := p.requestsLeft()
		t := time.Duration(float64(left) / p.pace * float64(time.Second))
		s += fmt.Sprintf("; about %s, %s at %s/s", textfmt.Plural(int(left), "more request", "more requests"), eta(t), strconv.FormatFloat(p.pace, 'f', -1, 64))
	}
	return s
}

// eta renders a time left: "less than a second", seconds below a minute
// ("11 seconds"), else as
// textfmt.Duration does ("41 minutes", "1 hour 5 minutes").
func eta(d time.Duration) string {
	if d < time.Second/2 {
		return "less than a second"
	}
	if d < time.Minute-time.Second/2 {
		return textfmt.Plural(int(d.Round(time.Second)/time.Second), "second", "seconds")
	}
	return textfmt.Duration(d)
}
