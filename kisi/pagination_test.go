package kisi_test

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi"
)

// collection serves total items of {"id": n} with Kisi's limit/offset rules
// and X-Collection-Range, recording the (limit, offset) of each request.
type collection struct {
	total, defLimit, maxLimit int
	mu                        sync.Mutex
	pages                     [][2]int
}

func (c *collection) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	limit, offset := c.defLimit, 0
	if s := r.URL.Query().Get("limit"); s != "" {
		limit, _ = strconv.Atoi(s)
	}
	if s := r.URL.Query().Get("offset"); s != "" {
		offset, _ = strconv.Atoi(s)
	}
	if limit > c.maxLimit || offset > kisi.MaxOffset {
		writeJSON(w, http.StatusBadRequest, map[string]string{"code": "ffffff", "error": "bad page"})
		return
	}
	c.mu.Lock()
	c.pages = append(c.pages, [2]int{limit, offset})
	c.mu.Unlock()
	items := []map[string]int{}
	for i := offset; i < min(offset+limit, c.total); i++ {
		items = append(items, map[string]int{"id": i + 1})
	}
	w.Header().Set("X-Collection-Range", fmt.Sprintf("%d-%d/%d", offset, offset+limit-1, c.total))
	writeJSON(w, http.StatusOK, items)
}

func TestListResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		opts           kisi.ListOptions
		total          int
		wantN          int
		wantTotal      int
		wantNextOffset int
	}{
		{name: "first page default limit", total: 25, wantN: 10, wantTotal: 25, wantNextOffset: 10},
		{name: "middle page", opts: kisi.ListOptions{Limit: 10, Offset: 10}, total: 25, wantN: 10, wantTotal: 25, wantNextOffset: 20},
		{name: "last short page", opts: kisi.ListOptions{Limit: 10, Offset: 20}, total: 25, wantN: 5, wantTotal: 25, wantNextOffset: 0},
		{name: "exact end", opts: kisi.ListOptions{Limit: 5, Offset: 20}, total: 25, wantN: 5, wantTotal: 25, wantNextOffset: 0},
		{name: "empty", total: 0, wantN: 0, wantTotal: 0, wantNextOffset: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, mux, _ := setup(t)
			mux.Handle("GET /teams", &collection{total: tc.total, defLimit: 10, maxLimit: 250})
			teams, resp, err := c.Teams.List(t.Context(), &kisi.TeamListOptions{ListOptions: tc.opts})
			require.NoError(t, err)
			got := []int{len(teams), resp.Total, resp.NextOffset}
			want := []int{tc.wantN, tc.wantTotal, tc.wantNextOffset}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("[items total next] (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListWithoutCollectionRange(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("GET /places", func(w http.ResponseWriter, r *http.Request) {
		items := make([]map[string]int, 50)
		for i := range items {
			items[i] = map[string]int{"id": i + 1}
		}
		writeJSON(w, http.StatusOK, items)
	})
	_, resp, err := c.Places.List(t.Context(), nil)
	require.NoError(t, err)
	if resp.Total != -1 || resp.NextOffset != 50 {
		t.Errorf("total %d next %d, want -1 and 50 (a full page of the default 50)", resp.Total, resp.NextOffset)
	}
}

func TestListIterPages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		path      string
		total     int
		defLimit  int
		maxLimit  int
		limit     int
		iter      func(c *kisi.Client, t *testing.T, lo kisi.ListOptions) []int64
		wantPages [][2]int
	}{
		{
			name: "role assignments at max limit", path: "GET /role_assignments", total: 600, defLimit: 10, maxLimit: 250,
			iter: func(c *kisi.Client, t *testing.T, lo kisi.ListOptions) []int64 {
				var ids []int64
				for ra, err := range c.RoleAssignments.ListIter(t.Context(), &kisi.RoleAssignmentListOptions{AppliesToType: "Group", AppliesToID: 1, ListOptions: lo}) {
					require.NoError(t, err)
					ids = append(ids, ra.ID)
				}
				return ids
			},
			wantPages: [][2]int{{250, 0}, {250, 250}, {250, 500}},
		},
		{
			name: "users at 100", path: "GET /users", total: 150, defLimit: 50, maxLimit: 100,
			iter: func(c *kisi.Client, t *testing.T, lo kisi.ListOptions) []int64 {
				var ids []int64
				for u, err := range c.Users.ListIter(t.Context(), &kisi.UserListOptions{ListOptions: lo}) {
					require.NoError(t, err)
					ids = append(ids, u.ID)
				}
				return ids
			},
			wantPages: [][2]int{{100, 0}, {100, 100}},
		},
		{
			name: "group links with a caller's limit", path: "GET /group_links", total: 25, defLimit: 10, maxLimit: 250, limit: 10,
			iter: func(c *kisi.Client, t *testing.T, lo kisi.ListOptions) []int64 {
				var ids []int64
				for l, err := range c.GroupLinks.ListIter(t.Context(), &kisi.GroupLinkListOptions{GroupID: 3, ListOptions: lo}) {
					require.NoError(t, err)
					ids = append(ids, l.ID)
				}
				return ids
			},
			wantPages: [][2]int{{10, 0}, {10, 10}, {10, 20}},
		},
		{
			name: "empty collection", path: "GET /groups", total: 0, defLimit: 10, maxLimit: 250,
			iter: func(c *kisi.Client, t *testing.T, lo kisi.ListOptions) []int64 {
				var ids []int64
				for g, err := range c.Groups.ListIter(t.Context(), nil) {
					require.NoError(t, err)
					ids = append(ids, g.ID)
				}
				return ids
			},
			wantPages: [][2]int{{250, 0}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, mux, _ := setup(t)
			col := &collection{total: tc.total, defLimit: tc.defLimit, maxLimit: tc.maxLimit}
			mux.Handle(tc.path, col)
			ids := tc.iter(c, t, kisi.ListOptions{Limit: tc.limit})
			var want []int64
			for i := range tc.total {
				want = append(want, int64(i+1))
			}
			if diff := cmp.Diff(want, ids); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantPages, col.pages); diff != "" {
				t.Errorf("pages [limit offset] (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListIterStopsEarlyAndRestarts(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	col := &collection{total: 600, defLimit: 10, maxLimit: 250}
	mux.Handle("GET /teams", col)
	seq := c.Teams.ListIter(t.Context(), nil)
	for range 2 {
		n := 0
		for tm, err := range seq {
			require.NoError(t, err)
			n++
			if tm.ID == 3 {
				break
			}
		}
		if n != 3 {
			t.Errorf("yielded %d before break, want 3", n)
		}
	}
	if diff := cmp.Diff([][2]int{{250, 0}, {250, 0}}, col.pages); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
}

func TestListIterOffsetCap(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	col := &collection{total: 50000, defLimit: 10, maxLimit: 250}
	mux.Handle("GET /role_assignments", col)
	n := 0
	var last error
	for _, err := range c.RoleAssignments.ListIter(t.Context(), &kisi.RoleAssignmentListOptions{ListOptions: kisi.ListOptions{Offset: 19500}}) {
		if err != nil {
			last = err
			continue
		}
		n++
	}
	if !errors.Is(last, kisi.ErrOffsetCap) {
		t.Fatalf("last error = %v, want ErrOffsetCap", last)
	}
	// Pages at 19500, 19750 and 20000 are readable; 20250 is not.
	if n != 750 {
		t.Errorf("items before the cap = %d, want 750", n)
	}
	if len(col.pages) != 3 {
		t.Errorf("requests = %d, want 3", len(col.pages))
	}
	_, _, err := c.RoleAssignments.List(t.Context(), &kisi.RoleAssignmentListOptions{ListOptions: kisi.ListOptions{Offset: kisi.MaxOffset + 1}})
	if !errors.Is(err, kisi.ErrOffsetCap) {
		t.Errorf("List beyond the cap = %v, want ErrOffsetCap", err)
	}
}

func TestListIterError(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("GET /locks", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"code": "afc516", "error": "nope"})
	})
	errs := 0
	for l, err := range c.Locks.ListIter(t.Context(), nil) {
		if l != nil || !errors.Is(err, kisi.ErrUnauthorized) {
			t.Errorf("got (%v, %v), want (nil, ErrUnauthorized)", l, err)
		}
		errs++
	}
	if errs != 1 {
		t.Errorf("errors yielded = %d, want 1", errs)
	}
}
