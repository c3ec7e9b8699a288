package access

import (
	"context"
	"strconv"
	"time"

	"github.com/kisisync/kisisync/access/memstore"
	"github.com/kisisync/kisisync/access/state"
)

// Store persists what the reconciler created in Kisi, one [state.Record] per
// object, for any number of organizations, and a run lease per
// organization. The doc comments of its methods are its contract;
// [github.com/kisisync/kisisync/access/storetest] checks them, with two
// handles on one backing store as two processes would see it.
// Implementations must be safe for concurrent use.
//
// The reconciler writes record by record, as each Kisi side effect happens:
// an intent ([state.StatePending]) before a create and the settled record
// after it. A Store therefore never needs transactions across records.
//
// # Fencing
//
// Each grant of the lease to a holder that did not hold it starts a new
// term with a new token, greater than every token of org before it. Put
// and Delete take the token of the caller's term and succeed only while
// that term is current, checked atomically with the write (in the same SQL
// statement, or under the same lock). A run whose lease was taken over, or
// released, can therefore never write again: its writes fail with an
// error matching [state.ErrLeaseLost], and the reconciler stops the run.
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
	// [state.ErrLeaseHeld]) is true (ideally a *[state.LeaseHeldError]) and changes
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
	Load(ctx context.Context, org string) ([]state.Record, error)

	// Put stores rec in org under rec.Key, replacing any record with that
	// key, if token is the token of org's current lease term; otherwise it
	// changes nothing and returns an error matching [state.ErrLeaseLost]. It
	// keeps a copy: later changes to rec do not reach the Store. A record
	// with an empty Key is refused with an error.
	Put(ctx context.Context, org string, token int64, rec state.Record) error

	// Delete removes the record with key from org, fenced like Put: if
	// token is not the token of org's current lease term it changes
	// nothing and returns an error matching [state.ErrLeaseLost]. Deleting a key
	// that does not exist is not an error.
	Delete(ctx context.Context, org string, token int64, key string) error
}

// parkKey is the key of the park record of the change whose record key is
// key.
func parkKey(key string) string { return "park/" + key }

// groupParkKey is the key of the park record of a group found deleted in
// Kisi, under the mapping whose fingerprint is mappingFP: a new mapping
// releases it.
func groupParkKey(groupID int64, mappingFP string) string {
	return "park/group/" + strconv.FormatInt(groupID, 10) + "/" + mappingFP
}

// orgParkKey is the key of the record of the organization's failing runs
// in a row, whose back-off NextRun follows.
const orgParkKey = "park/organization"

// runMarkKey is the key of the record a run writes before its first Kisi
// write and deletes when it ends: found by a later run, it tells that a run
// was interrupted in the middle of its writes.
const runMarkKey = "park/run"

// writtenKey is the key of the record that counts, in Attempts, the runs
// that wrote to Kisi: a Reconciler remembers the count it last saw, so a
// Store found holding a lower one was restored from an older backup.
const writtenKey = "park/written"

// patchParkKey is the key of the record that Kisi does not change a role's
// window with PATCH in this organization.
const patchParkKey = "park/patch"

// patchVerifiedKey is the key of the record that Kisi changed a role's
// window with PATCH in this organization, as read back once.
const patchVerifiedKey = "park/patch/verified"

// quotaParkKey is the key of the record that Kisi refused a link for its
// email-link quota, which counts links the SDK did not make: links for
// bookings beyond linkHorizon wait for its back-off (see quota), until one
// of them fits again.
const quotaParkKey = "park/quota"

// forbiddenKey is the key of the park record of the roles (object grant)
// or the links of a group, on which Kisi refused the API key (403): a key
// may lack the right to write links alone.
// userParkKey is the key of the park record of a member's Kisi user whose
// create failed: every grant of the email waits for its back-off.
func userParkKey(email string) string { return "park/" + state.UserKey(email) }

func forbiddenKey(groupID int64, object ObjectKind) string {
	return "park/forbidden/" + strconv.FormatInt(groupID, 10) + "/" + string(object)
}

// NewMemoryStore returns a [Store] kept in memory, safe for concurrent use.
// Its records live as long as the value; it suits tests, examples and hosts
// that run Verify after each restart. It is
// [github.com/kisisync/kisisync/access/memstore.New].
func NewMemoryStore() Store { return memstore.New() }
