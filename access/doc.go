// Package access turns what a coworking platform knows (plans, allowances,
// bookings, assignments, check-ins) into exactly the right Kisi door access
// at the right times, and keeps Kisi in step with it.
//
// Its one job is converging: it has two halves, a pure one ([Desired],
// [Access], [Links], [NextChange], [Explain]), which computes access from a
// [Snapshot], a mapping.Mapping and a [Policy] without I/O; and the
// [Reconciler], which makes Kisi hold that access through a [KisiAPI] (a
// *kisi.Client) and records what it created in a [Store]. It imports
// schedule, mapping, kisi (for the types of [KisiAPI]), access/reason (the
// codes of [Explanation]), access/state (the records a [Store] keeps) and
// the module's internal helpers (the one copy of the Kisi glue and of the
// text style).
//
// # Usage
//
//	client, err := kisi.NewClient(apiKey)
//	...
//	r, err := access.NewReconciler(client, store, m, access.DefaultPolicy(),
//		access.WithOrganization("acme"))
//	...
//	rep, err := r.Sync(ctx, snapshot) // on each change, and at rep.NextRun
//	if rep != nil {
//		schedule(rep.NextRun)
//	}
//
// # Desired access
//
// [Desired] returns, for a snapshot at an instant, one [Grant] per (member,
// group): the window Kisi should hold. [Links] returns the group links that
// drop-in bookings want, and [Access] every merged window over a horizon.
// Records that cannot be used are reported as [RecordError]s while every
// valid record still counts; a record referring to a rejected one says so
// with a [*DependencyError]. [Explain] answers "why does (or doesn't) this
// member have access to group G at time T": every source considered, its
// window and the first reason it does not apply, each with a stable
// [reason.Code]. It asks the same admission decision as [Desired], so the
// two cannot disagree on whether a record counts.
//
// Kisi holds one role per user and group, so for each (member, group) the
// reconciler keeps the merged window in force now, or else the next one that
// starts within [Policy.Lead] (the slot rule). Kisi enforces valid_from and
// valid_until itself, so access opens and closes on time even while the
// host is down. Every role carries a valid_until: an open-ended window is
// held as a rolling window at most [Policy.Validity] ahead (default
// [DefaultValidity], 14 days), renewed when less than half remains,
// preferably at night, so access nobody ends any more ends by itself.
//
// # The reconciler
//
// [NewReconciler] does no I/O and starts no goroutine. A run is
// level-triggered and idempotent: [Reconciler.Sync] is [Reconciler.Plan]
// then [Reconciler.Apply] under the Store's lease, and a second Sync with
// the same snapshot does nothing.
//
// Plan is the dry run. It compares the desired grants and links with the
// Store (no Kisi reads unless a create of an earlier run is still pending)
// and returns [Changes], which print like a Terraform plan and marshal to
// JSON, in this order: Store corrections for interrupted creates
// ([ActionAdopt], [ActionForget]), pure revocations and the cleanup of
// expired links, replacements (delete then create back to back — a link in
// force is created before its old one is deleted —, or one verified PATCH
// with [WithPatchValidity]), creates with the soonest window
// first, and the cleanup of expired roles. Plan also reads the roles of each
// group that gets new grants, to show a grant a hand-made role would block
// ([Changes.Conflicts]); Sync skips that read.
//
// Apply makes the changes in that order. It records an intent in the Store
// before every create and settles it after, so the outcome of a lost
// response or a crash (kisi.ErrMaybeApplied) is looked up in Kisi on the
// next run and adopted, never created twice; while the lookup fails, the
// intent is left alone. A replacement whose create has an unknown outcome
// while the member is inside the window is looked up and created again in
// the same run, so nobody waits at the door until the next run.
//
// Failures have classes ([FailureClass], listed in [Report.Failures]). One
// failing change does not stop the others, unless the failure is systemic
// (the key refused, Kisi unreachable, a run of server errors, the Store
// failing): then the run stops at once with a *[SystemicError] and NextRun
// backs off. A group deleted in Kisi parks its grants, and a refused change
// is parked with back-off ([Report.Parked]), so neither storms Kisi.
// [WithProgress] follows a long Apply change by change.
// Apply trusts [Changes] only as far as its own Store confirms them, so a
// plan kept as JSON for review is safe to apply later: it refuses a plan of
// another organization or of a Store that changed since ([ErrStalePlan]),
// never deletes an object its Store does not record, and skips creates
// whose window ended in the meantime.
//
// # Scheduling with NextRun
//
// [Report.NextRun] is the next instant the desired access changes: a window
// entering its lead time, a window ending (a booking, a plan, a check-in at
// the end of its local day) or a drop-in link's window ending. A host runs
// Sync when its data changes and at NextRun, instead of polling; after a
// run with failures or unresolved intents NextRun is at most
// [WithRetryAfter] away. [NextChange] computes the same instant without a
// Reconciler.
//
// # The revoke guard
//
// The guard protects against a broken upstream, not against routine life.
// It judges every cut of access in force or entering Kisi within the lead
// time — deletions and shortenings — by its cause ([Change.Cut]): a cut a
// valid record asks for ([CutExplicit]: a cancelled plan, a check-out, a
// suspended member) is always applied, and a record the snapshot holds but
// rejects never cuts. Cuts whose sources all vanished from the snapshot
// ([CutVanished]) may reach [WithRevokeLimit] (25%) of the managed grants
// and links in force, vanished and changed ones together
// ([CutExplained]) [WithExplainedRevokeLimit] (50%), beyond a floor of
// [WithRevokeFloor], over the whole organization and in each location and
// kind of source ([Changes.GroupLocations]). A record adopted by Verify
// without its sources is judged by its member's records that the mapping
// sends to its group. A run beyond either applies
// everything else, holds only the cuts ([Report.Held]) and returns a
// *[RevokeLimitError] until the plan is approved with [Changes.Approve] (or
// every plan with [WithApproveRevocations]). Bounding or renewing a rolling
// window is not a cut. Apply counts the cuts itself from its Store.
//
// # Verify
//
// [Reconciler.Verify] lists Kisi per mapped group (and per group the Store
// still has records in) to find drift: managed objects deleted or edited by
// hand (re-created or restored by the next run), orphans of interrupted
// runs (adopted), roles held by users this SDK created — its users carry a
// metadata tag, so this survives a lost Store — (adopted; the next run ends
// those no longer wanted), users left unconfirmed (reported) and objects it
// does not manage (reported, never touched, unless [WithExclusiveGroups]
// declares the mapped groups the platform's: then adopted too). It writes only to the Store. Steady
// state runs do not need it; call it periodically or after restoring a
// Store. A Sync verifies first by itself on an empty Store, after an
// interrupted run, and in a process that ran on while its Store was
// restored from an older backup (the Store counts the runs that wrote to
// Kisi, and the count went back).
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
// holds a role given by hand is reported as a [Conflict] and retried only
// once the wanted grant changes, with back-off on the user and group.
// A role this SDK made for a user it did not create cannot be told from
// one given by hand once its Store is lost: it is a conflict too, left to
// end at its valid_until, and reported while the platform no longer wants
// that access.
//
// # Drop-in links
//
// A drop-in booking by a guest gets a Kisi group link per mapped group,
// valid for the booking widened by the buffer and emailed by Kisi (link,
// QR code or both per mapping.DropIn); with neither option set no link is
// created and no email goes out. With mapping.DropIn.AddToGroup the guest
// also gets a Kisi user and the groups, like a member booking (see
// [Grant].Guest). Deleting the booking deletes the
// link in the same run; moving it replaces the link. A [Notifier] receives
// each link's secret and QR code for hosts that send their own email, and
// [Report.Links] counts email links against Kisi's limit of [kisi.EmailLinkLimit].
//
// # The Store contract
//
// A [Store] keeps one [state.Record] per Kisi object, keyed by organization
// and [state.Record].Key, written record by record as side effects happen
// (never a whole-state rewrite, so no transactions are needed), and a lease
// so that two runs of one organization exclude each other: the second fails
// fast with an error matching [state.ErrLeaseHeld]. Writes are fenced by the
// lease term's token: a run whose lease was taken over can no longer write,
// and stops with an error matching [state.ErrLeaseLost]. Its method comments
// are the contract; the records and the lease errors are in access/state,
// which a Store backend imports instead of this package. [NewMemoryStore]
// (also access/memstore) keeps records in memory; the modules access/pgstore
// (PostgreSQL) and access/sqlitestore (SQLite) keep them in a database;
// access/storetest is the conformance suite every implementation runs, with
// two handles on one backing store.
//
// # Where things are decided
//
// Each rule of the design is decided in one place; the files are named
// after the steps of a run.
//
//   - Snapshot and policy types, and their JSON: snapshot.go, options.go.
//   - Validation of a snapshot (ids, emails, zones, references), once per
//     run, and the buffer in force per resource: index.go;
//     [NormalizeEmail]: identity.go.
//   - Each source's window (plan status and team plans, allowances, the
//     buffer widening bookings and drop-in links alike, assignments and their weekly rules, check-ins
//     ending at local midnight, suspension): admit.go, one admit function
//     per source kind. DST and wall times: the schedule package.
//   - Merging windows per (member, group) (none for a suspended member) and
//     the slot rule: engine.go; the lead time and [NextChange]: desired.go; drop-in links: links.go; why (not): explain*.go.
//   - Bounded windows, the rolling bound and the renewal night of each
//     group's location: renewal.go.
//   - The plan: plan.go (reading the Store, settling intents of lost
//     answers), incremental.go (what a Reconciler keeps of the last
//     snapshot it planned, and which members a plan computes again),
//     diff.go (what to create, replace, delete, and their order),
//     parked.go (what waits for its back-off, and the email-link quota).
//   - The revoke guard — what counts as a cut, each cut's cause, the
//     limits: guard.go.
//   - Apply: apply.go (the run, its order and its Store writes),
//     apply_roles.go (creates, renewals by PATCH or delete-then-create, a
//     member never left without a role, refusals and unknown outcomes),
//     apply_users.go (finding and creating Kisi users), apply_links.go
//     (links and their notifications, a guest's place in the email-link
//     quota, a link in force replaced by creating the new one first),
//     inflight.go (requests in flight, [WithRequestsInFlight]), creates.go
//     (what the Store remembers of failing role creates: no role in force
//     is replaced while they fail, one exposure per incident).
//   - Failure scopes: failure.go (classifying an error), scope.go (parking
//     a change, a user or a group, and stopping the run only for the
//     organization's failures).
//   - Fencing Kisi writes by the lease: fence.go.
//   - Ownership and drift: verify.go; the Store's contract: store.go.
//
// # Many organizations
//
// One Reconciler serves one Kisi organization (one API key). A host with
// many runs one Reconciler per organization, each with
// [WithOrganization], as independent jobs in its own job system; one Store
// can serve them all, and its lease keeps two runs of one organization
// apart, on one machine or many.
//
// # Troubleshooting and attendance
//
// Two packages sit beside this one and use its types. access/troubleshoot
// inspects, read only, what only Kisi knows: its Checker checks the API key
// and the mapped groups (CheckConnection) and adds to [Explain] what Kisi
// holds for one member (Diagnose: no Kisi user, unconfirmed, role missing
// or expired, recent unlock failures with their error codes decoded); it
// also grants and revokes a support team's read-only Observer role.
// access/attendance turns Kisi unlock events into [CheckIn] records, so
// door use can count as attendance.
//
// # Concurrency and errors
//
// A [Reconciler] is safe for concurrent use; its runs (and those of any
// other Reconciler of the same organization and Store) are serialized by
// the lease. Errors come back as returned values, never logged:
// [state.ErrLeaseHeld], [ErrStalePlan], *[RevokeLimitError], *[SystemicError],
// and the joined errors of failed changes (which wrap the kisi package's
// typed errors).
// Snapshot records that cannot be used are listed in [Report.Skipped], as
// *[RecordError] values to test with errors.Is, while every valid record is
// synced.
//
// # A reference twin
//
// The tests check [Desired] against a slow, plain twin written from the
// design's semantics table, on generated spaces and fuzzed snapshots. They
// allow one difference, the one [Access] documents: a window continued
// through another source's window by weekly occurrences far from the
// horizon can come back shorter.
package access
