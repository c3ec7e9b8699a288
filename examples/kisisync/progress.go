package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
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

// progress shows how far an apply is: on a terminal one line redrawn in
// place, otherwise a plain line at every tenth of the way.
type progress struct {
	w     io.Writer
	term  bool
	clock clockwork.Clock
	start time.Time
	total int

	mu       sync.Mutex
	done     int
	lastStep int
}

// writes counts the Kisi writes applying c takes: one per create or delete,
// two per replacement (delete, then create).
func writes(c *access.Changes) int {
	return c.Count(access.ActionCreate) + c.Count(access.ActionDelete) + 2*c.Count(access.ActionReplace)
}

func newProgress(w io.Writer, term bool, clock clockwork.Clock, total int) *progress {
	return &progress{w: w, term: term, clock: clock, start: clock.Now(), total: total}
}

// step records one finished write; a nil progress ignores it.
func (p *progress) step() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if p.done > p.total {
		p.total = p.done // users created on the way, or retries
	}
	if p.term {
		fmt.Fprintf(p.w, "\r\033[K%s", p.status())
		return
	}
	step := p.done * 10 / max(p.total, 1)
	if p.total <= 10 || step != p.lastStep || p.done == p.total {
		p.lastStep = step
		fmt.Fprintln(p.w, p.status())
	}
}

// finish ends the progress line on a terminal.
func (p *progress) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.term && p.done > 0 {
		fmt.Fprintln(p.w)
	}
}

// status renders "applied 120/400 changes, 4.9/s, about 56s left".
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

// counted is an access.KisiAPI that reports every finished write of a grant
// or a link to p, once p is set (after planning, when the total is known).
type counted struct {
	access.KisiAPI
	p *progress
}

func (c *counted) CreateRoleAssignment(ctx context.Context, req *kisi.RoleAssignmentCreateRequest) (*kisi.RoleAssignment, *kisi.Response, error) {
	defer c.p.step()
	return c.KisiAPI.CreateRoleAssignment(ctx, req)
}

func (c *counted) UpdateRoleAssignment(ctx context.Context, id int64, req *kisi.RoleAssignmentUpdateRequest) (*kisi.Response, error) {
	defer c.p.step()
	return c.KisiAPI.UpdateRoleAssignment(ctx, id, req)
}

func (c *counted) DeleteRoleAssignment(ctx context.Context, id int64) (*kisi.Response, error) {
	defer c.p.step()
	return c.KisiAPI.DeleteRoleAssignment(ctx, id)
}

func (c *counted) CreateGroupLink(ctx context.Context, req *kisi.GroupLinkCreateRequest) (*kisi.GroupLink, *kisi.Response, error) {
	defer c.p.step()
	return c.KisiAPI.CreateGroupLink(ctx, req)
}

func (c *counted) DeleteGroupLink(ctx context.Context, id int64) (*kisi.Response, error) {
	defer c.p.step()
	return c.KisiAPI.DeleteGroupLink(ctx, id)
}
