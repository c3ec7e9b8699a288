package kisi_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi"
)

// TestEventSetEvents: create, poll on the fake clock while in progress, then
// follow the cursor.
func TestEventSetEvents(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClock()
	c, mux, _ := setup(t, kisi.WithClock(clock))
	var polls atomic.Int32
	mux.HandleFunc("POST /event_sets", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"id": 11, "status": "in_progress", "cursor": nil})
	})
	mux.HandleFunc("GET /event_sets/11", func(w http.ResponseWriter, r *http.Request) {
		switch cursor := r.URL.Query().Get("cursor"); {
		case cursor == "" && polls.Add(1) < 3:
			writeJSON(w, http.StatusOK, map[string]any{"id": 11, "status": "in_progress", "cursor": nil})
		case cursor == "":
			writeJSON(w, http.StatusOK, map[string]any{"id": 11, "status": "finished", "cursor": "p2",
				"events": []map[string]any{{"uuid": "e1", "type": "lock.unlock", "success": true}, {"uuid": "e2", "type": "lock.unlock", "success": false, "error_code": "f35ade"}}})
		case cursor == "p2" && r.URL.Query().Get("limit") == "2":
			writeJSON(w, http.StatusOK, map[string]any{"id": 11, "status": "finished", "cursor": nil,
				"events": []map[string]any{{"uuid": "e3", "type": "lock.unlock", "success": true}}})
		default:
			http.Error(w, "unexpected page", http.StatusBadRequest)
		}
	})
	ctx := t.Context()
	type result struct {
		ids []string
		err error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		for ev, err := range c.EventSets.Events(ctx, &kisi.EventSetCreateRequest{EventType: kisi.Ptr(kisi.EventLockUnlock)}, 2) {
			if err != nil {
				r.err = err
				break
			}
			r.ids = append(r.ids, ev.UUID)
		}
		done <- r
	}()
	for range 2 {
		require.NoError(t, clock.BlockUntilContext(ctx, 1))
		clock.Advance(kisi.DefaultEventSetPoll)
	}
	r := <-done
	require.NoError(t, r.err)
	if diff := cmp.Diff([]string{"e1", "e2", "e3"}, r.ids); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestEventSetWaitFailedAndCanceled(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("GET /event_sets/1", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"id": 1, "status": "failed"})
	})
	mux.HandleFunc("GET /event_sets/2", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"id": 2, "status": "in_progress"})
	})
	_, _, err := c.EventSets.Wait(t.Context(), 1, time.Millisecond)
	if !errors.Is(err, kisi.ErrEventSetFailed) {
		t.Errorf("failed set: err = %v, want ErrEventSetFailed", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, _, err = c.EventSets.Wait(ctx, 2, time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("endless set: err = %v, want context.DeadlineExceeded", err)
	}
}

// TestEventSetCursorLoopStops: the cursor loop ends on a repeated cursor or
// an empty page instead of asking for the same page for ever.
func TestEventSetCursorLoopStops(t *testing.T) {
	t.Parallel()
	ev := func(id string) map[string]any { return map[string]any{"uuid": id, "type": "lock.unlock"} }
	tests := []struct {
		name     string
		pages    map[string]map[string]any // cursor → page
		want     []string
		wantGets int
	}{
		{
			name: "repeated cursor",
			pages: map[string]map[string]any{
				"c1": {"cursor": "c2", "events": []any{ev("e2")}},
				"c2": {"cursor": "c1", "events": []any{ev("e3")}},
			},
			want: []string{"e1", "e2", "e3"}, wantGets: 2,
		},
		{
			name: "same cursor again",
			pages: map[string]map[string]any{
				"c1": {"cursor": "c1", "events": []any{ev("e2")}},
			},
			want: []string{"e1", "e2"}, wantGets: 1,
		},
		{
			name: "empty page with a cursor",
			pages: map[string]map[string]any{
				"c1": {"cursor": "c2", "events": []any{}},
				"c2": {"cursor": nil, "events": []any{ev("never")}},
			},
			want: []string{"e1"}, wantGets: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, mux, _ := setup(t)
			var gets atomic.Int32
			mux.HandleFunc("POST /event_sets", func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, map[string]any{"id": 5, "status": "finished", "cursor": "c1", "events": []any{ev("e1")}})
			})
			mux.HandleFunc("GET /event_sets/5", func(w http.ResponseWriter, r *http.Request) {
				if gets.Add(1) > 10 {
					http.Error(w, "looping", http.StatusBadRequest)
					return
				}
				page := map[string]any{"id": 5, "status": "finished"}
				for k, v := range tc.pages[r.URL.Query().Get("cursor")] {
					page[k] = v
				}
				writeJSON(w, http.StatusOK, page)
			})
			var got []string
			for ev, err := range c.EventSets.Events(t.Context(), nil, 0) {
				require.NoError(t, err)
				got = append(got, ev.UUID)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if n := int(gets.Load()); n != tc.wantGets {
				t.Errorf("GET /event_sets/5 %d times, want %d", n, tc.wantGets)
			}
		})
	}
}
