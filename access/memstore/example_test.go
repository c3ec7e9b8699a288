package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/memstore"
)

func ExampleNew() {
	ctx := context.Background()
	st := memstore.New()
	now := time.Date(2026, time.June, 10, 12, 0, 0, 0, time.UTC)

	// One run of organization "acme" holds the lease...
	fmt.Println(st.Lease(ctx, "acme", "run-1", now, now.Add(10*time.Minute)))
	// ...so a second run fails fast.
	err := st.Lease(ctx, "acme", "run-2", now, now.Add(10*time.Minute))
	fmt.Println(errors.Is(err, access.ErrLeaseHeld))

	_ = st.Put(ctx, "acme", access.Record{Key: access.UserKey("alice@example.com"), Kind: access.KindUser, KisiID: 7})
	_ = st.Put(ctx, "acme", access.Record{Key: access.RoleKey("alice@example.com", 12), Kind: access.KindRole,
		State: access.StateSettled, KisiID: 42})
	recs, _ := st.Load(ctx, "acme")
	for _, r := range recs {
		fmt.Println(r.Key, r.KisiID)
	}
	// Output:
	// <nil>
	// true
	// role/12/alice@example.com 42
	// user/alice@example.com 7
}
