package access

import (
	"context"
	"errors"
	"fmt"

	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/internal/kisiglue"
	"github.com/kisisync/kisisync/kisi"
)

// ensureUser returns the user record of ch.Email: from the Store, else
// from the run's listing of the organization's users, else created — and
// looked up only when Kisi answers that the email is taken (a user created
// by hand, or by this SDK before a lost response).
func (ru *run) ensureUser(ctx context.Context, ch Change) (state.Record, error) {
	key := state.UserKey(ch.Email)
	prev, had := ru.recs[key]
	if had && prev.KisiID != 0 {
		return prev, nil
	}
	// A user deleted in Kisi keeps its record without an id: the invitation
	// it had survives, so the user found or created again gets none.
	invited := had && prev.Invited
	if u, ok := ru.known[ch.Email]; ok {
		return ru.foundUser(ctx, ch, u)
	}
	if had && prev.State == state.StateGone && !ru.r.o.recreateUsers {
		// Deleted by hand: only a user someone created again counts.
		found, err := ru.findUser(ctx, ch.Email)
		switch {
		case err != nil:
			return state.Record{}, ru.parkUser(ctx, ch, fmt.Errorf("find user: %w", err))
		case found == nil:
			return state.Record{}, ru.userDeleted(ctx, ch, nil)
		}
		return ru.foundUser(ctx, ch, found)
	}
	req := &kisi.UserCreateRequest{Email: ch.Email, Name: ch.Name, Metadata: map[string]any{MetadataKey: MetadataValue}}
	if ch.Managed {
		req.SendEmails, req.Confirm = kisi.Ptr(false), kisi.Ptr(true)
	}
	u, _, err := ru.k.CreateUser(ctx, req)
	switch {
	case err == nil:
		ru.rep.UsersCreated++
		rec := state.Record{Key: key, Kind: state.KindUser, KisiID: u.ID, Email: ch.Email, MemberID: ch.MemberID,
			Created: true, Managed: ch.Managed, Invited: invited || ch.Managed, Confirmed: u.Confirmed}
		return rec, ru.putUser(ctx, rec)
	case !emailTaken(err) && !errors.Is(err, kisi.ErrMaybeApplied):
		return state.Record{}, ru.parkUser(ctx, ch, fmt.Errorf("create user: %w", err))
	}
	// The email is taken, or the create may have happened with its answer
	// lost: one lookup settles it.
	found, ferr := onceMore(func() (*kisi.User, error) { return ru.findUser(ctx, ch.Email) })
	if ferr != nil {
		return state.Record{}, ru.parkUser(ctx, ch, fmt.Errorf("find user: %w", ferr))
	}
	if found == nil {
		return state.Record{}, ru.parkUser(ctx, ch, fmt.Errorf("create user: %w; no user with this email was found", err))
	}
	return ru.foundUser(ctx, ch, found)
}

// parkUser parks the Kisi user of ch after its create or its lookup failed
// with cause (refused, failing, or lost and not found): every grant of the email
// waits for one back-off, the user's, rather than each for its own. A
// failure of the whole organization or of the group is left to its scope.
func (ru *run) parkUser(ctx context.Context, ch Change, cause error) error {
	class := classify(cause)
	if class == FailureSystemic || class == FailureForbidden {
		return cause
	}
	rec := state.Record{Key: userParkKey(ch.Email), Kind: state.KindPark, Email: ch.Email, Class: class,
		Reason: cause.Error()}
	return fmt.Errorf("%w (%w)", errUserParked, ru.backOff(ctx, ch, rec, cause))
}

// errUserParked marks the failure of a change whose user is parked (see
// parkUser): the change itself is not parked again.
var errUserParked = errors.New("the member's Kisi user waits for its back-off")

// foundUser records a Kisi user that existed before this run wanted it.
func (ru *run) foundUser(ctx context.Context, ch Change, u *kisi.User) (state.Record, error) {
	created := kisiglue.MarkedBySDK(u)
	rec := state.Record{Key: state.UserKey(ch.Email), Kind: state.KindUser, KisiID: u.ID, Email: ch.Email, MemberID: ch.MemberID,
		Created: created, Managed: ch.Managed, Confirmed: u.Status() == kisi.UserStatusActive,
		// A user someone else created already had Kisi's invitation; one
		// of this SDK's got it with its first grant (a lost Store does not
		// tell which; a second email would do more harm than none, and
		// Diagnose reports the users who never signed in).
		Invited: true}
	return rec, ru.putUser(ctx, rec)
}

// putUser records a Kisi user the run created or found, and ends its
// back-off.
func (ru *run) putUser(ctx context.Context, rec state.Record) error {
	if err := ru.put(ctx, rec); err != nil {
		return err
	}
	if _, ok := ru.recs[userParkKey(rec.Email)]; ok {
		return ru.del(ctx, userParkKey(rec.Email))
	}
	return nil
}

// emailTaken reports Kisi's answer to a user create for an email that has a
// user already: a 422 on the email field, or a 200 with the existing user
// (kisi.ErrEmailTaken matches both).
func emailTaken(err error) bool {
	return errors.Is(err, kisi.ErrEmailTaken)
}

// findUser looks a user up by email (Kisi's query filter, all pages, exact
// match of the normalized email); nil if there is none.
func (ru *run) findUser(ctx context.Context, email string) (*kisi.User, error) {
	for u, err := range kisi.Items(ctx, ru.r.k.ListUsers, &kisi.UserListOptions{Query: email}) {
		if err != nil {
			return nil, err
		}
		if kisi.NormalizeEmail(u.Email) == email {
			return u, nil
		}
	}
	return nil, nil
}

// listUsersMin is the number of users a run must create or find before it
// considers listing the organization's users instead of creating first.
const listUsersMin = 100

// prefetchUsers lists the organization's users once when that is cheap next
// to the users the run needs: at least listUsersMin unknown emails, and a
// listing of at most a tenth as many requests. Onboarding a space whose
// members mostly have Kisi users then costs one request per hundred users
// instead of a refused create and a lookup each; a space whose members are
// new pays at most 10% more. The listing stops at the first page when it
// would cost more. Its error is that of a failed listing.
func (ru *run) prefetchUsers(ctx context.Context, c *Changes) error {
	need := make(map[string]bool)
	for _, ch := range c.Changes {
		if ch.Object != ObjectGrant || (ch.Action != ActionCreate && ch.Action != ActionReplace) {
			continue
		}
		if rec, ok := ru.recs[state.UserKey(ch.Email)]; !ok || rec.KisiID == 0 {
			need[ch.Email] = true
		}
	}
	if len(need) < listUsersMin {
		return nil
	}
	ru.known = make(map[string]*kisi.User)
	for page, err := range kisi.Pages(ctx, ru.k.ListUsers, nil) {
		if errors.Is(err, kisi.ErrOffsetCap) {
			return nil // the users beyond Kisi's offset cap are created first
		}
		if err != nil {
			ru.known = nil
			return err // creating first still works, unless the failure is systemic
		}
		for _, u := range page.Items {
			ru.known[kisi.NormalizeEmail(u.Email)] = u
		}
		if total := page.Response.Total; page.Offset == 0 && total > 0 && (total+kisi.MaxLimitUsers-1)/kisi.MaxLimitUsers > len(need)/10 {
			ru.known = nil // too many users to list: create first
			return nil
		}
	}
	return nil
}
