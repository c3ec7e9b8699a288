package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/internal/textfmt"
)

// estimate is what an apply is about to cost, told before it starts when
// it is long: the Kisi users it creates, the emails Kisi sends (one
// invitation per regular user created, one per guest link sent) and the
// requests, at the client's pace.
type estimate struct {
	users, invitations, linkEmails, requests int
}

// estimateMin is the number of requests from which an apply says what it
// is about to cost (a minute at Kisi's pace).
const estimateMin = 60 * kisiRate

// estimateOf counts the cost of c: a grant for an email the Store knows no
// Kisi user of costs the user's creation and the role (2 requests); any
// other grant, link or delete 1; a replacement 2. A 429 or a user looked
// up costs more; the progress line counts what is sent.
func estimateOf(c *access.Changes, recs []state.Record) estimate {
	known := map[string]bool{}
	for _, r := range recs {
		if r.Email != "" && (r.Kind == state.KindUser || r.Kind == state.KindRole) {
			known[r.Email] = true
		}
	}
	var e estimate
	for _, ch := range c.Changes {
		switch {
		case ch.Held:
		case ch.Action == access.ActionCreate && ch.Object == access.ObjectGrant && !known[ch.Email]:
			known[ch.Email] = true
			e.users++
			if !ch.Managed {
				e.invitations++
			}
			e.requests += 2
		case ch.Action == access.ActionCreate && ch.Object == access.ObjectLink:
			if ch.SendLink || ch.QR {
				e.linkEmails++
			}
			e.requests++
		case ch.Action == access.ActionCreate, ch.Action == access.ActionDelete:
			e.requests++
		case ch.Action == access.ActionReplace:
			e.requests += 2
		}
	}
	return e
}

// say tells e in one sentence, at pace requests per second.
func (e estimate) say(pace float64) string {
	d := time.Duration(float64(e.requests) / pace * float64(time.Second))
	return fmt.Sprintf("This apply creates %s (Kisi emails %s) and sends %s to guests, in about %s: %s at %s requests/second.",
		textfmt.Plural(e.users, "Kisi user", "Kisi users"), textfmt.Plural(e.invitations, "invitation", "invitations"),
		textfmt.Plural(e.linkEmails, "link", "links"), textfmt.Plural(e.requests, "request", "requests"),
		eta(d), strconv.FormatFloat(pace, 'f', -1, 64))
}
