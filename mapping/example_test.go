package mapping_test

import (
	"encoding/json"
	"fmt"

	"github.com/kisisync/kisisync/mapping"
)

func ExampleMapping_Validate() {
	var m mapping.Mapping
	err := json.Unmarshal([]byte(`{
		"plans": {"hot-desk": [101], "office": [102, 102]},
		"resources": {"room-1": [104]},
		"default": [101],
		"drop_in": {"link": true, "qr": false, "add_to_group": true}
	}`), &m)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Validate([]int64{101, 102}))
	fmt.Println(m.Groups())
	// Output:
	// mapping: plan "office": group 102: duplicate group
	// mapping: resource "room-1": group 104: unknown group
	// [101 102 104]
}

func ExampleMapping_Lookup() {
	m := mapping.Mapping{Plans: map[string][]int64{"office": {102, 101}, "guest": {}}}
	for _, id := range []string{"office", "guest", "day-pass"} {
		groups, ok := m.Lookup(mapping.KindPlan, id)
		fmt.Println(id, groups, ok)
	}
	// Output:
	// office [101 102] true
	// guest [] true
	// day-pass [] false
}
