// Package kisi is a typed client for the Kisi REST API (https://api.kisi.io):
// role assignments, roles, groups, group locks, group links, users, places,
// locks, the organization, teams, team memberships, event sets,
// integrations and schedules, plus helpers for Kisi's signed event
// webhooks.
//
// Usage:
//
//	c, err := kisi.NewClient(os.Getenv("KISI_API_KEY"))
//	if err != nil { ... }
//	ra, _, err := c.RoleAssignments.Create(ctx, &kisi.RoleAssignmentCreateRequest{
//		RoleID:        kisi.RoleGroupBasic,
//		AppliesToType: kisi.ScopeGroup, AppliesToID: groupID,
//		AssigneeType:  kisi.AssigneeUser, AssigneeID: userID,
//		ValidFrom:     kisi.Ptr(start), ValidUntil: kisi.Ptr(end),
//	})
//	switch {
//	case errors.Is(err, kisi.ErrValidation): // e.g. the user already holds a role in the group
//	case errors.Is(err, kisi.ErrMaybeApplied): // list and reconcile before creating again
//	}
//
// # Client
//
// [NewClient] takes the API key and [Option] values ([WithBaseURL],
// [WithHTTPClient], [WithLogger], [WithRateLimit], [WithLimiter],
// [WithRetry], [WithUserAgent], [WithIntegration], [WithClock]). A [Client] is immutable and safe for
// concurrent use; it holds no package-level state and starts no goroutines.
// Each resource is a service field ([Client.RoleAssignments],
// [Client.Users], …) with Get/List/Create/Update/Delete as Kisi offers them.
// A few flat methods such as [Client.CreateRoleAssignment] forward to the
// services so that narrow interfaces can name them; they are generated
// from the list in forwards.txt (go generate), so adding one is a line
// there. [Client.Do] reaches an endpoint no service wraps yet with a
// [Request], through the same key, pacing, retries and typed errors.
//
// Kisi answers a create with 200 and the object, an update (PATCH) with 204
// and no body, a delete with 204.
//
// Kisi asks integration partners to identify themselves with the
// X-Kisi-Integration-Identifier and X-Kisi-Integration-Contact headers (its
// documentation calls them required in one place, recommended in another):
// [WithIntegration]("acme-coworking", "ops@acme.example") sends both on every
// request.
//
// # Rate limit and retries
//
// Kisi allows 5 requests per second per user, shared by all keys of that
// user, and answers 429 without Retry-After above it. Every attempt,
// retries included, waits for a token of the client's limiter (default 5/s,
// burst 1; [WithRateLimit] with rate.Inf turns it off). Clients whose keys
// belong to one Kisi user share one budget: give each the same
// *rate.Limiter with [WithLimiter]. POST /event_sets has Kisi's own limit of
// 1 per second ([EventSetRateLimit]); the client paces it to that on top of
// the per-user limit.
//
// Retries (default 4, [WithRetry]) use capped exponential backoff with
// jitter on the client's clock and stop when the context is done:
//
//   - GET, PATCH and DELETE are retried on transport errors and on 429, 502,
//     503 and 504;
//   - POST is retried on 429 and on transport errors that happened before
//     the request was written (dial errors, refused connections), since
//     Kisi never saw it. Kisi has no idempotency keys, so a POST that broke
//     after it was sent, or that got a 5xx answer, is not re-sent: its error
//     matches [ErrMaybeApplied] and the caller should list and reconcile.
//
// A DELETE retried after its first answer was lost can find the object
// already gone and report [ErrNotFound]; treat that as deleted.
//
// # Errors
//
// A response of 400 or above becomes an [*Error] with the status, Kisi's
// [ErrorCode] and message, and per-field messages of a 422. Use errors.Is
// with [ErrNotFound], [ErrUnauthorized], [ErrForbidden], [ErrRateLimited],
// [ErrValidation], [ErrConflict], [ErrRejected] (any 4xx but 429) and
// [ErrMaybeApplied], and errors.As for the details. Error texts and log lines never contain the API key or URL
// query values; formatting a [Client] with any verb prints REDACTED for the
// key. [ErrorCode.Description] explains Kisi's error codes, e.g. those of
// failed unlocks in events ([CodeAccessNotYetValid] is "f358de").
//
// # Pagination
//
// List methods return one page and a [*Response] whose Total comes from
// X-Collection-Range ("start-end/total", or "*/0" for an empty list, the
// form Kisi's own client parses) and whose NextOffset is the offset of the next page (0
// after the last). Each List has a ListIter that returns an iter.Seq2 which
// fetches pages lazily at the endpoint's maximum size (100 for users, 250
// for the others), stops when the loop breaks, yields (nil, err) once on an
// error, and starts again from the first page each time it is ranged over.
// Kisi caps offset at [MaxOffset]; an iterator that would need to go beyond
// it yields [ErrOffsetCap]: narrow the filter (per group, place or assignee).
// Code that lists through its own narrow interface (a page method such as
// [Client.ListRoleAssignments], perhaps of a wrapper) pages the same way
// with the generic pagers over that method: [Items] (item by item), [All]
// (a slice) and [Pages] (page by page, with each page's [Response]):
//
//	roles, err := kisi.All(ctx, k.ListRoleAssignments, &kisi.RoleAssignmentListOptions{
//		AppliesToType: kisi.ScopeGroup, AppliesToID: groupID})
//
// # Deprecations
//
// When Kisi sends Deprecation or Sunset headers, they are exposed on
// [Response] and logged once per endpoint at warn level.
//
// # Users
//
// [UsersService.GetByEmail] normalizes the address ([NormalizeEmail]: trim,
// lower case), searches with ?query= (what Kisi's documentation and its own
// client use), reads every page of matches and accepts only an exact match.
// The "confirmed" key of users is deprecated by Kisi: [User.Status] tells
// pending from active users from last_accessed_at and, while Kisi still
// sends it, "confirmed" ([User].ConfirmedReported says whether it came),
// and answers [UserStatusUnknown] rather than guessing when neither tells.
//
// # Role windows
//
// PATCH of a role's window is undocumented. [RoleAssignmentUpdateRequest]
// sends it only as a pair ([Validity]), a nil bound as JSON null (no limit),
// so a window can be widened to unbounded; a caller that tries it reads the
// assignment back and falls back on delete and re-create on any refusal
// (errors.Is(err, [ErrRejected])).
//
// # Events and webhooks
//
// [EventSetsService.Events] creates an event set, polls it until finished
// (on the client's clock) and pages its cursor, stopping on a null cursor,
// a repeated cursor or an empty page. [VerifySignature] checks an
// X-Signature header, [DecodeEvent] decodes a delivery tolerantly and
// [WebhookHandler] combines both with de-duplication by event uuid.
//
// Kisi documents no redelivery of webhooks and disables an integration
// whose endpoint keeps failing (disabled_due_to_error). So the handler
// acknowledges every genuine delivery with 200, also when its callback
// fails (the failure goes to [WithWebhookErrorHandler]), and missed or
// failed events are read back with [EventSetsService.CatchUp], which
// streams them page by page (one page in memory) and resumes from an
// [EventCursor] the host stores. An integration without a signature key
// (Kisi makes it optional) is served with [WithUnsignedDeliveries]: an
// unsigned delivery only prompts a catch-up. [IntegrationsService]
// creates the event webhook with a fresh signature key
// ([IntegrationsService.CreateEventWebhook]) and lists webhooks with their
// error state ([IntegrationsService.EventWebhooks], [Integration.Failing]).
//
// [SchedulesService.ForGroup] reads a group's time restrictions (GET
// /schedules), which explain refusals with [CodeAccessNotAllowedNow]
// ("34ffaa"); [Schedule] decodes the object of Kisi's schedules spec (a
// recurring event's weekdays and hours, single and all-day events, holiday
// calendars), read in the place's time zone, and Raw keeps it whole.
//
// # Known unknowns
//
// Kisi's specification and documentation leave these open. The fake
// (kisitest) models each as an option, its conformance tests cover both
// settings, and the probe (go run ./examples/kisiprobe, read only, then with
// -write against a sandbox organization) prints which setting a real
// organization matches:
//
//   - whether PATCH /role_assignments/{id} changes valid_from and
//     valid_until (kisitest.WithPatchableValidity);
//   - the answer to a second role of one user in one group, and the key of
//     its 422 (kisitest.WithDuplicateRoleErrorKey);
//   - the stored precision of valid_from and valid_until
//     (kisitest.WithValidityPrecision): a server that keeps whole minutes
//     reads back a different window than was sent;
//   - whether a window on an organization or place role is refused or
//     dropped (kisitest.WithNonGroupValidityRejected);
//   - whether an email link that expired but was not deleted counts toward
//     the quota of 1000 (kisitest.WithExpiredLinksCounted; Kisi's
//     documentation says it does, and that is the fake's default);
//   - "X-Collection-Range: */0" on empty lists (kisitest.WithStarEmptyRange;
//     the client accepts both forms);
//   - whether GET /users honours ?email= (kisitest.WithUserEmailFilter;
//     GetByEmail uses ?query= and so works either way);
//   - whether users still carry "confirmed" (kisitest.WithConfirmedField;
//     [User.Status] decides without it);
//   - the answer to a user create with an email that has a user: a 422 on
//     email or a 200 with the existing user
//     (kisitest.WithExistingUserOnDuplicateEmail; both match
//     [ErrEmailTaken]).
//
// Not settled by the probe, and so not relied on: whether an event set is
// finished when created (kisitest.WithEventSetsFinishedAtOnce; the client
// handles both), Kisi's webhook retry policy and timeouts, and whether
// deleting a group link emails its recipient. A schedule's fields are
// documented by Kisi's schedules spec and decoded by [Schedule].
//
// # Performance
//
// The client's own cost per request, measured with an in-memory transport
// (BenchmarkClientOverhead: a typed GET of one role assignment through the
// retry loop, the limiter turned off, the error check and JSON decoding),
// was 24–37 µs, 3.9 kB and 44 allocations per request on a shared,
// heavily loaded 2-core machine (most of the time is JSON decoding). Against
// a local httptest server the same GET took 123 allocations per request
// against 68 for a bare http.Client GET of the same body (both figures
// include the server's side), a list page of ten took 202.
//
//	go test -run '^$' -bench . -benchmem -count=5 ./kisi/
package kisi
