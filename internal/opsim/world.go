package opsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

// org is the organization key of every history's Store.
const org = "sim"

// roundTrip is what each request of a process costs on the simulated
// clock, as over the internet.
const roundTrip = 50 * time.Millisecond

// observerEmail is the fake's user whose key reads its state for the
// checks, unlimited by the rate limit; adminEmail makes the hand edits.
const (
	observerEmail = "observer@opsim.invalid"
	adminEmail    = "admin@opsim.invalid"
)

// errCrashed is what a crashed process's requests and Store calls fail
// with: nothing it does after the crash has any effect.
var errCrashed = errors.New("opsim: the process crashed")

// process is one host process: a Reconciler with its own lease holder,
// client and view of the shared Store. A crash ends its life; the host then
// starts it again under a new holder name.
type process struct {
	name     string
	restarts int
	rec      *access.Reconciler
	dead     bool
	// requests counts the requests of the current run; crashAt and stallAt
	// arm a crash or a stall at that request of the next run.
	requests         int
	crashAt, stallAt int
	// leaseUntil is the end of the lease the process last took or
	// renewed, on the simulated clock: the deadline of its Kisi writes
	// (see simDeadline).
	leaseUntil time.Time
}

func (p *process) holder() string { return fmt.Sprintf("%s.%d", p.name, p.restarts) }

// sent is one request a process sent, as the checks need it.
type sent struct {
	at     time.Time
	run    int // the host's run number
	method string
	key    string // what the write is about, e.g. "grant 12/7"; "" for reads
	status int    // 0: it never reached Kisi
}

func (s sent) failed() bool {
	return s.status == 0 || (s.status >= 400 && !(s.method == http.MethodDelete && s.status == http.StatusNotFound))
}

// transport serves a client's requests in process from the fake's handler.
// For a process it costs the round trip on the clock, applies the process's
// crash and stall, logs the request and lets the checks sample the world
// when the clock crosses their instants.
type transport struct {
	w *world
	p *process // nil for the observer and the admin
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	w, p := t.w, t.p
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	entry := sent{run: w.runs, method: req.Method}
	if p != nil {
		if p.dead {
			return nil, errCrashed
		}
		p.requests++
		if p.requests == p.crashAt {
			p.crashAt, p.dead = 0, true
			w.logf("%s crashed before request %d", p.holder(), p.requests)
			return nil, errCrashed
		}
		if t.expired(req) {
			return nil, context.DeadlineExceeded
		}
		if p.requests == p.stallAt {
			// Frozen with the request in hand: the kernel sent it before
			// the freeze (its answer then lost), or it was still to be sent.
			// Either way the client's deadline passes during the freeze.
			sentFirst := p.stallAt%2 == 0
			p.stallAt = 0
			if sentFirst {
				t.serve(req, body, sent{run: w.runs, method: req.Method, key: writeKey(req, body, w.obs)})
			}
			w.stall(p)
			if sentFirst || t.expired(req) {
				return nil, context.DeadlineExceeded
			}
		}
		entry.key = writeKey(req, body, w.obs)
	}
	return t.serve(req, body, entry), nil
}

// expired reports whether the context of req, a process's request, has a
// deadline that the simulated clock has passed (see simDeadline): a real
// transport would not send it.
func (t *transport) expired(req *http.Request) bool {
	dl, ok := req.Context().Deadline()
	return ok && !t.w.clock.Now().Before(dl)
}

// serve hands req to the fake Kisi after the round trip, and logs it (for
// a process) as entry.
func (t *transport) serve(req *http.Request, body []byte, entry sent) *http.Response {
	w, p := t.w, t.p
	if p != nil {
		w.clock.Advance(roundTrip)
	}
	if p != nil {
		w.ownWrite(p, req)
	}
	// The handler gets its own copy, as a server would.
	sreq := req.Clone(req.Context())
	sreq.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	w.srv.Handler().ServeHTTP(rec, sreq)
	resp := rec.Result()
	resp.Request = req
	if req.Method != http.MethodGet {
		w.obs.dirty = true
	}
	if p != nil {
		entry.at, entry.status = w.clock.Now(), resp.StatusCode
		w.log = append(w.log, entry)
		switch {
		case entry.key != "":
			w.logf("  %s %s: %d", p.holder(), entry.key, entry.status)
		case w.opts.TraceReads:
			w.logf("  %s %s %s: %d", p.holder(), req.Method, req.URL.RequestURI(), entry.status)
		}
		w.sampleDue()
	}
	return resp
}

// createBody is what the checks and Kisi's simulated behaviours read of
// the body of a create request.
type createBody struct {
	RA struct {
		AppliesToID int64 `json:"applies_to_id"`
		AssigneeID  int64 `json:"assignee_id"`
	} `json:"role_assignment"`
	Link struct {
		GroupID int64   `json:"group_id"`
		Email   *string `json:"email"`
		Name    string  `json:"name"`
	} `json:"group_link"`
	User struct {
		Email string `json:"email"`
	} `json:"user"`
}

// parseCreate reads a create request's body; anything else reads as
// empty.
func parseCreate(body []byte) createBody {
	var v createBody
	_ = json.Unmarshal(body, &v)
	return v
}

// writeKey names what a write request is about, so that the checks can
// follow each failing key: a user, a (user, group), a link, an object.
func writeKey(req *http.Request, body []byte, o *observer) string {
	path := strings.TrimPrefix(req.URL.Path, "/kisi")
	switch req.Method {
	case http.MethodGet:
		return ""
	case http.MethodPost:
		v := parseCreate(body)
		switch path {
		case "/role_assignments":
			return fmt.Sprintf("grant %s/%d", o.emailOf(v.RA.AssigneeID), v.RA.AppliesToID)
		case "/group_links":
			who := v.Link.Name
			if v.Link.Email != nil {
				who = *v.Link.Email
			}
			return fmt.Sprintf("link %s/%d", who, v.Link.GroupID)
		case "/users":
			return "user " + strings.ToLower(v.User.Email)
		}
	}
	return req.Method + " " + path
}

// storeRef is the Store every process shares; losing or restoring it
// swaps what it points to.
type storeRef struct{ cur access.Store }

// procStore is one process's handle on the shared Store: after the
// process crashed, it fails every call and changes nothing.
type procStore struct {
	ref *storeRef
	p   *process
}

func (s procStore) Lease(ctx context.Context, o, holder string, now, expires time.Time) (int64, error) {
	if s.p.dead {
		return 0, errCrashed
	}
	token, err := s.ref.cur.Lease(ctx, o, holder, now, expires)
	if err == nil && !expires.IsZero() {
		s.p.leaseUntil = expires
	}
	return token, err
}

func (s procStore) Load(ctx context.Context, o string) ([]state.Record, error) {
	if s.p.dead {
		return nil, errCrashed
	}
	return s.ref.cur.Load(ctx, o)
}

func (s procStore) Put(ctx context.Context, o string, token int64, rec state.Record) error {
	if s.p.dead {
		return errCrashed
	}
	return s.ref.cur.Put(ctx, o, token, rec)
}

func (s procStore) Delete(ctx context.Context, o string, token int64, key string) error {
	if s.p.dead {
		return errCrashed
	}
	return s.ref.cur.Delete(ctx, o, token, key)
}

// email is one email a guest got with a link: from Kisi, when a link was
// created with the guest's email, or from the host's Notifier.
type email struct {
	to     string
	group  int64
	linkID int64
	window [2]time.Time
}

// notifier is the host's mailer: it records every link email it sends and
// fails while it is down.
type notifier struct {
	w    *world
	down time.Time // failing until then
}

func (n *notifier) LinkCreated(_ context.Context, l access.CreatedLink) error {
	if n.w.clock.Now().Before(n.down) {
		return errors.New("opsim: the mailer is down")
	}
	n.w.mailed(l.Email, l.GroupID, l.KisiID, [2]time.Time{l.Window.Start, l.Window.End})
	return nil
}

// newClient returns a Kisi client over an in-process transport.
func (w *world) newClient(key string, p *process) (*kisi.Client, error) {
	// The transport never dials: one host name for every world keeps the
	// port the fake listens on out of errors, and so out of the trace.
	u, err := url.Parse(w.srv.URL)
	if err != nil {
		return nil, err
	}
	base := "http://kisi.opsim.invalid" + u.Path
	return kisi.NewClient(key, kisi.WithBaseURL(base), kisi.WithClock(w.clock),
		kisi.WithHTTPClient(&http.Client{Transport: &transport{w: w, p: p}}))
}

// start (re)creates p's Reconciler under the truth's current mapping and
// policy.
func (w *world) start(p *process) error {
	c, err := w.newClient(w.srv.APIKey, p)
	if err != nil {
		return err
	}
	var api access.KisiAPI = c
	if w.opts.Wrap != nil {
		api = w.opts.Wrap(api)
	}
	api = simDeadlines{KisiAPI: api, w: w, p: p}
	opts := []access.Option{
		access.WithClock(w.clock), access.WithOrganization(org), access.WithHolder(p.holder()),
		access.WithPatchValidity(w.h.World.Patch),
	}
	if w.h.World.Notifier {
		opts = append(opts, access.WithNotifier(w.notifier))
	}
	if w.h.World.Exclusive {
		opts = append(opts, access.WithExclusiveGroups())
	}
	opts = append(opts, w.opts.Options...)
	p.rec, err = access.NewReconciler(api, procStore{ref: &w.store, p: p}, mappingFor(w.truth.mapping, w.groups),
		w.truth.policy(), opts...)
	return err
}

// setUp starts the fake with the organization's places and groups, the
// observer and the admin.
func (w *world) setUp() error {
	opts := []kisitest.Option{kisitest.WithClock(w.clock), kisitest.WithUnlimitedUsers(observerEmail, adminEmail),
		kisitest.WithPatchableValidity(w.h.World.Patch && !w.h.World.PatchUnsupported)}
	if w.h.World.LinkQuota > 0 {
		opts = append(opts, kisitest.WithEmailLinkLimit(w.h.World.LinkQuota))
	}
	if w.h.World.Precision > 0 {
		opts = append(opts, kisitest.WithValidityPrecision(time.Duration(w.h.World.Precision)))
	}
	w.srv = kisitest.NewServer(opts...)
	places := map[string]int64{}
	for _, l := range simLocations {
		id, err := w.srv.AddPlace(l.ID, l.TimeZone)
		if err != nil {
			return err
		}
		places[l.ID] = id
	}
	w.groups = map[string]int64{}
	w.groupName = map[int64]string{}
	for _, g := range groupNames {
		id, err := w.srv.AddGroup(g, places[groupLocation[g]])
		if err != nil {
			return err
		}
		w.groups[g], w.groupName[id] = id, g
	}
	staff, err := w.srv.AddGroup(staffRoom, places["berlin"])
	if err != nil {
		return err
	}
	w.groups[staffRoom], w.groupName[staff] = staff, staffRoom
	obsKey, err := w.srv.NewUserKey(observerEmail, "organization_administrator")
	if err != nil {
		return err
	}
	adminKey, err := w.srv.NewUserKey(adminEmail, "organization_administrator")
	if err != nil {
		return err
	}
	oc, err := w.newClient(obsKey, nil)
	if err != nil {
		return err
	}
	if w.admin, err = w.newClient(adminKey, nil); err != nil {
		return err
	}
	w.obs = &observer{c: oc, groups: w.groupName, dirty: true}
	w.srv.Intercept(w.intercept)
	return nil
}

// intercept answers the requests of the processes as the Kisi behaviours
// active now decide; the observer's and the admin's pass.
func (w *world) intercept(r *http.Request) kisitest.Fault {
	if auth := r.Header.Get("Authorization"); !strings.HasSuffix(auth, w.srv.APIKey) {
		return kisitest.Fault{}
	}
	now := w.clock.Now()
	var body createBody
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		body = parseCreate(b)
	}
	for _, e := range w.active(KindKisi, now) {
		switch e.Target {
		case KisiErrors:
			// The draws come in request order from the world's source, so
			// a history replays the same faults.
			switch x := w.rng.Float64(); {
			case x < 0.05:
				return kisitest.Fault{Status: http.StatusInternalServerError}
			case x < 0.10:
				return kisitest.Fault{Status: http.StatusServiceUnavailable}
			case x < 0.15:
				return kisitest.Fault{Lost: true}
			}
		case KisiOutage:
			return kisitest.Fault{Status: http.StatusServiceUnavailable}
		case KisiThrottle:
			return kisitest.Fault{Status: http.StatusTooManyRequests}
		case KisiCreateOutage:
			if r.Method == http.MethodPost {
				return kisitest.Fault{Status: http.StatusServiceUnavailable}
			}
		case KisiForbidLinks:
			if strings.HasPrefix(r.URL.Path, "/group_links") && r.Method != http.MethodGet {
				return kisitest.Fault{Status: http.StatusForbidden}
			}
		case KisiForbidGroup:
			if g := w.groups[e.Group]; g != 0 && w.touchesGroup(r, g, body.RA.AppliesToID, body.Link.GroupID) {
				return kisitest.Fault{Status: http.StatusForbidden}
			}
		case KisiRefuseUser:
			if r.Method == http.MethodPost && r.URL.Path == "/role_assignments" &&
				body.RA.AssigneeID != 0 && w.obs.emailOf(body.RA.AssigneeID) == emailOf(e.Member) {
				return kisitest.Fault{Status: http.StatusUnprocessableEntity}
			}
		}
	}
	return kisitest.Fault{}
}

// touchesGroup reports whether r reads or writes the roles or links of
// group g (the group a create names, or the group of the object a delete
// or PATCH names).
func (w *world) touchesGroup(r *http.Request, g, raGroup, linkGroup int64) bool {
	for _, c := range []struct {
		prefix, filter string
		created        int64
	}{{"/role_assignments", "applies_to_id", raGroup}, {"/group_links", "group_id", linkGroup}} {
		if !strings.HasPrefix(r.URL.Path, c.prefix) {
			continue
		}
		switch r.Method {
		case http.MethodGet:
			return r.URL.Query().Get(c.filter) == strconv.FormatInt(g, 10)
		case http.MethodPost:
			return c.created == g
		}
		return w.obs.groupOfObject(r.URL.Path) == g
	}
	return false
}

// handEdit makes the instant Kisi event e as an admin would in Kisi's
// dashboard.
func (w *world) handEdit(ctx context.Context, e Event) {
	w.chk.handEdit = w.clock.Now()
	defer func() {
		if err := w.rebaseHand(ctx); err != nil {
			w.fail(err)
		}
	}()
	if err := w.obs.refresh(ctx); err != nil {
		w.fail(err)
		return
	}
	switch e.Target {
	case KisiDeleteUser:
		if id := w.obs.userID(emailOf(e.Member)); id != 0 {
			_, err := w.admin.Users.Delete(ctx, id)
			w.logf("admin deleted the Kisi user of %s: %v", e.Member, err)
		}
	case KisiDeleteGroup:
		if id := w.groups["room-c"]; id != 0 {
			_, err := w.admin.Groups.Delete(ctx, id)
			w.logf("admin deleted group room-c: %v", err)
			w.deletedGroups[id] = true
		}
	case KisiHandRole:
		uid := w.obs.userID(emailOf(e.Member))
		if uid == 0 {
			u, _, err := w.admin.Users.Create(ctx, &kisi.UserCreateRequest{Email: emailOf(e.Member), Name: e.Member})
			if err != nil {
				w.logf("admin could not create a user for %s: %v", e.Member, err)
				return
			}
			uid = u.ID
			w.madeByHand(uid, "the user "+emailOf(e.Member)+", made by hand", false)
		}
		now := w.clock.Now()
		until := now.Add(30 * 24 * time.Hour)
		g := w.groups[e.Group]
		if g == 0 {
			g = w.groups["berlin-front"]
		}
		ra, _, err := w.admin.RoleAssignments.Create(ctx, &kisi.RoleAssignmentCreateRequest{RoleID: "group_basic",
			AppliesToType: "Group", AppliesToID: g, AssigneeType: "User", AssigneeID: uid, ValidFrom: &now, ValidUntil: &until})
		if err == nil {
			w.handRole(ra.ID, g, uid, emailOf(e.Member))
		}
		w.logf("admin gave %s a role by hand in %s: %v", e.Member, w.groupName[g], err)
	}
}
