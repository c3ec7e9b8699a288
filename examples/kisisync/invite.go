package main

import (
	"fmt"
	"slices"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/internal/textfmt"
)

// stage takes out of c every grant to a person who would get Kisi's
// invitation with it — a regular (not managed) Kisi user not invited yet —
// and returns those people's emails, sorted: with --invite later they get
// no Kisi user, no access and no email now; the next apply without it
// grants their access and Kisi sends the invitation with the first grant.
// A person the state knows as invited (or managed), or who holds a grant
// it recorded, keeps every change.
func stage(c *access.Changes, recs []state.Record) []string {
	invited := map[string]bool{}
	for _, r := range recs {
		switch {
		case r.Email == "":
		case r.Kind == state.KindUser && (r.Invited || r.Managed), r.Kind == state.KindRole:
			invited[r.Email] = true
		}
	}
	later := map[string]bool{}
	for _, ch := range c.Changes {
		if ch.Action == access.ActionCreate && ch.Object == access.ObjectGrant && !ch.Managed && !invited[ch.Email] {
			later[ch.Email] = true
		}
	}
	if len(later) == 0 {
		return nil
	}
	c.Changes = slices.DeleteFunc(c.Changes, func(ch access.Change) bool {
		return ch.Object == access.ObjectGrant && ch.Action == access.ActionCreate && later[ch.Email]
	})
	emails := make([]string, 0, len(later))
	for e := range later {
		emails = append(emails, e)
	}
	slices.Sort(emails)
	return emails
}

// stagedLine tells the operator who --invite later staged.
func stagedLine(emails []string) string {
	return fmt.Sprintf("%s staged by --invite later: no Kisi user, access or invitation yet — %s; an apply without --invite later grants their access, and Kisi emails each one invitation",
		textfmt.Plural(len(emails), "person", "people"), names(emails))
}
