package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
)

// TestSchemaFiles (issue 30): the published schemas are the ones made from
// the Go types (go test -update rewrites them after a type changes).
func TestSchemaFiles(t *testing.T) {
	t.Parallel()
	for name, s := range map[string]obj{"snapshot": snapshotSchema(), "mapping": mappingSchema()} {
		path := filepath.Join("schema", name+".schema.json")
		got := string(schemaJSON(s))
		if *update {
			require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		}
		want, err := os.ReadFile(path)
		require.NoError(t, err)
		if diff := cmp.Diff(string(want), got); diff != "" {
			t.Errorf("%s differs from the Go types (-file +types):\n%s\nrun go test ./examples/kisisync -update", path, diff)
		}
	}
}

// TestSchemaMatchesTypes: the JSON the Go types write validates against
// the schema, every field of every record set; so does each sample file.
func TestSchemaMatchesTypes(t *testing.T) {
	t.Parallel()
	schemas, err := compiled()
	require.NoError(t, err)
	s, _, err := loadSnapshot(td("snapshot.json"))
	require.NoError(t, err)
	m, err := loadMapping(td("mapping.json"))
	require.NoError(t, err)
	for name, v := range map[string]any{"snapshot": s, "mapping": m} {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
		require.NoError(t, err)
		require.NoError(t, schemas[name].Validate(doc), "%s as the Go types write it:\n%s", name, b)
	}
}

// TestSchemaAgreesWithCLI: a file the schema accepts is one the CLI reads
// without a problem of form, and the files the CLI refuses for their form
// the schema refuses too.
func TestSchemaAgreesWithCLI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, kind, body string
		ok               bool
	}{
		{name: "sample snapshot", kind: "snapshot", body: readTD(t, "snapshot.json"), ok: true},
		{name: "small snapshot", kind: "snapshot", body: readTD(t, "small_snapshot.json"), ok: true},
		{name: "invalid records are well-formed", kind: "snapshot", body: readTD(t, "invalid_records.json"), ok: true},
		{name: "bad snapshot", kind: "snapshot", body: readTD(t, "bad_snapshot.json")},
		{name: "unknown field", kind: "snapshot", body: `{"members": [{"id": "m1", "emial": "a@example.com"}]}`},
		{name: "bad time", kind: "snapshot", body: `{"plans": [{"id": "p", "start": "2026-13-01"}]}`},
		{name: "bad status", kind: "snapshot", body: `{"plans": [{"id": "p", "status": "actve"}]}`},
		{name: "bad clock", kind: "snapshot", body: `{"assignments": [{"id": "a", "rules": [{"days": ["mon"], "from": "25:00", "to": "26:00"}]}]}`},
		{name: "long name", kind: "snapshot", body: `{"members": [{"id": "m1", "name": "` + strings.Repeat("x", 255) + `"}]}`},
		{name: "null end", kind: "snapshot", body: `{"plans": [{"id": "p", "plan_id": "x", "member_id": "m", "start": "2026-06-01T00:00:00Z", "end": null, "status": "active"}]}`, ok: true},
		{name: "sample mapping", kind: "mapping", body: readTD(t, "mapping.json"), ok: true},
		{name: "bad mapping", kind: "mapping", body: readTD(t, "bad_mapping.json")},
		{name: "group as a string", kind: "mapping", body: `{"plans": {"flex": ["102"]}}`},
		{name: "group zero", kind: "mapping", body: `{"plans": {"flex": [0]}}`},
		{name: "drop-in typo", kind: "mapping", body: `{"default": [1], "drop_in": {"lnk": true}}`},
	}
	schemas, err := compiled()
	require.NoError(t, err)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc, err := jsonschema.UnmarshalJSON(strings.NewReader(tc.body))
			require.NoError(t, err)
			schemaOK := schemas[tc.kind].Validate(doc) == nil
			path := filepath.Join(t.TempDir(), tc.kind+".json")
			require.NoError(t, os.WriteFile(path, []byte(tc.body), 0o600))
			if tc.kind == "snapshot" {
				_, _, err = loadSnapshot(path)
			} else {
				_, err = loadMapping(path)
			}
			require.Equal(t, tc.ok, schemaOK, "schema")
			require.Equal(t, tc.ok, err == nil, "CLI: %v", err)
		})
	}
}

func readTD(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(td(name))
	require.NoError(t, err)
	return string(b)
}
