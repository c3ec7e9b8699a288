package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
)

// bigSnapshot writes a snapshot of n members to a file: plans started on
// different days of the last three months, every third member on a team
// plan with two groups, every fifth booking the meeting room this morning.
func bigSnapshot(t *testing.T, n int, now time.Time) string {
	t.Helper()
	s := access.Snapshot{
		Locations: []access.Location{{ID: "loft", TimeZone: "Europe/Berlin"}},
		Resources: []access.Resource{{ID: "room-spree", LocationID: "loft"}},
	}
	for i := range n {
		id := fmt.Sprintf("m-%05d", i)
		s.Members = append(s.Members, access.Member{ID: id, Email: fmt.Sprintf("member%05d@example.com", i)})
		plan := "flex"
		if i%3 == 0 {
			plan = "team-office"
		}
		start := now.AddDate(0, 0, -(i*7)%90)
		s.Plans = append(s.Plans, access.Plan{ID: "p-" + id, PlanID: plan, MemberID: id, Start: start, Status: access.PlanActive})
		if i%5 == 0 {
			b := now.Add(time.Duration(i%12) * time.Minute)
			s.Bookings = append(s.Bookings, access.Booking{ID: "bk-" + id, ResourceID: "room-spree", MemberID: id,
				Start: b, End: b.Add(time.Hour), CreatedAt: now.Add(-time.Hour)})
		}
	}
	path := filepath.Join(t.TempDir(), "snapshot.json")
	writeFile(t, path, s)
	return path
}

var progressLine = regexp.MustCompile(`(?m)^applied (\d+)/(\d+) changes, (\d+) requests[^;\n]*(?:; about (\d+) more requests?, (.+?) at (\S+)/s)?$`)

// TestETA: applying 5,000 members against the fake, the time left shown at
// 10% of the changes is within 20% of the time the rest of the apply takes
// at the client's pace: the requests it predicts are within 20% of those
// the rest sends.
func TestETA(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("5,000 members")
	}
	now, err := time.Parse(time.RFC3339, at)
	require.NoError(t, err)
	snap := bigSnapshot(t, 5000, now)
	var stdout, stderr bytes.Buffer
	a := app{env: noEnv, stdout: &stdout, stderr: &stderr, clock: clockwork.NewFakeClockAt(now), fakePace: 1e6}
	code := a.main(t.Context(), []string{"apply", "--fake", "--at", at, "--snapshot", snap, "--mapping", td("mapping.json")})
	require.Equal(t, exitOK, code, stderr.String())

	var atTenth, final []string
	for _, m := range progressLine.FindAllStringSubmatch(stdout.String(), -1) {
		done, _ := strconv.Atoi(m[1])
		total, _ := strconv.Atoi(m[2])
		if atTenth == nil && done*10 >= total {
			atTenth = m
		}
		if done == total {
			final = m
		}
	}
	require.NotNil(t, atTenth, stdout.String())
	require.NotNil(t, final)
	sentAtTenth, _ := strconv.Atoi(atTenth[3])
	predicted, _ := strconv.Atoi(atTenth[4])
	sent, _ := strconv.Atoi(final[3])
	actual := sent - sentAtTenth
	t.Logf("at %s/%s changes: %d requests sent, %d predicted to come (%s at %s/s); %d came, %d in all",
		atTenth[1], atTenth[2], sentAtTenth, predicted, atTenth[5], atTenth[6], actual, sent)
	require.InEpsilon(t, actual, predicted, 0.2, "predicted %d more requests at 10%%, %d came", predicted, actual)
	pace, err := strconv.ParseFloat(atTenth[6], 64)
	require.NoError(t, err)
	// The time left is the predicted requests at the client's pace.
	require.Equal(t, eta(time.Duration(float64(predicted)/pace*float64(time.Second))), atTenth[5])
}
