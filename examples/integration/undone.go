package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/kisisync/kisisync/access"
)

// LogUndone logs what a sync did not do, one WARN line per cause, each with
// the number of items, the records or people concerned (the first five)
// and what to do: snapshot records skipped ([access.Report].Skipped),
// changes parked (Parked), cuts the revoke guard held (Held) and failed
// changes (Failures). A report with none of them logs nothing. It is the
// invariant "nothing silent" made into log lines; the example scheduler
// and the fleet worker log with it too.
func LogUndone(ctx context.Context, log *slog.Logger, rep *access.Report) {
	if rep == nil {
		return
	}
	for _, c := range byCause(rep.Skipped, Cause) {
		msg := "snapshot records skipped: not synced, Kisi keeps what it holds for them"
		if c.key == "shared_email" {
			msg = "members share an email: synced as one Kisi user"
		}
		log.WarnContext(ctx, msg, "cause", c.key, "count", len(c.items),
			"records", names(c.items, func(re *access.RecordError) string { return re.Error() }),
			"remedy", c.items[0].Remedy())
	}
	for _, c := range byCause(rep.Parked, func(p access.Parked) string { return string(p.Class) + "\x00" + p.Reason }) {
		p := c.items[0]
		log.WarnContext(ctx, "changes parked: not applied until the cause is gone", "class", p.Class, "group", p.GroupID,
			"reason", p.Reason, "count", len(c.items), "who", names(c.items, parkedWho), "remedy", p.Remedy())
	}
	for _, c := range byCause(rep.Held, func(ch access.Change) string { return string(ch.Cut) }) {
		remedy := "check that the platform meant to end this access, then approve the cuts"
		if c.key == string(access.CutVanished) {
			remedy = "check that the snapshot is complete, then approve the cuts"
		}
		log.WarnContext(ctx, "revoke guard held cuts of access: not applied, the rest was", "cut", c.key,
			"count", len(c.items), "who", names(c.items, func(ch access.Change) string { return ch.Email }), "remedy", remedy)
	}
	for _, c := range byCause(rep.Failures, func(f access.Failure) string { return string(f.Class) + "\x00" + f.Message }) {
		f := c.items[0]
		log.WarnContext(ctx, "changes failed: retried next run", "class", f.Class, "error", f.Message,
			"count", len(c.items), "who", names(c.items, func(f access.Failure) string { return f.Email }))
	}
}

// Cause is the stable name of a record error's cause ("invalid_email"), as
// its JSON form gives it; "invalid" when it has none. It suits a metric's
// label: the causes are a short fixed list.
func Cause(re *access.RecordError) string {
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

// parkedWho names a parked change's member or guest, or its Store key when
// it has no email (a whole group parked).
func parkedWho(p access.Parked) string {
	if p.Email != "" {
		return p.Email
	}
	return p.Key
}

// cause is the items of one cause, in the order first seen.
type cause[T any] struct {
	key   string
	items []T
}

// byCause groups items by key, in the order each key is first seen.
func byCause[T any](items []T, key func(T) string) []*cause[T] {
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

// names names the first few items and counts the rest.
func names[T any](items []T, name func(T) string) string {
	var out []string
	for _, it := range items[:min(len(items), maxNamed)] {
		out = append(out, name(it))
	}
	s := strings.Join(out, "; ")
	if n := len(items) - maxNamed; n > 0 {
		s += fmt.Sprintf("; and %d more", n)
	}
	return s
}
