package kisitest

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// meta is what every stored object carries: its id and its timestamps.
type meta struct {
	id                   int64
	createdAt, updatedAt time.Time
}

func (m *meta) base() *meta { return m }

// stamp is the meta of an object created at now, before it has an id.
func stamp(now time.Time) meta { return meta{createdAt: now, updatedAt: now} }

// newMeta is the meta of an object created at now, with a new id.
func (st *state) newMeta(now time.Time) meta {
	return meta{id: st.newID(), createdAt: now, updatedAt: now}
}

// object is a pointer to a stored object.
type object[T any] interface {
	*T
	base() *meta
}

// resource is how the server answers one REST collection: GET and POST
// /name, and GET, PATCH (or PUT: Kisi is a Rails API, whose routes send both
// to the same update, and Kisi's own JavaScript client updates with PUT) and
// DELETE /name/{id}. Each resource file states
// only what is special about its collection; [serve] does the rest. A nil
// function is a call Kisi does not offer, answered 404 like an unknown route.
type resource[T, W any] struct {
	key   string       // the wrapper of request bodies, e.g. "group"
	items map[int64]*T // the stored objects by id
	// render is the JSON of one object.
	render func(*T) W
	// pageSize and maxPageSize are the default and the maximum limit of
	// GET /name.
	pageSize, maxPageSize int
	// filter reads the filters of GET /name other than ids, limit and
	// offset, reporting malformed ones through q, and returns which objects
	// to list; nil lists all of them, in id order.
	filter func(q *query) func(*T) bool
	// order, when set, reorders the filtered objects before paging,
	// reporting an unknown sort through q.
	order func(q *query, items []*T)
	// create builds an object from a POST body, recording validation errors
	// in f, or refuses the request with a non-zero response. The object is
	// stored under a new id unless f holds errors.
	create func(f *fields) (*T, response)
	// created answers a successful create; nil answers with render.
	created func(*T) response
	// noGet is set when Kisi offers no GET /name/{id}.
	noGet bool
	// update applies a PATCH body to a copy of the object, recording
	// validation errors in f. The copy, with a new updated_at, replaces the
	// object unless f holds errors.
	update func(f *fields, cp *T)
	// remove answers DELETE /name/{id}: it deletes the object with what
	// hangs off it (see [removeWith]) or refuses.
	remove func(*T) response
}

// removeWith is a resource's remove that always deletes, with del.
func removeWith[T any](del func(*T)) func(*T) response {
	return func(x *T) response {
		del(x)
		return noContent()
	}
}

// serve answers c for the collection r.
func serve[T, W any, P object[T]](st *state, c *call, r resource[T, W]) response {
	if c.collection() {
		switch {
		case c.method == http.MethodGet:
			return list[T, W, P](c, r)
		case c.method == http.MethodPost && r.create != nil:
			return insert[T, W, P](st, c, r)
		}
		return notFound()
	}
	id, ok := c.member()
	x := r.items[id]
	if !ok || x == nil {
		return notFound()
	}
	switch {
	case c.method == http.MethodGet && !r.noGet:
		return jsonResponse(r.render(x))
	case (c.method == http.MethodPatch || c.method == http.MethodPut) && r.update != nil:
		f, bad, ok := c.decode(r.key)
		if !ok {
			return bad
		}
		cp := *x
		r.update(f, &cp)
		if resp, bad := f.invalid(); bad {
			return resp
		}
		P(&cp).base().updatedAt = c.now
		*x = cp
		return noContent()
	case c.method == http.MethodDelete && r.remove != nil:
		return r.remove(x)
	}
	return notFound()
}

func list[T, W any, P object[T]](c *call, r resource[T, W]) response {
	p, bad, ok := c.paging(r.pageSize, r.maxPageSize)
	if !ok {
		return bad
	}
	q := &query{Values: c.query}
	var keep func(*T) bool
	if r.filter != nil {
		keep = r.filter(q)
	}
	ids := q.ids()
	items := sorted(r.items, func(x *T) bool {
		return (ids == nil || ids[P(x).base().id]) && (keep == nil || keep(x))
	})
	if r.order != nil {
		r.order(q, items)
	}
	if q.err.status != 0 {
		return q.err
	}
	resp := paginate(items, p, r.render)
	if len(items) == 0 && c.st.cfg.starEmptyRange {
		resp.rng = "*/0"
	}
	return resp
}

func insert[T, W any, P object[T]](st *state, c *call, r resource[T, W]) response {
	f, bad, ok := c.decode(r.key)
	if !ok {
		return bad
	}
	x, refused := r.create(f)
	if refused.status != 0 {
		return refused
	}
	if resp, bad := f.invalid(); bad {
		return resp
	}
	m := P(x).base()
	m.id = st.newID()
	r.items[m.id] = x
	if r.created != nil {
		return r.created(x)
	}
	return jsonResponse(r.render(x))
}

// query reads the filters of a list request and keeps the first malformed
// one as a 400 response.
type query struct {
	url.Values
	err response
}

func (q *query) fail(resp response) {
	if q.err.status == 0 {
		q.err = resp
	}
}

// id parses the optional id filter k; set reports whether it was given.
func (q *query) id(k string) (id int64, set bool) {
	v := q.Get(k)
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		q.fail(badRequest(k + " is invalid"))
	}
	return n, true
}

// ids parses the optional ids filter, as a comma-separated list, repeated
// keys, or the ids[] array form that Rails reads and Kisi's JavaScript
// client sends; nil when absent.
func (q *query) ids() map[int64]bool {
	vs := append(q.Values["ids"], q.Values["ids[]"]...)
	if len(vs) == 0 {
		return nil
	}
	out := map[int64]bool{}
	for _, p := range strings.Split(strings.Join(vs, ","), ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
		if err != nil {
			q.fail(badRequest("ids is invalid"))
			return nil
		}
		out[n] = true
	}
	return out
}

// text is the free-text filter "query", lower-cased.
func (q *query) text() string { return strings.ToLower(q.Get("query")) }

// matches reports whether any of hay contains the lower-cased text t.
func matches(t string, hay ...string) bool {
	if t == "" {
		return true
	}
	for _, h := range hay {
		if strings.Contains(strings.ToLower(h), t) {
			return true
		}
	}
	return false
}
