package storetest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
)

// recordsV1 holds records as the reconciler wrote them at schema version 1
// (a plan, a booking, a guest's link, a hand-made conflict, a refused
// grant's park): a JSON array of state.Record documents, written once by
// access's TestOldRecordsPlanNothing with -update and never since. A change
// of the record's form adds a file, it does not rewrite this one.
//
//go:embed testdata/records-v1.json
var recordsV1 []byte

// OldRecords returns the records of [recordsV1], one JSON document each, as
// a Store of schema version 1 keeps them: to be written into a Store's
// backing (its table's record column) the way that version did.
func OldRecords() []json.RawMessage {
	var docs []json.RawMessage
	if err := json.Unmarshal(recordsV1, &docs); err != nil {
		panic(fmt.Sprintf("storetest: records-v1.json: %v", err))
	}
	return docs
}

// OldRecordsDecoded returns [OldRecords] decoded, for a Store without a
// backing of documents (the memory Store).
func OldRecordsDecoded(tb testing.TB) []state.Record {
	tb.Helper()
	var recs []state.Record
	if err := json.Unmarshal(recordsV1, &recs); err != nil {
		tb.Fatalf("storetest: records-v1.json: %v", err)
	}
	return recs
}

// CheckOldRecords checks that st, whose backing holds [OldRecords] under
// org, loads every one of them with none of its fields lost: each loaded
// record, written as JSON again, is the document it was read from.
func CheckOldRecords(tb testing.TB, st access.Store, org string) {
	tb.Helper()
	got, err := st.Load(tb.Context(), org)
	if err != nil {
		tb.Fatalf("storetest: load old records of %q: %v", org, err)
	}
	want := map[string]any{}
	for _, doc := range OldRecords() {
		fields := fieldsOf(tb, doc)
		want[fields["key"].(string)] = fields
	}
	have := map[string]any{}
	for _, rec := range got {
		b, err := json.Marshal(rec)
		if err != nil {
			tb.Fatal(err)
		}
		have[rec.Key] = fieldsOf(tb, b)
	}
	for _, key := range slices.Sorted(maps.Keys(want)) {
		if !reflect.DeepEqual(want[key], have[key]) {
			tb.Errorf("storetest: old record %q of %q:\nwritten at schema 1: %v\nloaded:              %v", key, org, want[key], have[key])
		}
	}
	if len(have) != len(want) {
		tb.Errorf("storetest: loaded %d records of %q, %d were written", len(have), org, len(want))
	}
}

// fieldsOf decodes a JSON object into its fields.
func fieldsOf(tb testing.TB, doc []byte) map[string]any {
	tb.Helper()
	var fields map[string]any
	if err := json.Unmarshal(doc, &fields); err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	return fields
}
