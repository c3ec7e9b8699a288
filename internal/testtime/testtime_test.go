package testtime_test

import (
	"testing"
	"time"

	"github.com/kisisync/kisisync/internal/testtime"
)

func TestCEST(t *testing.T) {
	t.Parallel()
	got := testtime.CEST("13:40")
	if want := time.Date(2026, time.June, 10, 11, 40, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("CEST(13:40) = %v, want %v", got, want)
	}
	if name, _ := got.Zone(); name != "CEST" {
		t.Errorf("zone = %s, want CEST", name)
	}
}
