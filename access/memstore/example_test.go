package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kisisync/kisisync/access/memstore"
	"github.com/kisisync/kisisync/access/state"
)

func ExampleNew() {
	ctx := context.Background()
	st := memstore.New()
	now := time.Date(2026, time.June, 10, 12, 0, 0, 0, time.UTC)

	// One run of organization "acme" holds the lease...
	token, err := st.Lease(ctx, "acme", "run-1", now, now.Add(10*time.Minute))
	fmt.Println(token, err)
	// ...so a second run fails fast.
	_, err = st.Lease(ctx, "acme", "run-2", now, now.Add(10*time.Minute))
	fmt.Println(errors.Is(err, state.ErrLeaseHeld))

	_ = st.Put(ctx, "acme", token, state.Record{Key: state.UserKey("alice@example.com"), Kind: state.KindUser, KisiID: 7})
	_ = st.Put(ctx, "acme", token, state.Record{Key: state.RoleKey("alice@example.com", 12), Kind: state.KindRole,
		State: state.StateSettled, KisiID: 42})
	recs, _ := st.Load(ctx, "acme")
	for _, r := range recs {
		fmt.Println(r.Key, r.KisiID)
	}

	// run-1 stalls past its lease and run-2 takes over: run-1's writes are
	// fenced from then on.
	later := now.Add(11 * time.Minute)
	_, _ = st.Lease(ctx, "acme", "run-2", later, later.Add(10*time.Minute))
	err = st.Delete(ctx, "acme", token, state.UserKey("alice@example.com"))
	fmt.Println(errors.Is(err, state.ErrLeaseLost))
	// Output:
	// 1 <nil>
	// true
	// role/12/alice@example.com 42
	// user/alice@example.com 7
	// true
}
