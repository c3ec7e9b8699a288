package mapping_test

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/mapping"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func sample() mapping.Mapping {
	return mapping.Mapping{
		Plans:      map[string][]int64{"hot-desk": {101}, "office": {102, 101, 102}, "none": {}},
		Allowances: map[string][]int64{"weekend": {103}},
		Resources:  map[string][]int64{"room-1": {104, 101}},
		Locations:  map[string][]int64{"berlin": {101}},
		Default:    []int64{105},
		DropIn:     mapping.DropIn{Link: true, QR: true, AddToGroup: true},
	}
}

func TestJSONRoundTrip(t *testing.T) {
	t.Parallel()
	m := sample()
	data, err := json.MarshalIndent(m, "", "  ")
	require.NoError(t, err)
	golden := filepath.Join("testdata", "mapping.json")
	if *update {
		require.NoError(t, os.WriteFile(golden, append(data, '\n'), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	if diff := cmp.Diff(strings.TrimSpace(string(want)), string(data)); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
	var back mapping.Mapping
	require.NoError(t, json.Unmarshal(data, &back))
	if diff := cmp.Diff(m, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	m := sample()
	tests := []struct {
		name   string
		kind   mapping.Kind
		id     string
		want   []int64
		wantOK bool
	}{
		{"plan sorted dedup", mapping.KindPlan, "office", []int64{101, 102}, true},
		{"plan mapped to nothing", mapping.KindPlan, "none", nil, true},
		{"plan unmapped", mapping.KindPlan, "missing", nil, false},
		{"allowance", mapping.KindAllowance, "weekend", []int64{103}, true},
		{"resource", mapping.KindResource, "room-1", []int64{101, 104}, true},
		{"location", mapping.KindLocation, "berlin", []int64{101}, true},
		{"location unmapped", mapping.KindLocation, "paris", nil, false},
		{"default", mapping.KindDefault, "", []int64{105}, true},
		{"unknown kind", mapping.Kind("x"), "a", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := m.Lookup(tc.kind, tc.id)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
			if ok != tc.wantOK {
				t.Errorf("ok = %v, want %v", ok, tc.wantOK)
			}
		})
	}
	if diff := cmp.Diff([]int64{101, 102}, m.PlanGroups("office")); diff != "" {
		t.Errorf("PlanGroups (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{103}, m.AllowanceGroups("weekend")); diff != "" {
		t.Errorf("AllowanceGroups (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{101, 104}, m.ResourceGroups("room-1")); diff != "" {
		t.Errorf("ResourceGroups (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{101}, m.LocationGroups("berlin")); diff != "" {
		t.Errorf("LocationGroups (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{105}, m.DefaultGroups()); diff != "" {
		t.Errorf("DefaultGroups (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{101, 102, 103, 104, 105}, m.Groups()); diff != "" {
		t.Errorf("Groups (-want +got):\n%s", diff)
	}
	if got := (mapping.Mapping{}).Groups(); len(got) != 0 {
		t.Errorf("zero Groups = %v, want empty", got)
	}
}

func TestLookupDoesNotAlias(t *testing.T) {
	t.Parallel()
	m := sample()
	g := m.PlanGroups("office")
	g[0] = 999
	if diff := cmp.Diff([]int64{102, 101, 102}, m.Plans["office"]); diff != "" {
		t.Errorf("mapping changed (-want +got):\n%s", diff)
	}
	c := m.Clone()
	c.Plans["office"][0] = 1
	c.Default[0] = 1
	if m.Plans["office"][0] != 102 || m.Default[0] != 105 {
		t.Error("Clone shares storage with the original")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		m     mapping.Mapping
		known []int64
		want  []string
		is    []error
	}{
		{name: "valid", m: mapping.Mapping{Plans: map[string][]int64{"a": {1}}, Default: []int64{2}}, known: []int64{1, 2}},
		{name: "nil known skips membership", m: mapping.Mapping{Plans: map[string][]int64{"a": {7}}}},
		{
			name: "every problem at once",
			m: mapping.Mapping{
				Plans:      map[string][]int64{"": {1}, "b": {1, 1}},
				Allowances: map[string][]int64{"c": {9}},
				Resources:  map[string][]int64{"r": {0}},
				Locations:  map[string][]int64{"l": {-3}},
				Default:    []int64{8, 1},
			},
			known: []int64{1},
			want: []string{
				`mapping: plan "": empty id`,
				`mapping: plan "b": group 1: duplicate group`,
				`mapping: allowance "c": group 9: unknown group`,
				`mapping: resource "r": group 0: invalid group id`,
				`mapping: location "l": group -3: invalid group id`,
				`mapping: default: group 8: unknown group`,
			},
			is: []error{mapping.ErrEmptyID, mapping.ErrDuplicateGroup, mapping.ErrUnknownGroup, mapping.ErrInvalidGroup},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.m.Validate(tc.known)
			if len(tc.want) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			if diff := cmp.Diff(tc.want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			for _, target := range tc.is {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(err, %v) = false", target)
				}
			}
		})
	}
}

func FuzzMappingJSON(f *testing.F) {
	f.Add([]byte(`{"plans":{"a":[1,2,2]},"default":[0],"drop_in":{"link":true}}`))
	f.Add([]byte(`{"resources":{"":[-1]},"locations":{"l":[]}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m mapping.Mapping
		if json.Unmarshal(data, &m) != nil {
			return
		}
		_ = m.Validate([]int64{1, 2})
		groups := m.Groups()
		for i := 1; i < len(groups); i++ {
			if groups[i-1] >= groups[i] {
				t.Fatalf("Groups not sorted and deduplicated: %v", groups)
			}
		}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var back mapping.Mapping
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(m.Groups(), back.Groups()); diff != "" {
			t.Fatalf("round trip changed groups (-want +got):\n%s", diff)
		}
	})
}
