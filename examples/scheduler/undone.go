package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/kisisync/kisisync/access"
)

// logUndone logs what a sync did not do, one WARN line per cause, each with
// the records or people concerned and what to do: nothing a run leaves
// undone is silent.
func logUndone(ctx context.Context, log *slog.Logger, rep *access.Report) {
	for _, c := range group(rep.Skipped, func(re *access.RecordError) string { return causeOf(re) }) {
		msg := "snapshot records skipped: not synced, Kisi keeps what it holds for them"
		if c.key == "shared_email" {
			msg = "members share an email: synced as one Kisi user"
		}
		log.WarnContext(ctx, msg, "cause", c.key, "count", len(c.items),
			"records", list(c.items, func(re *access.RecordError) string { return re.Error() }),
			"remedy", c.items[0].Remedy())
	}
	for _, c := range group(rep.Parked, func(p access.Parked) string { return string(p.Class) + "\x00" + p.Reason }) {
		p := c.items[0]
		log.WarnContext(ctx, "changes parked: not applied until the cause is gone", "class", p.Class, "group", p.GroupID,
			"reason", p.Reason, "count", len(c.items), "who", list(c.items, who), "remedy", p.Remedy())
	}
	for _, c := range group(rep.Held, func(ch access.Change) string { return string(ch.Cut) }) {
		remedy := "check that the platform meant to end this access, then approve the cuts"
		if c.key == string(access.CutVanished) {
			remedy = "check that the snapshot is complete, then approve the cuts"
		}
		log.WarnContext(ctx, "revoke guard held cuts of access: not applied, the rest was", "cut", c.key,
			"count", len(c.items), "who", list(c.items, func(ch access.Change) string { return ch.Email }), "remedy", remedy)
	}
	for _, c := range group(rep.Failures, func(f access.Failure) string { return string(f.Class) + "\x00" + f.Message }) {
		f := c.items[0]
		log.WarnContext(ctx, "changes failed: retried next run", "class", f.Class, "error", f.Message,
			"count", len(c.items), "who", list(c.items, func(f access.Failure) string { return f.Email }))
	}
}

// who names a parked change's member or guest, or its Store key when it
// has no email (a whole group parked).
func who(p access.Parked) string {
	if p.Email != "" {
		return p.Email
	}
	return p.Key
}

// causeOf is the stable name of a record error's cause ("invalid_email"),
// as its JSON form gives it.
func causeOf(re *access.RecordError) string {
	var w struct {
		Cause string `json:"cause"`
	}
	if b, err := json.Marshal(re); err == nil {
		_ = json.Unmarshal(b, &w)
	}
	if w.Cause == "" {
		return "invalid"
	}
	return w.Cause
}

// cause is the items of one cause, in the order first seen.
type cause[T any] struct {
	key   string
	items []T
}

// group groups items by key, in the order each key is first seen.
func group[T any](items []T, key func(T) string) []*cause[T] {
	var out []*cause[T]
	by := map[string]*cause[T]{}
	for _, it := range items {
		k := key(it)
		c := by[k]
		if c == nil {
			c = &cause[T]{key: k}
			by[k] = c
			out = append(out, c)
		}
		c.items = append(c.items, it)
	}
	return out
}

// maxNamed bounds how many records one log line names.
const maxNamed = 5

// list names the first few items and counts the rest.
func list[T any](items []T, name func(T) string) string {
	var names []string
	for _, it := range items[:min(len(items), maxNamed)] {
		names = append(names, name(it))
	}
	s := strings.Join(names, "; ")
	if n := len(items) - maxNamed; n > 0 {
		s += fmt.Sprintf("; and %d more", n)
	}
	return s
}
