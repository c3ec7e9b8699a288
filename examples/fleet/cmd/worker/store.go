package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kisisync/kisisync/access"
)

// openStore returns the Store the worker keeps its records in.
func openStore(_ context.Context, kind string, _ *pgxpool.Pool, _ string) (access.Store, error) {
	switch kind {
	case "memory":
		return access.NewMemoryStore(), nil
	default:
		return nil, fmt.Errorf("-store %q: not available", kind)
	}
}
