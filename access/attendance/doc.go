// Package attendance ingests Kisi unlock events as attendance: each
// successful unlock of a known member at a known place becomes one
// access.CheckIn, once, however often Kisi delivers the event. That is its
// one job; the check-ins are the host's to store (and, if it wishes, to
// feed back into the snapshot that package access syncs).
//
// It imports access (the Member, CheckIn and Record types and email
// normalization) and kisi (the Event type); it makes no request itself.
//
// # Usage
//
// Events arrive by webhook, through kisi.NewWebhookHandler:
//
//	t, err := attendance.New(attendance.Config{Members: s.Members, Places: places})
//	...
//	h, err := kisi.NewWebhookHandler(secret, t.WebhookFunc(saveCheckIn))
//	...
//	http.Handle("/kisi", h)
//
// or are caught up from event sets, for example after Kisi disabled a
// failing webhook:
//
//	checkIns, err := t.Collect(client.EventSets.Events(ctx, req, 0))
//
// # Deduplication and errors
//
// A [Tracker] remembers the uuids of the last [Config].Memory events it
// turned into check-ins. [Tracker.Add] returns errors that match
// [ErrNotAttendance], [ErrDuplicateEvent], access.ErrUnknownMember or
// access.ErrUnknownLocation. A Tracker is safe for concurrent use.
package attendance
