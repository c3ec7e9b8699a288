package kisi

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// TestIterateKeepsItsBehaviour: the deprecated Iterate pages as before, on
// the pagers' core: the caller's start and page size, capped at maxPage.
func TestIterateKeepsItsBehaviour(t *testing.T) {
	t.Parallel()
	var calls []ListOptions
	fetch := func(lo ListOptions) ([]*int, *Response, error) {
		calls = append(calls, lo)
		var out []*int
		for i := lo.Offset; i < 25 && i < lo.Offset+lo.Limit; i++ {
			v := i
			out = append(out, &v)
		}
		next := 0
		if lo.Offset+len(out) < 25 {
			next = lo.Offset + len(out)
		}
		return out, &Response{Total: 25, NextOffset: next}, nil
	}
	n := 0
	for v, err := range Iterate(ListOptions{Offset: 3, Limit: 500}, 10, fetch) {
		require.NoError(t, err)
		require.Equal(t, n+3, *v)
		n++
	}
	require.Equal(t, 22, n)
	if diff := cmp.Diff([]ListOptions{{Limit: 10, Offset: 3}, {Limit: 10, Offset: 13}, {Limit: 10, Offset: 23}}, calls); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
}
