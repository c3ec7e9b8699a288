package bench_test

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kisisync/kisisync/internal/simclock"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/schedule"
)

// simClock is the simulations' discrete-event clock (see simclock.Clock).
type simClock = simclock.Clock

func newSimClock(t time.Time) *simClock { return simclock.New(t) }

// sent is one attempt seen on the wire.
type sent struct {
	at     time.Time
	method string
	path   string // below the server's prefix, without the id: "/role_assignments"
	id     int64  // the object named in the path, if any
	status int    // 0: transport error
}

// object is a role assignment or group link that existed in Kisi, and when.
type object struct {
	kind     string // "role" or "link"
	id       int64
	userID   int64 // roles
	email    string
	groupID  int64
	validity schedule.Interval // valid_from..valid_until (Forever when null)
	created  time.Time
	deleted  time.Time // zero while it exists
}

// wire is the HTTP transport between a client and kisitest in a simulation. Each attempt
// costs latency on the simulation clock (the round trip), and is logged with its instant. It
// also follows the role assignments and group links created and deleted through it, from the
// requests and responses, to reconstruct when Kisi granted what.
type wire struct {
	clock   *simClock
	base    http.RoundTripper
	prefix  string // the server's path prefix, e.g. "/kisi"
	latency time.Duration

	mu      sync.Mutex
	log     []sent
	objects map[int64]*object
	patched []*object        // earlier versions of objects whose window a PATCH changed
	users   map[int64]string // Kisi user id → email, from creates and lists
	// after, if set, is called after each attempt, outside the lock.
	after func(sent)
	// tamper, if set, may replace the answer to a request: it returns the status and body
	// the client gets, and whether the request reaches the server at all.
	tamper func(req *http.Request) (status int, body string, forward, ok bool)
}

func newWire(clock *simClock, base http.RoundTripper, prefix string, latency time.Duration) *wire {
	return &wire{clock: clock, base: base, prefix: prefix, latency: latency,
		objects: map[int64]*object{}, users: map[int64]string{}}
}

// client returns a kisi.Client that talks through w with the given extra options.
func (w *wire) client(baseURL, key string, opts ...kisi.Option) (*kisi.Client, error) {
	all := append([]kisi.Option{
		kisi.WithBaseURL(baseURL),
		kisi.WithHTTPClient(&http.Client{Transport: w}),
		kisi.WithClock(w.clock),
	}, opts...)
	return kisi.NewClient(key, all...)
}

// RoundTrip implements http.RoundTripper.
func (w *wire) RoundTrip(req *http.Request) (*http.Response, error) {
	w.clock.Advance(w.latency)
	var reqBody []byte
	if req.Body != nil && req.Method == http.MethodPatch {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	var resp *http.Response
	var err error
	var fake struct {
		status  int
		body    string
		forward bool
		ok      bool
	}
	if w.tamper != nil {
		fake.status, fake.body, fake.forward, fake.ok = w.tamper(req)
	}
	if !fake.ok || fake.forward {
		resp, err = w.base.RoundTrip(req)
	}
	if fake.ok {
		if resp != nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
		resp, err = &http.Response{StatusCode: fake.status, Status: http.StatusText(fake.status),
			Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(fake.body)),
			Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}, nil
	}
	now := w.clock.Now()
	path := strings.TrimPrefix(req.URL.Path, w.prefix)
	kind, id := splitPath(path)
	entry := sent{at: now, method: req.Method, path: kind, id: id}
	if w.after != nil {
		defer func() { w.after(entry) }()
	}
	if err != nil {
		w.add(entry)
		return nil, err
	}
	entry.status = resp.StatusCode
	body, rerr := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		w.add(entry)
		return resp, nil // the client sees the short body as it would have
	}
	w.mu.Lock()
	w.log = append(w.log, entry)
	w.follow(now, req.Method, kind, id, resp.StatusCode, body)
	if req.Method == http.MethodPatch && resp.StatusCode == http.StatusNoContent && kind == "/role_assignments" {
		w.followPatch(now, id, reqBody)
	}
	w.mu.Unlock()
	return resp, nil
}

func (w *wire) add(e sent) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.log = append(w.log, e)
}

// splitPath returns "/role_assignments" and 7 for "/role_assignments/7".
func splitPath(p string) (string, int64) {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) >= 2 {
		if id, err := strconv.ParseInt(parts[1], 10, 64); err == nil {
			return "/" + parts[0], id
		}
	}
	return "/" + parts[0], 0
}

// follow records the objects a successful response created or deleted. w.mu is held.
func (w *wire) follow(now time.Time, method, kind string, id int64, status int, body []byte) {
	switch {
	case method == http.MethodDelete && status == http.StatusNoContent:
		if o := w.objects[id]; o != nil && o.deleted.IsZero() {
			o.deleted = now
		}
	case method == http.MethodPost && status == http.StatusOK && kind == "/role_assignments":
		var ra kisi.RoleAssignment
		if json.Unmarshal(body, &ra) == nil && ra.AppliesToType == "Group" {
			w.objects[ra.ID] = &object{kind: "role", id: ra.ID, userID: ra.AssigneeID, groupID: ra.AppliesToID,
				validity: validity(ra.ValidFrom, ra.ValidUntil), created: now}
		}
	case method == http.MethodPost && status == http.StatusOK && kind == "/group_links":
		var l kisi.GroupLink
		if json.Unmarshal(body, &l) == nil {
			o := &object{kind: "link", id: l.ID, groupID: l.GroupID, validity: validity(l.ValidFrom, l.ValidUntil), created: now}
			if l.Email != nil {
				o.email = strings.ToLower(*l.Email)
			}
			w.objects[l.ID] = o
		}
	case status == http.StatusOK && kind == "/users":
		if method == http.MethodPost {
			var u kisi.User
			if json.Unmarshal(body, &u) == nil {
				w.users[u.ID] = strings.ToLower(u.Email)
			}
			return
		}
		var us []kisi.User
		if json.Unmarshal(body, &us) == nil {
			for _, u := range us {
				w.users[u.ID] = strings.ToLower(u.Email)
			}
		}
	}
}

// followPatch records a change of a role's window in place. w.mu is held.
func (w *wire) followPatch(now time.Time, id int64, reqBody []byte) {
	o := w.objects[id]
	if o == nil {
		return
	}
	var body struct {
		RA map[string]json.RawMessage `json:"role_assignment"`
	}
	if json.Unmarshal(reqBody, &body) != nil {
		return
	}
	v := o.validity
	if raw, ok := body.RA["valid_from"]; ok {
		var t *time.Time
		if json.Unmarshal(raw, &t) == nil && t != nil {
			v.Start = *t
		}
	}
	if raw, ok := body.RA["valid_until"]; ok {
		var t *time.Time
		if json.Unmarshal(raw, &t) == nil {
			v.End = schedule.Forever
			if t != nil {
				v.End = *t
			}
		}
	}
	old := *o
	old.deleted = now
	w.patched = append(w.patched, &old)
	o.created, o.validity = now, v
}

func validity(from, until *time.Time) schedule.Interval {
	iv := schedule.Interval{Start: time.Time{}, End: schedule.Forever}
	if from != nil {
		iv.Start = *from
	}
	if until != nil {
		iv.End = *until
	}
	return iv
}

// sentLog returns a copy of the attempts logged so far.
func (w *wire) sentLog() []sent {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.log)
}

// granted returns, per "email|group", the instants at which Kisi let that member through a
// group's doors: the union over role assignments of [created, deleted) ∩ validity, up to end.
func (w *wire) granted(end time.Time) map[string]schedule.Set {
	w.mu.Lock()
	defer w.mu.Unlock()
	per := map[string][]schedule.Interval{}
	all := slices.Collect(maps.Values(w.objects))
	all = append(all, w.patched...)
	for _, o := range all {
		if o.kind != "role" {
			continue
		}
		email := w.users[o.userID]
		if email == "" {
			email = "user#" + strconv.FormatInt(o.userID, 10)
		}
		live := schedule.Interval{Start: o.created, End: end}
		if !o.deleted.IsZero() {
			live.End = o.deleted
		}
		eff := schedule.NewSet(live).Intersect(schedule.NewSet(o.validity))
		key := pairKey(email, o.groupID)
		per[key] = append(per[key], eff.Intervals()...)
	}
	out := make(map[string]schedule.Set, len(per))
	for k, ivs := range per {
		out[k] = schedule.NewSet(ivs...)
	}
	return out
}

func pairKey(email string, group int64) string {
	return strings.ToLower(email) + "|" + strconv.FormatInt(group, 10)
}

// requestStats summarizes a log: requests by kind, the most in any one-second window, and 429s.
type requestStats struct {
	total, peak, tooMany int
	byKind               map[string]int
}

func statsOf(log []sent) requestStats {
	st := requestStats{byKind: map[string]int{}}
	j := 0
	for i, e := range log {
		st.total++
		st.byKind[e.method+" "+e.path]++
		if e.status == http.StatusTooManyRequests {
			st.tooMany++
		}
		for log[j].at.Add(time.Second).Compare(e.at) <= 0 {
			j++
		}
		st.peak = max(st.peak, i-j+1)
	}
	return st
}

// duplicates counts objects that existed at the same time as another object for the same
// member (or guest) and group: a role assignment Kisi would refuse anyway, or a second link.
func (w *wire) duplicates() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	per := map[string][]*object{}
	for _, o := range w.objects {
		key := o.kind + "|" + strconv.FormatInt(o.groupID, 10) + "|"
		if o.kind == "role" {
			key += strconv.FormatInt(o.userID, 10)
		} else {
			key += o.email
		}
		per[key] = append(per[key], o)
	}
	n := 0
	for _, os := range per {
		slices.SortFunc(os, func(a, b *object) int { return a.created.Compare(b.created) })
		for i := 1; i < len(os); i++ {
			if prev := os[i-1]; prev.deleted.IsZero() || prev.deleted.After(os[i].created) {
				n++
			}
		}
	}
	return n
}

// renewals counts the rolling windows renewed through w: a role (or a PATCHed version of
// one) that follows another of the same member and group with the same start, a later end,
// and an end one validity after its own creation (from an hour before to two minutes after:
// the end is set from the instant the run planned it), as a renewal sets it.
// It returns the renewals and the members they belong to.
func (w *wire) renewals(validity time.Duration) (n, members int) {
	who := map[int64]bool{}
	for _, r := range w.renewed(validity) {
		n++
		who[r.userID] = true
	}
	return n, len(who)
}

// busiestRenewalDay returns the most renewals made on one UTC day, and that day.
func (w *wire) busiestRenewalDay(validity time.Duration) (int, time.Time) {
	per := map[time.Time]int{}
	for _, r := range w.renewed(validity) {
		per[r.created.Truncate(24*time.Hour)]++
	}
	n, day := 0, time.Time{}
	for d, k := range per {
		if k > n || (k == n && d.Before(day)) {
			n, day = k, d
		}
	}
	return n, day
}

// renewed returns the objects that renewed a rolling window (see renewals).
func (w *wire) renewed(validity time.Duration) []*object {
	w.mu.Lock()
	defer w.mu.Unlock()
	per := map[[2]int64][]*object{}
	add := func(o *object) {
		if o.kind == "role" {
			k := [2]int64{o.userID, o.groupID}
			per[k] = append(per[k], o)
		}
	}
	for _, o := range w.objects {
		add(o)
	}
	for _, o := range w.patched {
		add(o)
	}
	near := func(a, b time.Time, d time.Duration) bool { return a.Sub(b).Abs() < d }
	var out []*object
	for _, os := range per {
		slices.SortFunc(os, func(a, b *object) int { return a.created.Compare(b.created) })
		for i := 1; i < len(os); i++ {
			prev, cur := os[i-1], os[i]
			// A renewal's end is one validity after the instant its run planned it, which a
			// long run may leave minutes before the create.
			due := cur.created.Add(validity)
			if near(prev.validity.Start, cur.validity.Start, time.Minute) && cur.validity.End.After(prev.validity.End) &&
				cur.validity.End.Before(due.Add(2*time.Minute)) && cur.validity.End.After(due.Add(-time.Hour)) {
				out = append(out, cur)
			}
		}
	}
	return out
}
