// Package state is the reconciler's memory: the records an
// [github.com/kisisync/kisisync/access.Store] keeps of what the SDK created
// in Kisi, and the errors of the run lease that fences its writers.
//
// Its one job is the vocabulary shared by the reconciler and every Store
// implementation, so a Store backend (a database driver in a module of its
// own) depends on this small package, not on the engine. It imports only
// schedule (for the windows of records).
package state
