package state_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/schedule"
)

// A host looks up what the reconciler holds for a member in a group by the
// record's key.
func ExampleRoleKey() {
	fmt.Println(state.RoleKey("alice@example.com", 12))
	fmt.Println(state.LinkKey("booking-7", 12))
	fmt.Println(state.UserKey("alice@example.com"))
	// Output:
	// role/12/alice@example.com
	// link/12/booking-7
	// user/alice@example.com
}

// Records are plain data: a Store may keep them as JSON documents.
func ExampleRecord() {
	start := time.Date(2026, time.June, 10, 9, 0, 0, 0, time.UTC)
	rec := state.Record{
		Key:     state.RoleKey("alice@example.com", 12),
		Kind:    state.KindRole,
		State:   state.StateSettled,
		KisiID:  42,
		Email:   "alice@example.com",
		GroupID: 12,
		Window:  schedule.Interval{Start: start, End: start.Add(8 * time.Hour)},
		Sources: []state.Source{{Kind: "booking", ID: "b1"}},
	}
	b, err := json.Marshal(rec)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
	// Output:
	// {"key":"role/12/alice@example.com","kind":"role","state":"settled","kisi_id":42,"email":"alice@example.com","group_id":12,"window":{"start":"2026-06-10T09:00:00Z","end":"2026-06-10T17:00:00Z"},"sources":[{"kind":"booking","id":"b1"}]}
}

// A Store reports a lease held by another run with a *LeaseHeldError, which
// matches ErrLeaseHeld.
func ExampleLeaseHeldError() {
	var err error = &state.LeaseHeldError{
		Organization: "acme",
		Expires:      time.Date(2026, time.June, 10, 12, 10, 0, 0, time.UTC),
	}
	fmt.Println(errors.Is(err, state.ErrLeaseHeld))
	fmt.Println(err)
	// Output:
	// true
	// access: organization "acme" is being synced by another run (lease until 2026-06-10T12:10:00Z)
}
