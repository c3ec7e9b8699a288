package kisi_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

// pagedLister answers a page method of n items with Kisi's limit/offset
// rules, recording the filters and page of every call, as a caller's narrow
// interface or a wrapper of a Client would.
type pagedLister struct {
	n     int
	stuck bool // from the second page on, answer with the page's own offset as the next one
	err   error
	roles []kisi.RoleAssignmentListOptions
	users []kisi.UserListOptions
}

func (p *pagedLister) page(lo kisi.ListOptions) (ids []int64, resp *kisi.Response) {
	for i := lo.Offset; i < p.n && i < lo.Offset+lo.Limit; i++ {
		ids = append(ids, int64(i+1))
	}
	next := 0
	if lo.Offset+len(ids) < p.n {
		next = lo.Offset + len(ids)
	}
	if p.stuck && lo.Offset > 0 {
		next = lo.Offset
	}
	return ids, &kisi.Response{Total: p.n, NextOffset: next}
}

func (p *pagedLister) ListRoleAssignments(_ context.Context, opts *kisi.RoleAssignmentListOptions) ([]*kisi.RoleAssignment, *kisi.Response, error) {
	p.roles = append(p.roles, *opts)
	if p.err != nil {
		return nil, nil, p.err
	}
	ids, resp := p.page(opts.ListOptions)
	out := make([]*kisi.RoleAssignment, len(ids))
	for i, id := range ids {
		out[i] = &kisi.RoleAssignment{ID: id}
	}
	return out, resp, nil
}

func (p *pagedLister) ListUsers(_ context.Context, opts *kisi.UserListOptions) ([]*kisi.User, *kisi.Response, error) {
	p.users = append(p.users, *opts)
	if p.err != nil {
		return nil, nil, p.err
	}
	ids, resp := p.page(opts.ListOptions)
	out := make([]*kisi.User, len(ids))
	for i, id := range ids {
		out[i] = &kisi.User{ID: id}
	}
	return out, resp, nil
}

func TestAllThroughAPageMethod(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		n         int
		opts      kisi.ListOptions
		stuck     bool
		wantPages []kisi.ListOptions
		wantItems int
	}{
		{name: "empty", n: 0, wantPages: []kisi.ListOptions{{Limit: 250}}},
		{name: "one page of the largest size", n: 250, wantPages: []kisi.ListOptions{{Limit: 250}}, wantItems: 250},
		{name: "three pages", n: 600, wantItems: 600,
			wantPages: []kisi.ListOptions{{Limit: 250}, {Limit: 250, Offset: 250}, {Limit: 250, Offset: 500}}},
		{name: "caller's page size", n: 25, opts: kisi.ListOptions{Limit: 10}, wantItems: 25,
			wantPages: []kisi.ListOptions{{Limit: 10}, {Limit: 10, Offset: 10}, {Limit: 10, Offset: 20}}},
		{name: "a page size over Kisi's largest is the largest", n: 300, opts: kisi.ListOptions{Limit: 1000}, wantItems: 300,
			wantPages: []kisi.ListOptions{{Limit: 250}, {Limit: 250, Offset: 250}}},
		{name: "caller's start", n: 300, opts: kisi.ListOptions{Offset: 280}, wantItems: 20,
			wantPages: []kisi.ListOptions{{Limit: 250, Offset: 280}}},
		{name: "a next offset that does not advance stops", n: 600, stuck: true, wantItems: 500,
			wantPages: []kisi.ListOptions{{Limit: 250}, {Limit: 250, Offset: 250}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := &pagedLister{n: tc.n, stuck: tc.stuck}
			got, err := kisi.All(t.Context(), p.ListRoleAssignments, &kisi.RoleAssignmentListOptions{
				AppliesToType: kisi.ScopeGroup, AppliesToID: 7, ListOptions: tc.opts})
			require.NoError(t, err)
			require.Len(t, got, tc.wantItems)
			var pages []kisi.ListOptions
			for _, c := range p.roles {
				require.Equal(t, kisi.ScopeGroup, c.AppliesToType, "filters kept on every page")
				require.Equal(t, int64(7), c.AppliesToID)
				pages = append(pages, c.ListOptions)
			}
			if diff := cmp.Diff(tc.wantPages, pages); diff != "" {
				t.Errorf("pages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPagesUsersPageSize(t *testing.T) {
	t.Parallel()
	p := &pagedLister{n: 230}
	type page struct{ Offset, N, Total int }
	var got []page
	for pg, err := range kisi.Pages(t.Context(), p.ListUsers, &kisi.UserListOptions{PlaceID: 3}) {
		require.NoError(t, err)
		got = append(got, page{pg.Offset, len(pg.Items), pg.Response.Total})
	}
	want := []page{{0, 100, 230}, {100, 100, 230}, {200, 30, 230}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	for _, o := range p.users {
		require.Equal(t, kisi.MaxLimitUsers, o.Limit, "users are read 100 at a time")
		require.Equal(t, int64(3), o.PlaceID)
	}
}

func TestItemsCopiesOptionsAndRestarts(t *testing.T) {
	t.Parallel()
	p := &pagedLister{n: 600}
	opts := &kisi.RoleAssignmentListOptions{AppliesToID: 7}
	seq := kisi.Items(t.Context(), p.ListRoleAssignments, opts)
	opts.AppliesToID, opts.Offset = 8, 300 // after the call: not seen by seq
	for range 2 {
		n := 0
		for ra, err := range seq {
			require.NoError(t, err)
			n++
			if ra.ID == 3 {
				break
			}
		}
		require.Equal(t, 3, n, "yielded before break")
	}
	want := []kisi.RoleAssignmentListOptions{
		{AppliesToID: 7, ListOptions: kisi.ListOptions{Limit: 250}},
		{AppliesToID: 7, ListOptions: kisi.ListOptions{Limit: 250}},
	}
	if diff := cmp.Diff(want, p.roles); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestItemsNilOptions(t *testing.T) {
	t.Parallel()
	p := &pagedLister{n: 3}
	got, err := kisi.All(t.Context(), p.ListUsers, nil)
	require.NoError(t, err)
	require.Len(t, got, 3)
	if diff := cmp.Diff([]kisi.UserListOptions{{ListOptions: kisi.ListOptions{Limit: kisi.MaxLimitUsers}}}, p.users); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestPagersErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")

	_, err := kisi.All(t.Context(), (&pagedLister{err: boom}).ListUsers, nil)
	require.ErrorIs(t, err, boom)

	errs := 0
	for u, err := range kisi.Items(t.Context(), (&pagedLister{err: boom}).ListUsers, nil) {
		require.Nil(t, u)
		require.ErrorIs(t, err, boom)
		errs++
	}
	require.Equal(t, 1, errs, "an error is yielded once")

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = kisi.All(ctx, (&pagedLister{n: 3}).ListRoleAssignments, nil)
	require.ErrorIs(t, err, context.Canceled, "a page method that ignores ctx still ends with ctx's error")

	var last error
	n := 0
	for _, err := range kisi.Items(t.Context(), (&pagedLister{n: 50000}).ListRoleAssignments,
		&kisi.RoleAssignmentListOptions{ListOptions: kisi.ListOptions{Offset: 19500}}) {
		if err != nil {
			last = err
			continue
		}
		n++
	}
	require.ErrorIs(t, last, kisi.ErrOffsetCap)
	require.Equal(t, 750, n, "pages at 19500, 19750 and 20000 are readable; 20250 is not")
}

// A caller that declares a narrow interface of the page methods it needs
// reads every page with kisi.All; *kisi.Client satisfies the interface.
func ExampleAll() {
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	defer srv.Close()
	for i := range 120 {
		_, _ = srv.AddUser(fmt.Sprintf("member%03d@example.com", i), "", true)
	}
	c, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(rate.Inf, 0))
	if err != nil {
		log.Fatal(err)
	}
	var k interface {
		ListUsers(context.Context, *kisi.UserListOptions) ([]*kisi.User, *kisi.Response, error)
	} = c
	users, err := kisi.All(context.Background(), k.ListUsers, &kisi.UserListOptions{Query: "member"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(users), srv.Count("GET", "/users"))
	// Output: 120 2
}
