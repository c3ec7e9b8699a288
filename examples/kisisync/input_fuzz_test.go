package main

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the three file loaders: they must
// never panic, and must either fail with an input error or return input the
// library accepts.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"snapshot.json", "mapping.json", "policy.json", "bad_snapshot.json",
		"bad_mapping.json", "bad_policy.json", "invalid_records.json", "small_snapshot.json"} {
		b, err := os.ReadFile(td(name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"bookings":[{"id":"b","start":"x"}],"plans":[1]}`))
	f.Add([]byte(`{"plans":{"a":[1,2,"3"]},"drop_in":{"link":"yes"}}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "in.json")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := loadSnapshot(path); err != nil {
			requireInputError(t, err)
		}
		if m, err := loadMapping(path); err != nil {
			requireInputError(t, err)
		} else if err := m.Validate(nil); err != nil {
			t.Fatalf("loadMapping accepted an invalid mapping: %v", err)
		}
		if p, err := loadPolicy(path); err != nil {
			requireInputError(t, err)
		} else if err := p.Validate(); err != nil {
			t.Fatalf("loadPolicy accepted an invalid policy: %v", err)
		}
	})
}

func requireInputError(t *testing.T, err error) {
	t.Helper()
	ie, ok := err.(*inputError)
	if !ok {
		t.Fatalf("error %T is not an input error: %v", err, err)
	}
	if len(ie.msgs) == 0 {
		t.Fatal("input error without a message")
	}
}
