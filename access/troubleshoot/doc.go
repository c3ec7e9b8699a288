// Package troubleshoot inspects, read only, what only Kisi knows about an
// integration: whether the API key works and may write, what state the
// mapped groups are in, and why one member can or cannot get in. Its one
// job is to explain; it never changes access (the reconciler of package
// access does that), except that [GrantObserver] and [RevokeObserver]
// manage a support team's read-only Observer role on request.
//
// It imports access (the snapshot, policy, Explain and Store types),
// mapping, kisi, and the module's internal Kisi glue and text formatting.
// It reads Kisi through its own interface [Kisi], which *kisi.Client
// satisfies, so a host's wrapper around the client (metrics, tracing, an
// adapter) works too: nothing asserts a concrete client type.
//
// # Usage
//
//	chk, err := troubleshoot.New(client, m, access.DefaultPolicy(),
//		troubleshoot.WithStore(store, "acme"))
//	...
//	rep, err := chk.CheckConnection(ctx) // the key and every mapped group
//	fmt.Print(rep)
//	d, err := chk.Diagnose(ctx, snapshot, "member-42", time.Now())
//	fmt.Print(d) // findings, most serious first, each with a remedy
//
// # Findings
//
// Every check reports [Finding]s: a [Severity], a stable [Code] (one of the
// Code… constants, distinct from Kisi's six-character unlock error codes of
// [kisi.ErrorCode]), a sentence and a remedy. Reports and diagnoses marshal
// to JSON for a host's admin page and render as text with String.
//
// # The API key
//
// [Checker.CheckConnection] tells a key that may write by the permissions
// GET /roles lists for its user's organization role (users_write,
// role_assignments_write, group_links_write), since no Kisi source lists
// the ids of the organization roles. Only when the roles cannot be read (a
// [Kisi] without ListRoles, such as a wrapper of the client, or a failed
// read) does it fall back on the ids organization_owner and
// organization_administrator, and says so ([KeyInfo].AdminByRoleID).
//
// # Options and errors
//
// A [Checker] is configured once by [Option]s ([WithClock], [WithStore],
// [WithUnlockLookback], [WithMaxAttempts], [WithEmailLinkWarning],
// [WithUnknownConfirmationReported], [WithUnsignedWebhooks]) and is safe
// for concurrent use. Kisi's failures (an invalid key, Kisi
// unreachable, a missing group) are findings, not errors: the methods
// return an error only when ctx ends or the snapshot cannot be explained.
// [GrantObserver] and [RevokeObserver] return errors that match
// [ErrNoObserverRole], [ErrOtherOrganizationRole] or the kisi package's
// typed errors.
package troubleshoot
