package attendance_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/attendance"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/kisi"
)

func unlockEvent(uuid string, actor int64, email string, lock, place int64, ok bool) *kisi.Event {
	ev := &kisi.Event{UUID: uuid, Type: kisi.EventLockUnlock, ActorType: kisi.Ptr(kisi.AssigneeUser), ActorID: kisi.Ptr(actor),
		ObjectType: "Lock", ObjectID: lock, Success: ok, PlaceID: kisi.Ptr(place), CreatedAt: cest("09:00")}
	if email != "" {
		ev.ActorEmail = kisi.Ptr(email)
	}
	return ev
}

func newTestAttendance(t *testing.T, memory int) *attendance.Tracker {
	t.Helper()
	a, err := attendance.New(attendance.Config{
		Members: []access.Member{
			{ID: "alice", Email: " Alice@Example.com "},
			{ID: "bob", Email: "bob@example.com"},
			{ID: "bob2", Email: "BOB@example.com"}, // shares bob's email: bob wins
			{ID: "broken", Email: "not-an-email"},
		},
		Users:  attendance.UserEmails([]state.Record{{Key: state.UserKey("bob@example.com"), Kind: state.KindUser, KisiID: 7, Email: "bob@example.com"}}),
		Places: map[int64]string{100: "berlin", 200: "hamburg"},
		Locks:  map[int64]string{55: "berlin-annex"},
		Memory: memory,
	})
	require.NoError(t, err)
	return a
}

func TestAttendanceAdd(t *testing.T) {
	t.Parallel()
	failed := unlockEvent("u-failed", 1, "alice@example.com", 5, 100, false)
	failed.ErrorCode = kisi.Ptr(kisi.CodeAccessNotYetValid)
	link := unlockEvent("u-link", 1, "", 5, 100, true)
	link.ActorType = kisi.Ptr("GroupLink")
	other := unlockEvent("u-other", 1, "alice@example.com", 5, 100, true)
	other.Type = "lock.opened"
	tests := []struct {
		name string
		ev   *kisi.Event
		want access.CheckIn
		err  error
	}{
		{"by email", unlockEvent("u1", 1, "ALICE@example.com", 5, 100, true),
			access.CheckIn{ID: "kisi-u1", MemberID: "alice", LocationID: "berlin", At: cest("09:00")}, nil},
		{"by kisi user id", unlockEvent("u2", 7, "", 6, 200, true),
			access.CheckIn{ID: "kisi-u2", MemberID: "bob", LocationID: "hamburg", At: cest("09:00")}, nil},
		{"lock overrides place", unlockEvent("u3", 7, "", 55, 100, true),
			access.CheckIn{ID: "kisi-u3", MemberID: "bob", LocationID: "berlin-annex", At: cest("09:00")}, nil},
		{"failed unlock", failed, access.CheckIn{}, attendance.ErrNotAttendance},
		{"link unlock", link, access.CheckIn{}, attendance.ErrNotAttendance},
		{"other event type", other, access.CheckIn{}, attendance.ErrNotAttendance},
		{"no uuid", unlockEvent("", 1, "alice@example.com", 5, 100, true), access.CheckIn{}, attendance.ErrNotAttendance},
		{"nil event", nil, access.CheckIn{}, attendance.ErrNotAttendance},
		{"unknown user", unlockEvent("u4", 8, "", 5, 100, true), access.CheckIn{}, access.ErrUnknownMember},
		{"unknown place", unlockEvent("u5", 1, "alice@example.com", 5, 300, true), access.CheckIn{}, access.ErrUnknownLocation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newTestAttendance(t, 0)
			got, err := a.Add(tc.ev)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("check-in (-want +got):\n%s", diff)
			}
			_, err = a.Add(tc.ev)
			require.ErrorIs(t, err, attendance.ErrDuplicateEvent)
		})
	}
}

func TestAttendanceMemoryIsBounded(t *testing.T) {
	t.Parallel()
	a := newTestAttendance(t, 2)
	for _, id := range []string{"a", "b", "c"} {
		_, err := a.Add(unlockEvent(id, 1, "alice@example.com", 5, 100, true))
		require.NoError(t, err)
	}
	_, err := a.Add(unlockEvent("c", 1, "alice@example.com", 5, 100, true))
	require.ErrorIs(t, err, attendance.ErrDuplicateEvent)
	_, err = a.Add(unlockEvent("a", 1, "alice@example.com", 5, 100, true))
	require.NoError(t, err, "the oldest uuid is forgotten once the memory is full")

	_, err = attendance.New(attendance.Config{Memory: -1})
	require.Error(t, err)
}

// TestAttendanceFromEventSet reads unlocks back from the fake's event log.
func TestAttendanceFromEventSet(t *testing.T) {
	t.Parallel()
	r := newEventRig(t, cest("18:00"))
	alice := r.user(t, "alice@example.com", true, true)
	guest := r.user(t, "guest@example.com", true, false)
	r.unlock(t, alice, r.front, cest("09:00"), "")
	r.unlock(t, alice, r.roomDr, cest("09:05"), string(kisi.CodeAccessNotYetValid))
	r.unlock(t, guest, r.front, cest("10:00"), "")
	r.unlock(t, alice, r.roomDr, cest("14:00"), "")

	a, err := attendance.New(attendance.Config{
		Members: r.s.Members,
		Places:  map[int64]string{r.place: "berlin"},
	})
	require.NoError(t, err)
	req := &kisi.EventSetCreateRequest{Interval: kisi.EventInterval(cest("00:00"), cest("18:00")), EventType: kisi.Ptr(kisi.EventLockUnlock)}
	got, err := a.Collect(r.c.EventSets.Events(t.Context(), req, 0))
	require.NoError(t, err)
	want := []access.CheckIn{
		{MemberID: "alice", LocationID: "berlin", At: cest("14:00")},
		{MemberID: "alice", LocationID: "berlin", At: cest("09:00")},
	}
	for i := range got {
		require.True(t, strings.HasPrefix(got[i].ID, "kisi-"), got[i].ID)
		got[i].ID = ""
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("check-ins (-want +got):\n%s", diff)
	}
	// Reading the same events again yields nothing new.
	again, err := a.Collect(r.c.EventSets.Events(t.Context(), req, 0))
	require.NoError(t, err)
	require.Empty(t, again)

	_, err = a.Collect(func(yield func(*kisi.Event, error) bool) { yield(nil, errors.New("boom")) })
	require.Error(t, err)
}

// TestAttendanceWebhook feeds signed deliveries through kisi's webhook
// handler: a failing sink makes Kisi deliver again, and a repeat is
// counted once.
func TestAttendanceWebhook(t *testing.T) {
	t.Parallel()
	a := newTestAttendance(t, 0)
	var mu sync.Mutex
	var stored []access.CheckIn
	fail := true
	sink := func(_ context.Context, ci access.CheckIn) error {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			fail = false
			return errors.New("database down")
		}
		stored = append(stored, ci)
		return nil
	}
	const secret = "whsec"
	h, err := kisi.NewWebhookHandler(secret, a.WebhookFunc(sink))
	require.NoError(t, err)
	deliver := func(body string) int {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(body))
		req := httptest.NewRequest(http.MethodPost, "/kisi/webhook", strings.NewReader(body))
		req.Header.Set(kisi.SignatureHeader, "sha256="+hex.EncodeToString(mac.Sum(nil)))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	body := fmt.Sprintf(`{"uuid":"d7cf0237","actor_type":"User","actor_id":7,"actor_name":"Bob","object_type":"Lock","object_id":6,`+
		`"object_name":"Front door","organization_id":1,"place_id":200,"success":true,"type":"lock.unlock","error_code":null,`+
		`"error_message":null,"created_at":%q}`, cest("09:30").UTC().Format(time.RFC3339))
	require.Equal(t, http.StatusOK, deliver(body), "sink failed: acknowledged all the same (Kisi does not redeliver)")
	require.Equal(t, http.StatusOK, deliver(body))
	require.Equal(t, http.StatusOK, deliver(body), "a repeat is acknowledged")
	require.Equal(t, http.StatusOK, deliver(`{"uuid":"x1","type":"lock.unlock","success":false,"actor_type":"User","actor_id":7}`))
	want := []access.CheckIn{{ID: "kisi-d7cf0237", MemberID: "bob", LocationID: "hamburg", At: cest("09:30")}}
	if diff := cmp.Diff(want, stored); diff != "" {
		t.Errorf("stored check-ins (-want +got):\n%s", diff)
	}
}

// FuzzAttendance feeds arbitrary webhook bodies: Add never panics, a
// check-in is named after its event, and a uuid counts once.
func FuzzAttendance(f *testing.F) {
	f.Add(`{"uuid":"u1","type":"lock.unlock","success":true,"actor_type":"User","actor_email":"alice@example.com","object_type":"Lock","object_id":5,"place_id":100}`)
	f.Add(`{"uuid":"u2","type":"lock.unlock","success":true,"actor_type":"User","actor_id":7,"object_id":55}`)
	f.Add(`{"event":{"uuid":"u3","type":"lock.unlock","success":true,"actor_type":"User","actor_id":7,"place_id":200}}`)
	f.Add(`{"uuid":"","type":"lock.unlock"}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		a := newTestAttendance(t, 4)
		ev, err := kisi.DecodeEvent([]byte(body))
		if err != nil {
			return
		}
		ci, err := a.Add(ev)
		if err != nil {
			return
		}
		if ci.ID != "kisi-"+ev.UUID || ci.MemberID == "" || ci.LocationID == "" {
			t.Fatalf("bad check-in %+v for event %+v", ci, ev)
		}
		if _, err := a.Add(ev); !errors.Is(err, attendance.ErrDuplicateEvent) {
			t.Fatalf("second Add: %v, want ErrDuplicateEvent", err)
		}
	})
}
