// Package access turns what a coworking platform knows (plans, allowances,
// bookings, assignments, check-ins) into exactly the right Kisi door access
// at the right times, and keeps Kisi in step with it.
//
// It has two halves: a pure one ([Desired], [Access], [Links], [Explain]),
// which computes access from a [Snapshot], a mapping.Mapping and a
// [Policy] without I/O; and the [Reconciler], which makes Kisi hold that
// access through a [KisiAPI] (a *kisi.Client) and records what it created
// in a [Store].
//
// # Usage
//
//	client, err := kisi.NewClient(apiKey)
//	...
//	r, err := access.NewReconciler(client, access.NewMemoryStore(), m, access.DefaultPolicy(),
//		access.WithOrganization("acme"))
//	...
//	rep, err := r.Sync(ctx, snapshot) // every few minutes, on each change, and at rep.NextRun
//	if rep != nil {
//		schedule(rep.NextRun)
//	}
//
// [Reconciler.Plan] is the dry run: its [Changes] print like a Terraform
// plan and marshal to JSON; [Reconciler.Apply] applies them.
//
// # The slot rule
//
// Kisi holds one role per user and group, so for each (member, group) the
// reconciler keeps the merged window in force now, or else the next one that
// starts within [Policy.Lead]. Kisi enforces valid_from and valid_until
// itself, so access opens and closes on time even while the host is down;
// [Report.NextRun] says when the next window enters its lead time or ends.
//
// # A run
//
// A run is level-triggered and idempotent. It computes the desired grants
// and drop-in links, compares them with the Store (no Kisi reads when
// nothing is pending) and plans, in this order: Store corrections for
// interrupted creates ([ActionAdopt], [ActionForget]), pure revocations,
// replacements (delete then create back to back, or one verified PATCH
// with [WithPatchValidity]), creates with the soonest window first, and
// cleanup of expired objects. Apply records an intent in the Store before
// every create and settles it after, so a lost response or a crash is
// looked up in Kisi on the next run and adopted, never created twice. One
// failing change does not stop the others; failures are counted, joined
// into the returned error and retried next run.
//
// [Reconciler.Verify] lists Kisi per mapped group to find drift: managed
// objects deleted or edited by hand (re-created or restored by the next
// run), orphans of interrupted runs (adopted), users left unconfirmed
// (reported) and objects it does not manage (reported, never touched).
//
// # Guard
//
// A plan that would revoke more than a share of the managed grants and
// links (default 25%, [WithRevokeLimit], beyond a floor of
// [WithRevokeFloor]) is not applied: Apply and Sync return a
// *[RevokeLimitError] until the plan is approved with [Changes.Approve]. An
// empty or truncated snapshot from a broken upstream cannot lock a space
// out.
//
// # Identity and ownership
//
// Members are matched to Kisi users by email, trimmed and case-folded
// ([NormalizeEmail]). A missing user is created — a managed member as a
// managed user (no Kisi email), anyone else as a regular user whose first
// grant carries Kisi's one invitation (notify) — and marked with the
// metadata [MetadataKey]: [MetadataValue]. Kisi user ids are cached in the
// Store. The reconciler never deletes a Kisi user, and never deletes or
// edits a role or link it did not create: a create refused because the user
// holds a role given by hand is reported as a [Conflict].
//
// # Drop-in links
//
// A drop-in booking by a guest gets a Kisi group link per mapped group,
// valid for the booking widened by the buffer and emailed by Kisi (link,
// QR code or both per mapping.DropIn). Deleting the booking deletes the
// link in the same run; moving it replaces the link. A [Notifier] receives
// each link's secret and QR code for hosts that send their own email, and
// [Report.Links] counts email links against Kisi's limit of [LinkLimit].
//
// # Store
//
// A [Store] keeps one [Record] per Kisi object, per organization, written
// record by record as side effects happen, and a lease so that two runs of
// one organization exclude each other (the second fails fast with an error
// matching [ErrLeaseHeld]). [NewMemoryStore] (also access/memstore) keeps
// them in memory; access/storetest is the conformance suite for any other
// implementation.
//
// # Concurrency and errors
//
// A [Reconciler] is safe for concurrent use; runs of one organization are
// serialized by the Store's lease. Errors come back as returned values,
// never logged: [ErrLeaseHeld], [ErrStalePlan], *[RevokeLimitError], and
// the joined errors of failed changes (which wrap the kisi package's typed
// errors). Snapshot records that cannot be used are listed in
// [Report.Skipped] while every valid record is synced.
package access
