package access

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/schedule"
)

// jsonFingerprint is fingerprint as it hashes records: each one's JSON
// form from a json.Encoder.
func jsonFingerprint(org string, recs []state.Record) string {
	h := sha256.New()
	_, _ = h.Write(append([]byte(org), 0))
	enc := json.NewEncoder(h)
	for i := range recs {
		_ = enc.Encode(&recs[i])
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// fullRecord returns a record with every field set to a value that is not
// zero.
func fullRecord(t *testing.T) state.Record {
	t.Helper()
	var rec state.Record
	v := reflect.ValueOf(&rec).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(v.Type().Field(i).Name + "-x")
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(i + 1))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Slice:
			f.Set(reflect.ValueOf([]Source{{Kind: KindBooking, ID: "b1"}, {Kind: KindPlan, ID: "p2"}}))
		case reflect.Pointer:
			f.Set(reflect.ValueOf(&state.Superseded{KisiID: 41, Window: schedule.Interval{Start: time.Unix(1e9, 0), End: time.Unix(2e9, 5)}}))
		case reflect.Struct:
			switch x := f.Addr().Interface().(type) {
			case *time.Time:
				*x = time.Unix(1e9, int64(i))
			case *schedule.Interval:
				*x = schedule.Interval{Start: time.Unix(1e9, 0), End: time.Unix(2e9, 5)}
			default:
				t.Fatalf("field %s: extend the test", v.Type().Field(i).Name)
			}
		default:
			t.Fatalf("field %s of kind %s: extend the test", v.Type().Field(i).Name, f.Kind())
		}
	}
	return rec
}

// TestFingerprintHashesJSON: fingerprint hashes the bytes json.Encoder
// writes for each record, whichever way it writes them.
func TestFingerprintHashesJSON(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	full := fullRecord(t)
	with := func(f func(r *state.Record)) state.Record {
		r := full
		f(&r)
		return r
	}
	tests := []struct {
		name string
		rec  state.Record
		fast bool // written without encoding/json
	}{
		{"minimal", state.Record{Key: "role/1/a@example.com", Kind: state.KindRole}, true},
		{"every field", full, true},
		{"empty kind", state.Record{Key: "k"}, true},
		{"open-ended window", with(func(r *state.Record) { r.Window.End = schedule.Forever }), true},
		{"window after forever", with(func(r *state.Record) { r.Window.End = schedule.Forever.Add(time.Hour) }), true},
		{"window in a zone", with(func(r *state.Record) {
			r.Window = schedule.Interval{Start: time.Date(2026, 3, 29, 1, 30, 0, 0, berlin), End: time.Date(2026, 3, 29, 3, 30, 0, 7, berlin)}
		}), true},
		{"zero start", with(func(r *state.Record) { r.Window.Start = time.Time{} }), true},
		{"zero instant in a zone", with(func(r *state.Record) { r.Window = schedule.Interval{Start: time.Time{}.In(berlin)} }), true},
		{"updated in a zone", with(func(r *state.Record) { r.Updated = time.Date(2026, 10, 25, 2, 30, 0, 0, berlin) }), true},
		{"one source", with(func(r *state.Record) { r.Sources = r.Sources[:1] }), true},
		{"empty sources", with(func(r *state.Record) { r.Sources = []Source{} }), true},
		{"empty source", with(func(r *state.Record) { r.Sources = []Source{{}} }), true},
		{"superseded, open-ended", with(func(r *state.Record) {
			r.Supersedes = &state.Superseded{KisiID: 7, Window: schedule.Interval{Start: time.Unix(1e9, 0), End: schedule.Forever}}
		}), true},
		{"superseded, zero", with(func(r *state.Record) { r.Supersedes = &state.Superseded{} }), true},
		{"negative ids", with(func(r *state.Record) { r.KisiID, r.GroupID, r.Attempts = -1, -2, -3 }), true},
		{"html", with(func(r *state.Record) { r.Name = "A & B <c>" }), false},
		{"quote", with(func(r *state.Record) { r.Reason = `say "no"` }), false},
		{"backslash in a source", with(func(r *state.Record) { r.Sources = []Source{{Kind: KindPlan, ID: `a\b`}} }), false},
		{"unicode", with(func(r *state.Record) { r.Name = "Zoë\u2028" }), false},
		{"invalid utf-8", with(func(r *state.Record) { r.Email = "a\xffb" }), false},
		{"control", with(func(r *state.Record) { r.Secret = "a\nb\x01" }), false},
		{"year 10000", with(func(r *state.Record) { r.RetryAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }), false},
		{"offset of 24 hours", with(func(r *state.Record) { r.Updated = time.Unix(1e9, 0).In(time.FixedZone("far", 25*3600)) }), false},
		{"offset with seconds", with(func(r *state.Record) { r.Updated = time.Unix(1e9, 0).In(time.FixedZone("lmt", 3600+7)) }), true},
	}
	var all []state.Record
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want bytes.Buffer
			_ = json.NewEncoder(&want).Encode(&tt.rec)
			got, ok := appendRecordJSON(nil, &tt.rec)
			if ok != tt.fast {
				t.Errorf("appendRecordJSON ok = %v, want %v", ok, tt.fast)
			}
			if ok && string(got) != want.String() {
				t.Errorf("appendRecordJSON:\n got %s\nwant %s", got, want.String())
			}
			recs := []state.Record{tt.rec, full, tt.rec}
			if got, want := fingerprint("org", recs), jsonFingerprint("org", recs); got != want {
				t.Errorf("fingerprint = %s, want %s", got, want)
			}
		})
		all = append(all, tt.rec)
	}
	for len(all) < 2000 {
		all = append(all, all...)
	}
	if got, want := fingerprint("org", all), jsonFingerprint("org", all); got != want {
		t.Errorf("fingerprint of %d records = %s, want %s", len(all), got, want)
	}
}
