package attendance_test

import (
	"strconv"
	"testing"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/attendance"
	"github.com/kisisync/kisisync/kisi"
)

// BenchmarkAttendanceAdd measures turning one webhook event into a
// check-in, with the dedupe memory full.
func BenchmarkAttendanceAdd(b *testing.B) {
	a, err := attendance.New(attendance.Config{
		Members: []access.Member{{ID: "alice", Email: "alice@example.com"}},
		Places:  map[int64]string{100: "berlin"},
		Memory:  1000,
	})
	if err != nil {
		b.Fatal(err)
	}
	evs := make([]*kisi.Event, 4096)
	for i := range evs {
		evs[i] = unlockEvent("uuid-"+strconv.Itoa(i), 1, "alice@example.com", 5, 100, true)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := a.Add(evs[i%len(evs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
