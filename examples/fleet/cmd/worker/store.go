package main

import (
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/pgstore"
)

// openStore returns the Store the worker keeps its records in: the
// PostgreSQL Store on pool (migrated by -migrate), or one in memory for
// trying a single process out.
func openStore(kind string, pool *pgxpool.Pool) (access.Store, error) {
	switch kind {
	case "postgres":
		return pgstore.New(pool), nil
	case "memory":
		return access.NewMemoryStore(), nil
	default:
		return nil, fmt.Errorf("-store %q: want postgres or memory", kind)
	}
}
