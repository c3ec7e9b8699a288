// Package kisitest provides an in-memory fake of the Kisi REST API for
// tests, shaped like net/http/httptest: [NewServer] starts a real HTTP
// server on a loopback port with one organization, its owner and the
// owner's API key.
//
// The fake follows Kisi's documented rules closely, so that code which
// passes against it also passes against Kisi; where Kisi's behaviour is not
// documented it chooses the stricter answer and says so below.
//
//	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
//	t.Cleanup(srv.Close)
//	req, _ := http.NewRequest("POST", srv.URL+"/groups",
//		strings.NewReader(`{"group":{"name":"Members"}}`))
//	req.Header.Set("Authorization", "KISI-LOGIN "+srv.APIKey)
//	req.Header.Set("Content-Type", "application/json")
//	resp, err := http.DefaultClient.Do(req) // 200 with the group
//
// [Server.URL] carries a path prefix ("/kisi" by default, see
// [WithPathPrefix]) and no trailing slash, so a client that builds absolute
// paths instead of appending to its base URL gets 404.
//
// # Protocol
//
//   - Authentication: "Authorization: KISI-LOGIN <key>"; anything else is
//     401 with {"error","code"}. [Server.APIKey] belongs to the
//     organization owner; [Server.NewUserKey] mints keys for other users.
//     Only a user whose organization role has role_assignments_write and
//     users_write in GET /roles may write (the owner, administrators,
//     user and access managers, custom roles given them; 403 otherwise);
//     any user may unlock, and read everything, or with
//     [WithReadsNeedOrganizationRole] only a few collections unless they
//     hold an organization role (Kisi does not document which).
//   - Bodies are wrapped in the singular resource key ({"group":{...}}); a
//     missing wrapper or malformed JSON is 400. Unknown keys are ignored.
//   - POST answers 200 with the object, every key present (null where
//     null); PATCH and DELETE answer 204 with no body.
//   - Unknown ids, unknown routes and methods Kisi does not offer (e.g.
//     GET or PATCH /group_links/{id}) are 404 {"error","code"}.
//   - Validation errors are 422 {"errors":{"field":["can't be blank"]}}:
//     place without name or address, lock without name or place_id, group
//     without name, user without email (or a taken one), group link without
//     group_id or name, role assignment without applies_to_type,
//     applies_to_id, assignee_type, assignee_id or role_id, a
//     valid_until not after valid_from.
//   - Error codes Kisi does not document for 400, 401, 403, 404, 429, 500
//     and 503 are the placeholders "000400" to "000503"; branch on the
//     status, not the code.
//
// # Resources
//
// Places, created through POST /places or [Server.AddPlace], come with
// their default group, [DefaultPlaceGroup].
//
// GET /organization, GET /user, GET /roles and /roles/{id} (group_basic,
// group_manager, place and organization roles such as observer,
// organization_administrator and organization_owner), places, locks (with
// POST /locks/{id}/unlock), groups (with the restriction booleans and
// users_count and locks_count kept up to date), group_locks (GET needs
// group_id, else 400), role_assignments, group_links, users, teams,
// team_memberships, POST /event_sets with GET /event_sets/{id},
// GET /events/types, integrations (event webhooks; see
// [Server.DisableIntegrationDueToError] and
// [Server.IntegrationSignatureKey]) and GET /schedules (seeded with
// [Server.AddGroupSchedule], with the fields of Kisi's schedules spec and no
// time zone).
//
// Role assignments: only group-scoped ones carry valid_from and
// valid_until (organization and place ones have no such keys, and sending a
// non-null window for them is 422, or dropped with
// [WithNonGroupValidityRejected](false)). [WithValidityPrecision] truncates
// stored windows, e.g. to whole minutes. An assignee holds at most one role per
// group, place or organization: a second create is 422 on "assignee_id"
// ([WithDuplicateRoleErrorKey]). A role id must be one GET /roles lists
// with the assignment's scope: the built-in roles and those added with
// [WithCustomRoles].
// A create naming an unknown user, team, group or place is 404 (the spec
// lists 404 for this call), checked after the 422 field checks. PATCH
// changes role_id and notify; valid_from and valid_until are ignored unless
// [WithPatchableValidity] is set. The owner's organization_owner role
// cannot be deleted.
//
// Group links: only the create response carries secret,
// quick_response_code_token and quick_response_code_image; the latter two
// are set when quick_response_code_type is "online" or "offline", and the
// image is a base64 PNG holding a QR code symbol of the token. There is no
// GET by id and no PATCH. At most 1000 links with an email may exist at
// once, expired ones included until they are deleted, as Kisi documents
// ([WithEmailLinkLimit], [WithExpiredLinksCounted]); the next create is 422
// on "base". GET /group_links takes Kisi's sort values name,
// unlock, valid_until and group_name, reversed by a "-" prefix; any other
// sort is 400.
//
// Users: the email filter matches the whole address case-insensitively
// (ignored with [WithUserEmailFilter](false)); query matches parts of the
// email, name and notes; emails are unique case-insensitively. "confirmed"
// is the create's "confirm" flag: false for a regular user, true for a
// managed user created with send_emails:false, confirm:true; the deprecated
// key is left out with [WithConfirmedField](false). PATCH takes name, image,
// access_enabled, password_flow_enabled, notes and metadata (flat values,
// at most 50 keys of at most 50 characters, strings of at most 500).
//
// Unlocking: POST /locks/{id}/unlock answers 200 {"message":"Unlocked!"}
// for owners and administrators and for users with a group role, valid
// now, in a group holding the lock; otherwise 403 with Kisi's code
// (fcd8ff access disabled, f358de not yet valid, f35ade no longer valid,
// afc496 denied). Each attempt is recorded as a lock.unlock event.
// [Server.RecordUnlock] records an attempt directly.
//
// Event sets: POST /event_sets answers status "in_progress" without
// events; the next GET /event_sets/{id} answers "finished" with the
// matching events, newest first, paged by limit (default 50, at most 1000)
// and an opaque cursor that is null on the last page. The interval is
// ISO 8601 (start/end, start/duration or duration/end), at most 90 days
// (422 otherwise), by default the last 90 days. Sets expire after 24 hours.
//
// # Pagination
//
// Lists return items in ascending id order (ids are unique across all
// resource types) with X-Collection-Range "offset-end/total" where end is
// offset+limit-1, not clipped to the total, as in Kisi's spec; an empty
// list answers "*/0", the form Kisi's own client parses
// ([WithStarEmptyRange](false) answers "0-9/0" instead). Default and
// maximum limits: users 50/100; places and locks 50/250; everything else
// 10/250. offset is at most 20000. A limit or offset out of range is 400.
//
// # Rate limit
//
// Each user (all keys of a user share it, as at Kisi) may make 5 requests
// per second, a token bucket of 5 refilled continuously on the server's
// clock; beyond it the answer is 429 with no Retry-After. POST /event_sets
// is limited to 1 per second on top. [WithRateLimit] changes the rate and
// [WithoutRateLimit] turns limiting off. Requests answered 401 are not
// counted.
//
// # Undocumented behaviours
//
// Where Kisi's documentation is silent an option chooses the behaviour:
// [WithPatchableValidity], [WithDuplicateRoleErrorKey],
// [WithValidityPrecision], [WithNonGroupValidityRejected],
// [WithExpiredLinksCounted], [WithStarEmptyRange], [WithUserEmailFilter] and
// [WithConfirmedField]. The conformance tests run each under both
// settings, and the probe in examples/kisiprobe, run once against a real
// sandbox organization, prints which setting matches it.
//
// # Faults
//
// [Server.SetFaults] injects random faults drawn from a source seeded with
// [Faults.Seed]: ErrorRate answers 500 or 503 without applying the request;
// LostRate applies the request and then answers 500 or drops the
// connection ([Faults.DropConnection]), so the client cannot know whether
// its create happened. With the same seed and one request at a time the
// sequence of faults is the same. [Server.Intercept] decides a [Fault] per
// request for targeted tests.
//
// # Inspection
//
// [Server.Requests] returns the request log (method, path below the prefix,
// query, status) and [Server.Count] counts entries by method and path
// prefix, e.g. srv.Count("POST", "/role_assignments"). [Server.ResetRequests]
// empties it. API keys and bodies are never logged; [WithLogger] receives a
// Debug record per request.
//
// # Seeding
//
// State can be seeded through the HTTP API itself (POST /places, /locks,
// /groups, /group_locks, /users, /role_assignments), exactly as against
// Kisi, or with Go helpers that return ids: [Server.AddPlace],
// [Server.AddLock], [Server.AddGroup], [Server.AddGroupLock],
// [Server.AddUser] and [WithGroups]. [Server.NewUserKey] mints a key for
// another user, optionally with an organization role such as "observer".
// Ids are deterministic: one counter shared by all resources, starting
// after the organization (first id), the owner and the owner's role.
//
// # Time
//
// created_at, updated_at, event times, validity checks, the rate limit and
// fault latency use the clock set by [WithClock] (the real clock by
// default). Times are written in UTC as RFC 3339 with milliseconds.
//
// # Concurrency
//
// A [Server] is safe for concurrent use; requests are applied one at a
// time under a single lock.
//
// # Performance
//
// Over loopback HTTP with the rate limit off, on a shared 2-core machine,
// the fake answered about 10,000 GET /groups/{id} per second (99 µs,
// 89 allocations per request including the client side), 7,200 user-list
// pages per second and 7,700 creates or deletes per second, measured with
//
//	go test -run '^$' -bench BenchmarkServer -benchtime=2s ./kisi/kisitest/
//
// State is kept in maps and lists are filtered by scanning, which is fast
// enough for the thousands of objects tests create.
package kisitest
