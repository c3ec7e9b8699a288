package access_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

func TestLinks(t *testing.T) {
	t.Parallel()
	s, m := fixture()
	m.Resources["room-1"] = []int64{104, 109}
	m.DropIn.QR = true
	s.Bookings = []access.Booking{
		{ID: "g2", ResourceID: "room-1", Guest: &access.Guest{Name: "Gus", Email: " Gus@Example.org"}, Start: hm(14, 0), End: hm(15, 0)},
		{ID: "g1", ResourceID: "desk-b", Guest: &access.Guest{Name: "Hal", Email: "hal@example.org"}, Start: hm(24*5, 0), End: hm(24*5+8, 0)},
		{ID: "g0", ResourceID: "room-1", Guest: &access.Guest{Name: "Old", Email: "old@example.org"}, Start: hm(8, 0), End: hm(9, 0)},
		{ID: "g3", ResourceID: "desk-ny", Guest: &access.Guest{Name: " ", Email: "ann@example.com"}, Start: hm(14, 0), End: hm(15, 0)}, // unnamed: the link takes the email
		{ID: "b1", ResourceID: "room-1", MemberID: "m1", Start: hm(14, 0), End: hm(15, 0)},
	}
	p := access.DefaultPolicy()
	p.ResourceBuffers = map[string]schedule.Buffer{"desk-b": {Before: time.Hour}}
	tests := []struct {
		name string
		at   time.Time
		want []string
	}{
		{"all not ended, long ahead", hm(9, 5), []string{
			`g1/105 hal@example.org "Hal" 03-06 23:00–03-07 08:00 link=true qr=true`,
			`g2/104 gus@example.org "Gus" 03-02 13:55–03-02 15:05 link=true qr=true`,
			`g2/109 gus@example.org "Gus" 03-02 13:55–03-02 15:05 link=true qr=true`,
			`g3/106 ann@example.com "ann@example.com" 03-02 13:55–03-02 15:05 link=true qr=true`,
		}},
		{"ended at the widened end", hm(15, 5), []string{`g1/105 hal@example.org "Hal" 03-06 23:00–03-07 08:00 link=true qr=true`}},
		{"still wanted in the after buffer", hm(9, 4), []string{
			`g0/104 old@example.org "Old" 03-02 07:55–03-02 09:05 link=true qr=true`,
			`g0/109 old@example.org "Old" 03-02 07:55–03-02 09:05 link=true qr=true`,
			`g1/105 hal@example.org "Hal" 03-06 23:00–03-07 08:00 link=true qr=true`,
			`g2/104 gus@example.org "Gus" 03-02 13:55–03-02 15:05 link=true qr=true`,
			`g2/109 gus@example.org "Gus" 03-02 13:55–03-02 15:05 link=true qr=true`,
			`g3/106 ann@example.com "ann@example.com" 03-02 13:55–03-02 15:05 link=true qr=true`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := access.Links(s, m, p, tc.at)
			require.NoError(t, err)
			if diff := cmp.Diff(tc.want, showLinks(got)); diff != "" {
				t.Errorf("Links (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("AddToGroup gives members and guests their grants too", func(t *testing.T) {
		t.Parallel()
		m := m.Clone()
		m.DropIn.AddToGroup = true
		links, err := access.Links(s, m, p, hm(13, 50))
		require.NoError(t, err)
		require.Len(t, links, 4)
		got, err := access.Desired(s, m, p, hm(13, 50))
		require.NoError(t, err)
		want := []string{
			"m1/104 03-02 13:55–03-02 15:05 booking:b1", "m1/106 03-02 13:55–03-02 15:05 booking:g3", "m1/109 03-02 13:55–03-02 15:05 booking:b1",
			`guest gus@example.org "Gus"/104 03-02 13:55–03-02 15:05 booking:g2`,
			`guest gus@example.org "Gus"/109 03-02 13:55–03-02 15:05 booking:g2`,
		}
		if diff := cmp.Diff(want, show(got)); diff != "" {
			t.Errorf("Desired (-want +got):\n%s", diff)
		}
		// The guest's access goes with the booking.
		s := s
		s.Bookings = slices.DeleteFunc(slices.Clone(s.Bookings), func(b access.Booking) bool { return b.ID == "g2" })
		got, err = access.Desired(s, m, p, hm(13, 50))
		require.NoError(t, err)
		if diff := cmp.Diff(want[:3], show(got)); diff != "" {
			t.Errorf("Desired without the booking (-want +got):\n%s", diff)
		}
	})
}

func TestDropInOptions(t *testing.T) {
	t.Parallel()
	s, m := fixture()
	s.Bookings = []access.Booking{{ID: "g1", ResourceID: "room-1", Guest: &access.Guest{Name: "Gus", Email: "gus@example.org"}, Start: hm(14, 0), End: hm(15, 0)}}
	p := access.DefaultPolicy()
	tests := []struct {
		name       string
		dropIn     mapping.DropIn
		wantLinks  []string
		wantGrants []string
	}{
		{"no option: nothing is created, no email goes out", mapping.DropIn{}, []string{}, []string{}},
		{"link", mapping.DropIn{Link: true}, []string{`g1/104 gus@example.org "Gus" 03-02 13:55–03-02 15:05 link=true qr=false`}, []string{}},
		{"QR only", mapping.DropIn{QR: true}, []string{`g1/104 gus@example.org "Gus" 03-02 13:55–03-02 15:05 link=false qr=true`}, []string{}},
		{"AddToGroup only: a Kisi user and the groups, no link", mapping.DropIn{AddToGroup: true}, []string{},
			[]string{`guest gus@example.org "Gus"/104 03-02 13:55–03-02 15:05 booking:g1`}},
		{"link and AddToGroup", mapping.DropIn{Link: true, AddToGroup: true},
			[]string{`g1/104 gus@example.org "Gus" 03-02 13:55–03-02 15:05 link=true qr=false`},
			[]string{`guest gus@example.org "Gus"/104 03-02 13:55–03-02 15:05 booking:g1`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := m.Clone()
			m.DropIn = tc.dropIn
			links, err := access.Links(s, m, p, hm(13, 0))
			require.NoError(t, err)
			if diff := cmp.Diff(tc.wantLinks, showLinks(links)); diff != "" {
				t.Errorf("Links (-want +got):\n%s", diff)
			}
			grants, err := access.Desired(s, m, p, hm(13, 50))
			require.NoError(t, err)
			if diff := cmp.Diff(tc.wantGrants, show(grants)); diff != "" {
				t.Errorf("Desired (-want +got):\n%s", diff)
			}
			if len(grants) > 0 {
				require.Empty(t, grants[0].MemberID, "a guest's grant has no member")
			}
		})
	}
}

func TestLinkJSON(t *testing.T) {
	t.Parallel()
	l := access.Link{BookingID: "b1", GroupID: 7, Name: "Gus", Email: "gus@example.org",
		Window: schedule.Interval{Start: hm(13, 55), End: hm(15, 5)}, SendLink: true}
	data, err := json.Marshal(l)
	require.NoError(t, err)
	want := `{"booking_id":"b1","group_id":7,"name":"Gus","email":"gus@example.org","window":{"start":"2026-03-02T13:55:00Z","end":"2026-03-02T15:05:00Z"},"send_link":true,"qr":false}`
	if diff := cmp.Diff(want, string(data)); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
	g := access.Grant{MemberID: "m1", Email: "ann@example.com", GroupID: 7, Window: schedule.Interval{Start: hm(9, 0), End: schedule.Forever},
		Sources: []access.Source{{Kind: "plan", ID: "p1"}}}
	data, err = json.Marshal(g)
	require.NoError(t, err)
	want = `{"member_id":"m1","email":"ann@example.com","group_id":7,"window":{"start":"2026-03-02T09:00:00Z","end":null},"sources":[{"kind":"plan","id":"p1"}]}`
	if diff := cmp.Diff(want, string(data)); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
}

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{" Ann@Example.COM\t", "ann@example.com", true},
		{"a.b+tag@sub.example.co.uk", "a.b+tag@sub.example.co.uk", true},
		{"", "", false},
		{"   ", "", false},
		{"ann", "", false},
		{"@example.com", "", false},
		{"ann@", "", false},
		{"ann@example", "", false},
		{"ann@@example.com", "", false},
		{"ann@exa mple.com", "", false},
		{"Ann <ann@example.com>", "", false},
		{"ann@.example.com", "", false},
		{"ann@example.com.", "", false},
		{"ann@example..com", "", false},
		{"a,b@example.com", "", false},
		{"ann\x00@example.com", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := access.NormalizeEmail(tc.in)
			if !tc.ok {
				require.ErrorIs(t, err, access.ErrInvalidEmail)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"ann@example.com", " A@B.C ", "", "x@y", "a@b@c.d", "é@exämple.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := access.NormalizeEmail(s)
		if err != nil {
			return
		}
		again, err := access.NormalizeEmail(got)
		if err != nil || again != got {
			t.Fatalf("NormalizeEmail not idempotent: %q → %q → %q, %v", s, got, again, err)
		}
	})
}
