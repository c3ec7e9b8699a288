package kisi

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Per-endpoint default page sizes (Kisi's defaults for "limit").
const (
	defaultLimit      = 10
	defaultLimitLarge = 50 // users, places, locks
)

// Kisi's largest page sizes ("limit"): [MaxLimitUsers] for users,
// [MaxLimit] for every other paginated collection.
const (
	MaxLimit      = 250
	MaxLimitUsers = 100
)

// parseCollectionRange reads the total from "start-end/total", or from
// "*/total" (the form Kisi's own client parses for an empty list, "*/0").
func parseCollectionRange(h string) (int, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	slash := strings.LastIndexByte(h, '/')
	if slash < 0 {
		return 0, false
	}
	rng := h[:slash]
	if rng == "*" {
		total, err := strconv.Atoi(h[slash+1:])
		if err != nil || !digits(h[slash+1:]) {
			return 0, false
		}
		return total, true
	}
	dash := strings.IndexByte(rng, '-')
	if dash <= 0 || dash == len(rng)-1 || !digits(rng[:dash]) || !digits(rng[dash+1:]) {
		return 0, false
	}
	total, err := strconv.Atoi(h[slash+1:])
	if err != nil || total < 0 || !digits(h[slash+1:]) {
		return 0, false
	}
	return total, true
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// nextOffset computes Response.NextOffset from the page just read.
func nextOffset(lo ListOptions, defLimit, n, total int) int {
	limit := lo.Limit
	if limit <= 0 {
		limit = defLimit
	}
	switch {
	case n == 0:
		return 0
	case total >= 0:
		if lo.Offset+n >= total {
			return 0
		}
	case n < limit:
		return 0
	}
	return lo.Offset + n
}

// listOptions is satisfied by every *…ListOptions type: it encodes its
// filters and exposes the ListOptions it embeds.
type listOptions[O any] interface {
	*O
	encode(v url.Values)
	paging() *ListOptions
}

// list reads one page of a paginated collection; nil opts lists with
// Kisi's defaults.
func list[T, O any, P listOptions[O]](ctx context.Context, c *Client, path string, opts P, defLimit int) ([]*T, *Response, error) {
	endpoint := "/" + path
	if opts == nil {
		opts = new(O)
	}
	lo := *opts.paging()
	if lo.Offset > MaxOffset {
		return nil, nil, fmt.Errorf("kisi: GET %s: offset %d: %w", endpoint, lo.Offset, ErrOffsetCap)
	}
	if lo.Offset < 0 || lo.Limit < 0 {
		return nil, nil, fmt.Errorf("kisi: GET %s: negative limit %d or offset %d", endpoint, lo.Limit, lo.Offset)
	}
	q := url.Values{}
	opts.encode(q)
	var items []*T
	resp, err := c.do(ctx, request{method: http.MethodGet, path: path, endpoint: endpoint, query: q}, &items)
	if err != nil {
		return nil, resp, err
	}
	resp.NextOffset = nextOffset(lo, defLimit, len(items), resp.Total)
	return items, resp, nil
}

// listAll reads an unpaginated collection.
func listAll[T any](ctx context.Context, c *Client, path string) ([]*T, *Response, error) {
	var items []*T
	resp, err := c.do(ctx, request{method: http.MethodGet, path: path, endpoint: "/" + path}, &items)
	if err != nil {
		return nil, resp, err
	}
	return items, resp, nil
}

func getOne[T any](ctx context.Context, c *Client, path, endpoint string, q url.Values) (*T, *Response, error) {
	v := new(T)
	resp, err := c.do(ctx, request{method: http.MethodGet, path: path, endpoint: endpoint, query: q}, v)
	if err != nil {
		return nil, resp, err
	}
	return v, resp, nil
}

// getByID reads base/{id}.
func getByID[T any](ctx context.Context, c *Client, base string, id int64) (*T, *Response, error) {
	return getOne[T](ctx, c, idPath(base, id), idEndpoint(base), nil)
}

// createOne posts body wrapped in key to path.
func createOne[T, B any](ctx context.Context, c *Client, path, key string, body *B) (*T, *Response, error) {
	endpoint := "/" + path
	if body == nil {
		return nil, nil, fmt.Errorf("kisi: POST %s: nil request", endpoint)
	}
	var raw json.RawMessage
	resp, err := c.do(ctx, request{method: http.MethodPost, path: path, endpoint: endpoint, body: wrap(key, body)}, &raw)
	if err != nil {
		return nil, resp, err
	}
	// A 200 without the created object's id leaves the caller unable to
	// find, and so ever delete, what Kisi may have created: report it as a
	// create whose outcome is unknown rather than as an object with id 0.
	var created struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(raw, &created); err != nil || created.ID == 0 {
		return nil, resp, fmt.Errorf("kisi: POST %s: response carries no id: %w", endpoint, ErrMaybeApplied)
	}
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, resp, fmt.Errorf("kisi: POST %s: decode response: %w", endpoint, err)
	}
	return v, resp, nil
}

// updateByID patches base/{id} with body wrapped in key.
func updateByID[B any](ctx context.Context, c *Client, base, key string, id int64, body *B) (*Response, error) {
	endpoint := idEndpoint(base)
	if body == nil {
		return nil, fmt.Errorf("kisi: PATCH %s: nil request", endpoint)
	}
	return c.do(ctx, request{method: http.MethodPatch, path: idPath(base, id), endpoint: endpoint, body: wrap(key, body)}, nil)
}

// deleteByID deletes base/{id}.
func deleteByID(ctx context.Context, c *Client, base string, id int64) (*Response, error) {
	return c.do(ctx, request{method: http.MethodDelete, path: idPath(base, id), endpoint: idEndpoint(base)}, nil)
}

func idPath(base string, id int64) string { return base + "/" + strconv.FormatInt(id, 10) }

// idEndpoint is the path template of base/{id} for logs and errors.
func idEndpoint(base string) string { return "/" + base + "/{id}" }

func setString(v url.Values, key, s string) {
	if s != "" {
		v.Set(key, s)
	}
}

func setInt(v url.Values, key string, n int64) {
	if n != 0 {
		v.Set(key, strconv.FormatInt(n, 10))
	}
}

func setBool(v url.Values, key string, b *bool) {
	if b != nil {
		v.Set(key, strconv.FormatBool(*b))
	}
}

// PageOptions is the constraint of the generic pagers [Pages], [Items]
// and [All]: a pointer to one of this package's list options types
// ([UserListOptions], [RoleAssignmentListOptions], ...). Each embeds
// [ListOptions], which the pagers set page by page, and knows its
// endpoint's largest page ([MaxLimitUsers] for users, [MaxLimit] for the
// others).
type PageOptions[O any] interface {
	*O
	paging() *ListOptions
	maxLimit() int
}

// Page is one page of a collection, as [Pages] yields it.
type Page[T any] struct {
	// Items are the page's items in Kisi's order.
	Items []*T
	// Offset is the offset the page was read at.
	Offset int
	// Response is the page's response; its Total is the collection's size
	// (-1 when Kisi sent none).
	Response *Response
}

// Pages reads, lazily and one page at a time, the collection that list
// returns a page of, filtered by a copy of opts taken now (nil: no
// filter). list is a service's List method or a flat page method such as
// [Client.ListRoleAssignments], of a Client or of a caller's narrow
// interface that wraps one:
//
//	for page, err := range kisi.Pages(ctx, k.ListUsers, &kisi.UserListOptions{PlaceID: 7}) { ... }
//
// It starts at opts.Offset, reads pages of opts.Limit or else of the
// endpoint's largest size (100 for users, 250 for the others), stops when
// yield returns false, and yields (nil, err) once on an error, including
// [ErrOffsetCap] when the next page lies beyond [MaxOffset] (narrow the
// filter). It also stops after an empty page or when the next offset does
// not advance, so a misbehaving list cannot make it loop. Each range over
// the result starts again from opts.
func Pages[T, O any, P PageOptions[O]](ctx context.Context, list func(context.Context, P) ([]*T, *Response, error), opts P) iter.Seq2[*Page[T], error] {
	var o O
	if opts != nil {
		o = *opts
	}
	start := *P(&o).paging()
	return pages(start, P(&o).maxLimit(), func(lo ListOptions) ([]*T, *Response, error) {
		page := o
		*P(&page).paging() = lo
		return list(ctx, &page)
	})
}

// Items is [Pages] item by item: it yields every item of the collection
// that list returns a page of, filtered by a copy of opts taken now.
//
//	for ra, err := range kisi.Items(ctx, k.ListRoleAssignments, &kisi.RoleAssignmentListOptions{AppliesToType: kisi.ScopeGroup, AppliesToID: g}) { ... }
func Items[T, O any, P PageOptions[O]](ctx context.Context, list func(context.Context, P) ([]*T, *Response, error), opts P) iter.Seq2[*T, error] {
	return items(Pages(ctx, list, opts))
}

// All reads every item of the collection that list returns a page of,
// filtered by opts, as [Items] yields them. It returns the first error a
// page gives, or ctx's error when ctx ends between items.
func All[T, O any, P PageOptions[O]](ctx context.Context, list func(context.Context, P) ([]*T, *Response, error), opts P) ([]*T, error) {
	var out []*T
	for it, err := range Items(ctx, list, opts) {
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// pages is the pager of [Pages] and [Iterate] over fetch.
func pages[T any](start ListOptions, maxPage int, fetch func(ListOptions) ([]*T, *Response, error)) iter.Seq2[*Page[T], error] {
	return func(yield func(*Page[T], error) bool) {
		lo := start
		if lo.Limit <= 0 || lo.Limit > maxPage {
			lo.Limit = maxPage
		}
		for {
			its, resp, err := fetch(lo)
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(&Page[T]{Items: its, Offset: lo.Offset, Response: resp}, nil) {
				return
			}
			if resp == nil || resp.NextOffset <= lo.Offset || len(its) == 0 {
				return
			}
			if resp.NextOffset > MaxOffset {
				yield(nil, fmt.Errorf("kisi: list: next offset %d of %d items: %w", resp.NextOffset, resp.Total, ErrOffsetCap))
				return
			}
			lo.Offset = resp.NextOffset
		}
	}
}

// items flattens a sequence of pages.
func items[T any](ps iter.Seq2[*Page[T], error]) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		for p, err := range ps {
			if err != nil {
				yield(nil, err)
				return
			}
			for _, it := range p.Items {
				if !yield(it, nil) {
					return
				}
			}
		}
	}
}

// Iterate pages lazily through a collection that fetch reads one page at
// a time, as [Items] does for a list method, for a collection read some
// other way. It starts at start.Offset, uses start.Limit or else maxPage
// as the page size ([MaxLimit], or [MaxLimitUsers] for users), and
// otherwise behaves as [Pages]. Each range over the result starts again
// from start.
//
// Deprecated: page a list method with [Items], [All] or [Pages], which
// know each endpoint's page size.
func Iterate[T any](start ListOptions, maxPage int, fetch func(ListOptions) ([]*T, *Response, error)) iter.Seq2[*T, error] {
	return items(pages(start, maxPage, fetch))
}
