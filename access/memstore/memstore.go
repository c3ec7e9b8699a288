package memstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kisisync/kisisync/access/state"
)

// New returns an empty Store.
func New() *Store { return &Store{orgs: make(map[string]*memOrg)} }

type memOrg struct {
	holder  string
	expires time.Time
	// token is the current term's token when holder is set, else the last
	// one; tokens only grow.
	token int64
	// records are the organization's records, in key order unless
	// unsorted is set (a key was added out of order or removed since
	// Load last sorted them); index holds the position of each key.
	records  []state.Record
	index    map[string]int
	unsorted bool
}

// sort puts o.records in key order, if they are not, and indexes them
// again.
func (o *memOrg) sort() {
	if !o.unsorted {
		return
	}
	order := make([]int, len(o.records))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(o.records[a].Key, o.records[b].Key) })
	// Move each record to its place, cycle by cycle: record order[i]
	// goes to i. A placed record's order is set to its own index.
	for i := range order {
		if order[i] == i {
			continue
		}
		held := o.records[i]
		j := i
		for order[j] != i {
			o.records[j] = o.records[order[j]]
			j, order[j] = order[j], j
		}
		o.records[j] = held
		order[j] = j
	}
	for i := range o.records {
		o.index[o.records[i].Key] = i
	}
	o.unsorted = false
}

// Store keeps records and leases in memory. Its methods implement
// [access.Store]; the zero value is not usable, create one with [New].
type Store struct {
	mu   sync.Mutex
	orgs map[string]*memOrg
}

func (m *Store) org(name string) *memOrg {
	o := m.orgs[name]
	if o == nil {
		o = &memOrg{index: make(map[string]int)}
		m.orgs[name] = o
	}
	return o
}

// Lease implements [access.Store]. It compares the caller's now and expires: the
// memory store lives in one process, on one clock.
func (m *Store) Lease(ctx context.Context, org, holder string, now, expires time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if holder == "" {
		return 0, errors.New("memstore: empty lease holder")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o := m.org(org)
	if expires.IsZero() {
		if o.holder == holder {
			o.holder, o.expires = "", time.Time{}
		}
		return 0, nil
	}
	if o.holder != holder {
		if o.holder != "" && now.Before(o.expires) {
			return 0, &state.LeaseHeldError{Organization: org, Expires: o.expires}
		}
		o.holder = holder
		o.token++
	}
	o.expires = expires
	return o.token, nil
}

// fenced reports whether token is not org's current term; m.mu is held.
func (m *Store) fenced(org string, token int64) error {
	if o := m.orgs[org]; o == nil || o.holder == "" || o.token != token {
		return fmt.Errorf("memstore: token %d of %q: %w", token, org, state.ErrLeaseLost)
	}
	return nil
}

// Load implements [access.Store].
func (m *Store) Load(ctx context.Context, org string) ([]state.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o := m.orgs[org]
	if o == nil {
		return []state.Record{}, nil
	}
	// The records are kept in key order: copy them, and the sources in
	// one allocation.
	o.sort()
	out := make([]state.Record, len(o.records))
	copy(out, o.records)
	nSources := 0
	for i := range out {
		nSources += len(out[i].Sources)
	}
	sources := make([]state.Source, 0, nSources)
	for i := range out {
		if src := out[i].Sources; src != nil {
			n := len(sources)
			sources = append(sources, src...)
			out[i].Sources = sources[n:len(sources):len(sources)]
		}
	}
	return out, nil
}

// Put implements [access.Store].
func (m *Store) Put(ctx context.Context, org string, token int64, rec state.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if rec.Key == "" {
		return errors.New("memstore: record with empty key")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fenced(org, token); err != nil {
		return err
	}
	o := m.org(org)
	if i, ok := o.index[rec.Key]; ok {
		o.records[i] = cloneRecord(rec)
		return nil
	}
	if n := len(o.records); n > 0 && o.records[n-1].Key > rec.Key {
		o.unsorted = true
	}
	o.index[rec.Key] = len(o.records)
	o.records = append(o.records, cloneRecord(rec))
	return nil
}

// Delete implements [access.Store].
func (m *Store) Delete(ctx context.Context, org string, token int64, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fenced(org, token); err != nil {
		return err
	}
	o := m.orgs[org]
	if i, ok := o.index[key]; ok {
		// Move the last record into the gap: the order is restored by the
		// next Load.
		last := len(o.records) - 1
		if i != last {
			o.records[i] = o.records[last]
			o.index[o.records[i].Key] = i
			o.unsorted = true
		}
		o.records[last] = state.Record{}
		o.records = o.records[:last]
		delete(o.index, key)
	}
	return nil
}

func cloneRecord(r state.Record) state.Record {
	r.Sources = slices.Clone(r.Sources)
	return r
}
