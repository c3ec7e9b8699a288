package access

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/schedule"
)

// fingerprint summarizes the Store's records of org, so Apply can tell
// whether the Store changed since a plan was made (and that the plan was
// made for this organization).
//
// It hashes each record's JSON form, as [json.Encoder] writes it, so every
// field counts. Records are written by [appendRecordJSON] when it can, with
// the same bytes and without reflection (a quarter of a steady plan's CPU
// time otherwise); TestFingerprintHashesJSON keeps the two equal, field by field.
func fingerprint(org string, recs []state.Record) string {
	h := sha256.New()
	_, _ = h.Write(append([]byte(org), 0)) // a hash never fails
	var enc *json.Encoder
	buf := make([]byte, 0, 64<<10)
	for i := range recs {
		n := len(buf)
		var ok bool
		if buf, ok = appendRecordJSON(buf, &recs[i]); !ok {
			buf = buf[:n]
			_, _ = h.Write(buf)
			buf = buf[:0]
			if enc == nil {
				enc = json.NewEncoder(h)
			}
			_ = enc.Encode(&recs[i]) // a state.Record always encodes; the hash never fails
			continue
		}
		if len(buf) >= 32<<10 {
			_, _ = h.Write(buf)
			buf = buf[:0]
		}
	}
	_, _ = h.Write(buf)
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// appendRecordJSON appends rec as [json.Encoder] encodes it, newline
// included, when its strings need no escaping and its times encode;
// otherwise it reports false (and what it appended is to be dropped).
func appendRecordJSON(b []byte, rec *state.Record) ([]byte, bool) {
	w := jsonWriter{b: append(b, '{'), ok: true}
	w.str("key", rec.Key, false)
	w.str("kind", string(rec.Kind), false)
	w.str("state", string(rec.State), true)
	w.num("kisi_id", rec.KisiID)
	w.str("email", rec.Email, true)
	w.str("member_id", rec.MemberID, true)
	w.num("group_id", rec.GroupID)
	w.num("user_id", rec.UserID)
	if rec.Window != (schedule.Interval{}) {
		w.interval("window", rec.Window)
	}
	if len(rec.Sources) > 0 {
		w.b = append(w.b, `"sources":[`...)
		for _, src := range rec.Sources {
			w.b = append(w.b, '{')
			w.str("kind", src.Kind, false)
			w.str("id", src.ID, false)
			w.end('}')
		}
		w.end(']')
	}
	w.str("booking_id", rec.BookingID, true)
	w.str("name", rec.Name, true)
	w.flag("send_link", rec.SendLink)
	w.flag("qr", rec.QR)
	w.str("secret", rec.Secret, true)
	w.str("qr_image", rec.QRImage, true)
	w.flag("notified", rec.Notified)
	if s := rec.Supersedes; s != nil {
		w.name("supersedes")
		w.b = append(w.b, '{')
		w.name("kisi_id")
		w.b = append(strconv.AppendInt(w.b, s.KisiID, 10), ',')
		w.interval("window", s.Window)
		w.end('}')
	}
	w.flag("created", rec.Created)
	w.flag("managed", rec.Managed)
	w.flag("invited", rec.Invited)
	w.flag("confirmed", rec.Confirmed)
	w.str("reason", rec.Reason, true)
	w.str("class", string(rec.Class), true)
	w.num("attempts", int64(rec.Attempts))
	w.at("retry_at", rec.RetryAt)
	w.at("updated", rec.Updated)
	w.b[len(w.b)-1] = '}'
	return append(w.b, '\n'), w.ok
}

// jsonWriter appends the members of a JSON object, each followed by a
// comma; ok turns false at the first value it cannot write as
// [json.Encoder] would.
type jsonWriter struct {
	b  []byte
	ok bool
}

// name appends "name":.
func (w *jsonWriter) name(name string) {
	w.b = append(w.b, '"')
	w.b = append(w.b, name...)
	w.b = append(w.b, `":`...)
}

// interval appends an interval member.
func (w *jsonWriter) interval(name string, iv schedule.Interval) {
	w.name(name)
	w.b = append(w.b, `{"start":`...)
	w.instant(iv.Start)
	w.b = append(w.b, `,"end":`...)
	if iv.IsOpenEnded() {
		w.b = append(w.b, "null"...)
	} else {
		w.instant(iv.End)
	}
	w.b = append(w.b, "},"...)
}

// end replaces the comma after the last member with c and adds a comma.
func (w *jsonWriter) end(c byte) {
	w.b[len(w.b)-1] = c
	w.b = append(w.b, ',')
}

// str appends a string member; one that needs escaping (or HTML-safe
// escaping, as json.Encoder does by default) clears ok.
func (w *jsonWriter) str(name, v string, omitEmpty bool) {
	if omitEmpty && v == "" {
		return
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			w.ok = false
			return
		}
	}
	w.name(name)
	w.b = append(w.b, '"')
	w.b = append(w.b, v...)
	w.b = append(w.b, `",`...)
}

// num appends a non-zero integer member.
func (w *jsonWriter) num(name string, v int64) {
	if v != 0 {
		w.name(name)
		w.b = strconv.AppendInt(w.b, v, 10)
		w.b = append(w.b, ',')
	}
}

// flag appends a true boolean member.
func (w *jsonWriter) flag(name string, v bool) {
	if v {
		w.name(name)
		w.b = append(w.b, "true,"...)
	}
}

// at appends a non-zero time member.
func (w *jsonWriter) at(name string, t time.Time) {
	if !t.IsZero() {
		w.name(name)
		w.instant(t)
		w.b = append(w.b, ',')
	}
}

// instant appends t as a quoted RFC 3339 string.
func (w *jsonWriter) instant(t time.Time) {
	w.b = append(w.b, '"')
	out, err := t.AppendText(w.b)
	if err != nil {
		w.ok = false
		out = w.b
	}
	w.b = append(out, '"')
}
