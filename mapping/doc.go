// Package mapping says which Kisi groups each platform item grants: plans,
// allowances, resources (for bookings and assignments), locations (for
// check-ins), the Default groups of active plans whose plan ID is unmapped,
// and how drop-in guests receive access.
//
// It is pure data: no I/O, no clock. Hosts usually store a [Mapping] as JSON:
//
//	{
//	  "plans":      {"hot-desk": [101], "office": [101, 102]},
//	  "allowances": {"weekend-pass": [103]},
//	  "resources":  {"room-1": [104]},
//	  "locations":  {"berlin": [101]},
//	  "default":    [101],
//	  "drop_in":    {"link": true, "qr": true, "add_to_group": false}
//	}
//
// Usage:
//
//	var m mapping.Mapping
//	if err := json.Unmarshal(data, &m); err != nil { … }
//	if err := m.Validate(kisiGroupIDs); err != nil { … } // every problem at once
//	groups := m.ResourceGroups("room-1")                // sorted, deduplicated
//
// # Unmapped and mapped to nothing
//
// An ID absent from its table is unmapped; an ID present with an empty list
// is mapped to nothing. [Mapping.Lookup] tells them apart, so a host can
// show which items it forgot to map. Either way an item grants no group of
// its own, and an active plan whose plan ID maps to no group grants the
// Default groups.
//
// # Concurrency
//
// A [Mapping] is a value; its methods only read it and are safe for
// concurrent use as long as nobody modifies its maps.
package mapping
