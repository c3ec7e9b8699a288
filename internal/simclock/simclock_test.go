package simclock_test

import (
	"testing"
	"time"

	"github.com/kisisync/kisisync/internal/simclock"
)

func TestWaitsMoveTheClock(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	c := simclock.New(t0)
	c.Sleep(time.Second)
	<-c.After(2 * time.Second)
	<-c.NewTimer(3 * time.Second).Chan()
	c.Sleep(-time.Hour) // a negative wait does not go back
	if got, want := c.Now(), t0.Add(6*time.Second); !got.Equal(want) {
		t.Fatalf("after the waits: %v, want %v", got, want)
	}
	c.AdvanceTo(t0) // the past changes nothing
	c.AdvanceTo(t0.Add(time.Minute))
	if got, want := c.Now(), t0.Add(time.Minute); !got.Equal(want) {
		t.Fatalf("AdvanceTo: %v, want %v", got, want)
	}
}
