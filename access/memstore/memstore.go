package memstore

import "github.com/kisisync/kisisync/access"

// New returns an empty in-memory [access.Store], safe for concurrent use.
func New() access.Store { return access.NewMemoryStore() }
