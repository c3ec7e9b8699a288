package schedule_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/schedule"
)

func TestNewSet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []schedule.Interval
		want []schedule.Interval
	}{
		{name: "none", in: nil, want: nil},
		{name: "one", in: []schedule.Interval{iv(0, 10)}, want: []schedule.Interval{iv(0, 10)}},
		{name: "sorted", in: []schedule.Interval{iv(20, 30), iv(0, 10)}, want: []schedule.Interval{iv(0, 10), iv(20, 30)}},
		{name: "touching joined", in: []schedule.Interval{iv(10, 20), iv(0, 10)}, want: []schedule.Interval{iv(0, 20)}},
		{name: "overlapping joined", in: []schedule.Interval{iv(0, 15), iv(10, 20)}, want: []schedule.Interval{iv(0, 20)}},
		{name: "contained", in: []schedule.Interval{iv(0, 30), iv(10, 20)}, want: []schedule.Interval{iv(0, 30)}},
		{name: "empty dropped", in: []schedule.Interval{iv(5, 5), iv(0, 1)}, want: []schedule.Interval{iv(0, 1)}},
		{name: "reversed dropped", in: []schedule.Interval{iv(9, 3)}, want: nil},
		{name: "duplicates", in: []schedule.Interval{iv(0, 5), iv(0, 5), iv(0, 5)}, want: []schedule.Interval{iv(0, 5)}},
		{name: "same start longer wins", in: []schedule.Interval{iv(0, 5), iv(0, 9)}, want: []schedule.Interval{iv(0, 9)}},
		{name: "forever", in: []schedule.Interval{{Start: at(0), End: schedule.Forever}, iv(10, 20)},
			want: []schedule.Interval{{Start: at(0), End: schedule.Forever}}},
		{name: "chain", in: []schedule.Interval{iv(30, 40), iv(0, 10), iv(20, 30), iv(10, 20), iv(50, 60)},
			want: []schedule.Interval{iv(0, 40), iv(50, 60)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := slices.Clone(tc.in)
			got := schedule.NewSet(tc.in...)
			if diff := cmp.Diff(tc.want, got.Intervals()); diff != "" {
				t.Errorf("NewSet(%v) (-want +got):\n%s", tc.in, diff)
			}
			if diff := cmp.Diff(in, tc.in); diff != "" {
				t.Errorf("NewSet modified its input (-before +after):\n%s", diff)
			}
			requireNormalized(t, got)
		})
	}
}

func TestNewSetStripsMonotonic(t *testing.T) {
	t.Parallel()
	now := time.Now() // carries a monotonic reading
	s := schedule.NewSet(schedule.Interval{Start: now, End: now.Add(time.Hour)})
	got := s.Intervals()[0]
	require.Equal(t, now.Round(0), got.Start, "monotonic reading kept")
}

func TestSetOps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                  string
		a, b                  schedule.Set
		union, intersect, a_b schedule.Set
	}{
		{name: "both empty", a: set(), b: set(), union: set(), intersect: set(), a_b: set()},
		{name: "a empty", a: set(), b: set(0, 10), union: set(0, 10), intersect: set(), a_b: set()},
		{name: "b empty", a: set(0, 10), b: set(), union: set(0, 10), intersect: set(), a_b: set(0, 10)},
		{name: "disjoint", a: set(0, 10), b: set(20, 30), union: set(0, 10, 20, 30), intersect: set(), a_b: set(0, 10)},
		{name: "touching", a: set(0, 10), b: set(10, 20), union: set(0, 20), intersect: set(), a_b: set(0, 10)},
		{name: "overlap", a: set(0, 15), b: set(10, 20), union: set(0, 20), intersect: set(10, 15), a_b: set(0, 10)},
		{name: "b inside a", a: set(0, 30), b: set(10, 20), union: set(0, 30), intersect: set(10, 20), a_b: set(0, 10, 20, 30)},
		{name: "a inside b", a: set(10, 20), b: set(0, 30), union: set(0, 30), intersect: set(10, 20), a_b: set()},
		{name: "equal", a: set(0, 10), b: set(0, 10), union: set(0, 10), intersect: set(0, 10), a_b: set()},
		{name: "b bridges a", a: set(0, 10, 20, 30), b: set(5, 25), union: set(0, 30), intersect: set(5, 10, 20, 25), a_b: set(0, 5, 25, 30)},
		{name: "many holes", a: set(0, 100), b: set(10, 20, 30, 40, 50, 60), union: set(0, 100),
			intersect: set(10, 20, 30, 40, 50, 60), a_b: set(0, 10, 20, 30, 40, 50, 60, 100)},
		{name: "b spans several a", a: set(0, 10, 20, 30, 40, 50), b: set(5, 45),
			union: set(0, 50), intersect: set(5, 10, 20, 30, 40, 45), a_b: set(0, 5, 45, 50)},
		{name: "interleaved", a: set(0, 10, 20, 30), b: set(10, 20, 30, 40), union: set(0, 40), intersect: set(), a_b: set(0, 10, 20, 30)},
		{name: "forever", a: schedule.NewSet(schedule.Interval{Start: at(0), End: schedule.Forever}), b: set(10, 20),
			union:     schedule.NewSet(schedule.Interval{Start: at(0), End: schedule.Forever}),
			intersect: set(10, 20),
			a_b:       schedule.NewSet(iv(0, 10), schedule.Interval{Start: at(20), End: schedule.Forever})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, op := range []struct {
				name      string
				got, want schedule.Set
			}{
				{"Union", tc.a.Union(tc.b), tc.union},
				{"Union reversed", tc.b.Union(tc.a), tc.union},
				{"Intersect", tc.a.Intersect(tc.b), tc.intersect},
				{"Intersect reversed", tc.b.Intersect(tc.a), tc.intersect},
				{"Subtract", tc.a.Subtract(tc.b), tc.a_b},
			} {
				if diff := cmp.Diff(op.want.Intervals(), op.got.Intervals()); diff != "" {
					t.Errorf("%v.%s(%v) (-want +got):\n%s", tc.a, op.name, tc.b, diff)
				}
				requireNormalized(t, op.got)
			}
		})
	}
}

func TestSetQueries(t *testing.T) {
	t.Parallel()
	s := set(10, 20, 30, 40)
	tests := []struct {
		name     string
		t        time.Time
		contains bool
		at       schedule.Interval
		atOK     bool
		next     schedule.Interval
		nextOK   bool
		edge     time.Time
		edgeOK   bool
	}{
		{name: "before all", t: at(0), next: iv(10, 20), nextOK: true, edge: at(10), edgeOK: true},
		{name: "at first start", t: at(10), contains: true, at: iv(10, 20), atOK: true, next: iv(30, 40), nextOK: true, edge: at(20), edgeOK: true},
		{name: "inside first", t: at(15), contains: true, at: iv(10, 20), atOK: true, next: iv(30, 40), nextOK: true, edge: at(20), edgeOK: true},
		{name: "at first end", t: at(20), next: iv(30, 40), nextOK: true, edge: at(30), edgeOK: true},
		{name: "in gap", t: at(25), next: iv(30, 40), nextOK: true, edge: at(30), edgeOK: true},
		{name: "inside last", t: at(35), contains: true, at: iv(30, 40), atOK: true, edge: at(40), edgeOK: true},
		{name: "at last end", t: at(40)},
		{name: "after all", t: at(99)},
		{name: "just before end", t: at(40).Add(-time.Nanosecond), contains: true, at: iv(30, 40), atOK: true, edge: at(40), edgeOK: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := s.Contains(tc.t); got != tc.contains {
				t.Errorf("Contains(%v) = %v, want %v", tc.t, got, tc.contains)
			}
			gotAt, ok := s.At(tc.t)
			if diff := cmp.Diff([]any{tc.at, tc.atOK}, []any{gotAt, ok}); diff != "" {
				t.Errorf("At(%v) (-want +got):\n%s", tc.t, diff)
			}
			gotNext, ok := s.NextAfter(tc.t)
			if diff := cmp.Diff([]any{tc.next, tc.nextOK}, []any{gotNext, ok}); diff != "" {
				t.Errorf("NextAfter(%v) (-want +got):\n%s", tc.t, diff)
			}
			gotEdge, ok := s.NextEdge(tc.t)
			if diff := cmp.Diff([]any{tc.edge, tc.edgeOK}, []any{gotEdge, ok}); diff != "" {
				t.Errorf("NextEdge(%v) (-want +got):\n%s", tc.t, diff)
			}
		})
	}
}

func TestSetWindow(t *testing.T) {
	t.Parallel()
	s := set(0, 10, 20, 30, 40, 50)
	tests := []struct {
		name              string
		window            schedule.Interval
		overlapping, clip schedule.Set
	}{
		{name: "all", window: iv(-10, 60), overlapping: s, clip: s},
		{name: "cuts both ends", window: iv(5, 45), overlapping: s, clip: set(5, 10, 20, 30, 40, 45)},
		{name: "one inside", window: iv(22, 28), overlapping: set(20, 30), clip: set(22, 28)},
		{name: "gap only", window: iv(10, 20), overlapping: set(), clip: set()},
		{name: "touches end", window: iv(30, 35), overlapping: set(), clip: set()},
		{name: "empty window", window: iv(25, 25), overlapping: set(), clip: set()},
		{name: "reversed window", window: iv(45, 5), overlapping: set(), clip: set()},
		{name: "after", window: iv(60, 70), overlapping: set(), clip: set()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.overlapping.Intervals(), s.Overlapping(tc.window).Intervals()); diff != "" {
				t.Errorf("Overlapping(%v) (-want +got):\n%s", tc.window, diff)
			}
			if diff := cmp.Diff(tc.clip.Intervals(), s.Clip(tc.window).Intervals()); diff != "" {
				t.Errorf("Clip(%v) (-want +got):\n%s", tc.window, diff)
			}
		})
	}
}

func TestSetBasics(t *testing.T) {
	t.Parallel()
	var zero schedule.Set
	require.True(t, zero.IsEmpty())
	require.Equal(t, 0, zero.Len())
	require.Nil(t, zero.Intervals())
	require.Equal(t, "{}", zero.String())
	require.False(t, zero.Contains(at(0)))
	_, ok := zero.NextEdge(at(0))
	require.False(t, ok)

	s := set(0, 10, 20, 30)
	require.Equal(t, 2, s.Len())
	require.False(t, s.IsEmpty())
	require.Equal(t, "{[2026-01-05T00:00:00Z, 2026-01-05T00:10:00Z), [2026-01-05T00:20:00Z, 2026-01-05T00:30:00Z)}", s.String())

	// Equal ignores locations.
	ny := loadLocation(t, "America/New_York")
	inNY := schedule.NewSet(schedule.Interval{Start: at(0).In(ny), End: at(10).In(ny)}, schedule.Interval{Start: at(20).In(ny), End: at(30).In(ny)})
	require.True(t, s.Equal(inNY))
	require.False(t, s.Equal(set(0, 10)))
	require.True(t, zero.Equal(set()))

	// All yields the intervals in order and stops early.
	var got []schedule.Interval
	for v := range s.All() {
		got = append(got, v)
	}
	require.Equal(t, s.Intervals(), got)
	for v := range s.All() {
		require.Equal(t, iv(0, 10), v)
		break
	}

	// Intervals returns a copy.
	ivs := s.Intervals()
	ivs[0] = iv(100, 200)
	require.Equal(t, iv(0, 10), s.Intervals()[0])
}

func TestSetJSON(t *testing.T) {
	t.Parallel()
	s := schedule.NewSet(iv(0, 10), schedule.Interval{Start: at(20), End: schedule.Forever})
	b, err := json.Marshal(s)
	require.NoError(t, err)
	want := `[{"start":"2026-01-05T00:00:00Z","end":"2026-01-05T00:10:00Z"},{"start":"2026-01-05T00:20:00Z","end":null}]`
	require.JSONEq(t, want, string(b))
	var back schedule.Set
	require.NoError(t, json.Unmarshal(b, &back))
	require.True(t, s.Equal(back), "round trip: %v != %v", back, s)

	b, err = json.Marshal(schedule.Set{})
	require.NoError(t, err)
	require.Equal(t, "[]", string(b))
	require.Error(t, json.Unmarshal([]byte(`[{"end":null}]`), &back))
}
