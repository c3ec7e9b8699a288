package access

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kisisync/kisisync/schedule"
)

// Store persists what the reconciler created in Kisi, one [Record] per
// object, for any number of organizations, and a run lease per
// organization. The doc comments of its methods are its contract;
// [github.com/kisisync/kisisync/access/storetest] checks them, with two
// handles on one backing store as two processes would see it.
// Implementations must be safe for concurrent use.
//
// The reconciler writes record by record, as each Kisi side effect happens:
// an intent ([StatePending]) before a create and the settled record after it.
// A Store therefore never needs transactions across records.
//
// # Fencing
//
// Each grant of the lease to a holder that did not hold it starts a new
// term with a new token, greater than every token of org before it. Put
// and Delete take the token of the caller's term and succeed only while
// that term is current, checked atomically with the write (in the same SQL
// statement, or under the same lock). A run whose lease was taken over, or
// released, can therefore never write again: its writes fail with an
// error matching [ErrLeaseLost], and the reconciler stops the run.
//
// # Clocks
//
// The lease times decide only when another holder may take over; they play
// no part in fencing, so no clock skew can make two runs' writes
// interleave. A Store shared by hosts whose clocks may differ judges
// expiry by one clock of its own (a database server's): it grants the
// lease for the duration expires−now from its own present and ignores the
// callers' absolute times. A Store used by one host (a process, or
// processes on one machine) may compare the callers' now and expires as
// given. The reconciler renews a run's lease each third of its lease time,
// and after a renewal that returned another token (the lease was lost and
// taken again) it stops.
type Store interface {
	// Lease takes, renews or releases the run lease of org for holder.
	//
	// With a non-zero expires it grants the lease to holder until expires
	// when org has no lease, when holder already holds it (expired or
	// not: that renews the current term and keeps its token), or when
	// another holder's lease has expired (expires ≤ now). It returns the
	// token of holder's term: a new one, positive and greater than every
	// earlier token of org, unless holder held the lease already. If another holder's
	// lease is still valid it returns an error for which errors.Is(err,
	// [ErrLeaseHeld]) is true (ideally a *[LeaseHeldError]) and changes
	// nothing.
	//
	// With a zero expires it releases the lease if holder holds it, and
	// does nothing otherwise; it returns 0 and nil in both cases. A
	// released term is over: its token no longer writes.
	//
	// now comes from the caller's clock; see "Clocks" above for the Stores
	// that read a clock of their own.
	Lease(ctx context.Context, org, holder string, now, expires time.Time) (token int64, err error)

	// Load returns every record of org, sorted by Key, as copies the caller
	// may keep. An org with no records returns an empty slice and a nil
	// error; err is only for system failures. Load needs no lease.
	Load(ctx context.Context, org string) ([]Record, error)

	// Put stores rec in org under rec.Key, replacing any record with that
	// key, if token is the token of org's current lease term; otherwise it
	// changes nothing and returns an error matching [ErrLeaseLost]. It
	// keeps a copy: later changes to rec do not reach the Store. A record
	// with an empty Key is refused with an error.
	Put(ctx context.Context, org string, token int64, rec Record) error

	// Delete removes the record with key from org, fenced like Put: if
	// token is not the token of org's current lease term it changes
	// nothing and returns an error matching [ErrLeaseLost]. Deleting a key
	// that does not exist is not an error.
	Delete(ctx context.Context, org string, token int64, key string) error
}

// ErrLeaseHeld is matched (errors.Is) by the error a [Store] returns from
// Lease, and the reconciler from Plan, Apply, Sync and Verify, when another
// run of the same organization holds the lease.
var ErrLeaseHeld = errors.New("access: another run of this organization is in progress")

// ErrLeaseLost is matched (errors.Is) by the error a [Store] returns from
// Put and Delete when the token is not that of the organization's current
// lease term (the lease was taken over by another run, or released), and
// by the error of a reconciler run stopped for that reason. Nothing was
// written; the run that now holds the lease carries on.
var ErrLeaseLost = errors.New("access: the run lease was lost to another run")

// LeaseHeldError reports that another run holds the lease of Organization
// until Expires. It matches [ErrLeaseHeld].
type LeaseHeldError struct {
	Organization string    `json:"organization"`
	Expires      time.Time `json:"expires"`
}

// Error implements error.
func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("access: organization %q is being synced by another run (lease until %s)",
		e.Organization, e.Expires.UTC().Format(time.RFC3339))
}

// Is reports whether target is [ErrLeaseHeld].
func (e *LeaseHeldError) Is(target error) bool { return target == ErrLeaseHeld }

// RecordKind says which Kisi object a [Record] stands for.
type RecordKind string

// The record kinds.
const (
	KindUser RecordKind = "user" // a Kisi user id cached for an email
	KindRole RecordKind = "role" // a group role assignment (access grant)
	KindLink RecordKind = "link" // a group link for a drop-in booking
	// KindPark: a change held back with back-off after Kisi refused it
	// (key "park/" and the change's key), or a group found deleted in Kisi
	// (key "park/group/<group id>/<mapping fingerprint>").
	KindPark RecordKind = "park"
)

// RecordState is the state of a role or link [Record].
type RecordState string

// The record states.
const (
	// StateSettled: the object exists in Kisi with KisiID.
	StateSettled RecordState = "settled"
	// StatePending: an intent recorded before a create whose outcome is not
	// known yet (a run in progress, a lost response or a crash). The next
	// run looks the object up in Kisi before anything is created again.
	StatePending RecordState = "pending"
	// StateGone: the object was deleted in Kisi outside this SDK (found by
	// Verify); it is re-created if still wanted.
	StateGone RecordState = "gone"
	// StateConflict: Kisi refused the create because the user already holds
	// a role in the group that this SDK does not manage (KisiID is that
	// role). It is not retried until the wanted window changes or Verify
	// finds the other role gone.
	StateConflict RecordState = "conflict"
)

// Record is one entry of a [Store]: a Kisi object this SDK created or is
// creating, or a cached Kisi user. Records are plain data, JSON-marshalable,
// so a Store may keep them as documents.
//
// Secret and QRImage of a link are credentials: a Store should protect them
// like passwords (or drop them, if the host needs no [Notifier] retry).
type Record struct {
	// Key identifies the record within its organization; see [RoleKey],
	// [LinkKey] and [UserKey].
	Key   string      `json:"key"`
	Kind  RecordKind  `json:"kind"`
	State RecordState `json:"state,omitempty"`
	// KisiID is the id of the role assignment, group link or user in Kisi;
	// zero while pending.
	KisiID int64 `json:"kisi_id,omitempty"`

	Email    string `json:"email,omitempty"` // normalized
	MemberID string `json:"member_id,omitempty"`
	GroupID  int64  `json:"group_id,omitempty"`
	// UserID is the Kisi user a role is assigned to.
	UserID int64 `json:"user_id,omitempty"`
	// Window is the validity sent to Kisi (roles and links).
	Window  schedule.Interval `json:"window,omitzero"`
	Sources []Source          `json:"sources,omitempty"`

	// Link fields.
	BookingID string `json:"booking_id,omitempty"`
	Name      string `json:"name,omitempty"`
	SendLink  bool   `json:"send_link,omitempty"`
	QR        bool   `json:"qr,omitempty"`
	Secret    string `json:"secret,omitempty"`
	QRImage   string `json:"qr_image,omitempty"`
	// Notified is set once a [Notifier] accepted the created link.
	Notified bool `json:"notified,omitempty"`

	// User fields.
	// Created: the SDK created this Kisi user (it carries the metadata mark).
	Created bool `json:"created,omitempty"`
	// Managed: a managed user (no Kisi email).
	Managed bool `json:"managed,omitempty"`
	// Invited: the user's one Kisi invitation (a notify:true grant) is done,
	// or not needed.
	Invited bool `json:"invited,omitempty"`
	// Confirmed: Kisi reported the user confirmed.
	Confirmed bool `json:"confirmed,omitempty"`

	// Park fields: why the change or group is parked (Kisi's message),
	// its failure class, how often it failed in a row and when it is tried
	// again.
	Reason   string       `json:"reason,omitempty"`
	Class    FailureClass `json:"class,omitempty"`
	Attempts int          `json:"attempts,omitempty"`
	RetryAt  time.Time    `json:"retry_at,omitzero"`

	// Updated is when the reconciler last wrote the record (its clock).
	Updated time.Time `json:"updated,omitzero"`
}

// RoleKey is the key of the role record of (email, group).
func RoleKey(email string, groupID int64) string {
	return "role/" + strconv.FormatInt(groupID, 10) + "/" + email
}

// LinkKey is the key of the link record of (booking, group).
func LinkKey(bookingID string, groupID int64) string {
	return "link/" + strconv.FormatInt(groupID, 10) + "/" + bookingID
}

// UserKey is the key of the user record of email.
func UserKey(email string) string { return "user/" + email }

// parkKey is the key of the park record of the change whose record key is
// key.
func parkKey(key string) string { return "park/" + key }

// groupParkKey is the key of the park record of a group found deleted in
// Kisi, under the mapping whose fingerprint is mappingFP: a new mapping
// releases it.
func groupParkKey(groupID int64, mappingFP string) string {
	return "park/group/" + strconv.FormatInt(groupID, 10) + "/" + mappingFP
}

// NewMemoryStore returns a [Store] kept in memory, safe for concurrent use.
// Its records live as long as the value; it suits tests, examples and hosts
// that run Verify after each restart. It is the same implementation as
// [github.com/kisisync/kisisync/access/memstore.New].
func NewMemoryStore() Store {
	return &memoryStore{orgs: make(map[string]*memOrg)}
}

type memOrg struct {
	holder  string
	expires time.Time
	// token is the current term's token when holder is set, else the last
	// one; tokens only grow.
	token int64
	// records are the organization's records, in key order unless
	// unsorted is set (a key was added out of order or removed since
	// Load last sorted them); index holds the position of each key.
	records  []Record
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

type memoryStore struct {
	mu   sync.Mutex
	orgs map[string]*memOrg
}

func (m *memoryStore) org(name string) *memOrg {
	o := m.orgs[name]
	if o == nil {
		o = &memOrg{index: make(map[string]int)}
		m.orgs[name] = o
	}
	return o
}

// Lease implements [Store]. It compares the caller's now and expires: the
// memory store lives in one process, on one clock.
func (m *memoryStore) Lease(ctx context.Context, org, holder string, now, expires time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if holder == "" {
		return 0, errors.New("access: memory store: empty lease holder")
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
			return 0, &LeaseHeldError{Organization: org, Expires: o.expires}
		}
		o.holder = holder
		o.token++
	}
	o.expires = expires
	return o.token, nil
}

// fenced reports whether token is not org's current term; m.mu is held.
func (m *memoryStore) fenced(org string, token int64) error {
	if o := m.orgs[org]; o == nil || o.holder == "" || o.token != token {
		return fmt.Errorf("access: memory store: token %d of %q: %w", token, org, ErrLeaseLost)
	}
	return nil
}

// Load implements [Store].
func (m *memoryStore) Load(ctx context.Context, org string) ([]Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o := m.orgs[org]
	if o == nil {
		return []Record{}, nil
	}
	// The records are kept in key order: copy them, and the sources in
	// one allocation.
	o.sort()
	out := make([]Record, len(o.records))
	copy(out, o.records)
	nSources := 0
	for i := range out {
		nSources += len(out[i].Sources)
	}
	sources := make([]Source, 0, nSources)
	for i := range out {
		if src := out[i].Sources; src != nil {
			n := len(sources)
			sources = append(sources, src...)
			out[i].Sources = sources[n:len(sources):len(sources)]
		}
	}
	return out, nil
}

// Put implements [Store].
func (m *memoryStore) Put(ctx context.Context, org string, token int64, rec Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if rec.Key == "" {
		return errors.New("access: memory store: record with empty key")
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

// Delete implements [Store].
func (m *memoryStore) Delete(ctx context.Context, org string, token int64, key string) error {
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
		o.records[last] = Record{}
		o.records = o.records[:last]
		delete(o.index, key)
	}
	return nil
}

func cloneRecord(r Record) Record {
	r.Sources = slices.Clone(r.Sources)
	return r
}
