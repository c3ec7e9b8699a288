package schedule_test

import (
	"fmt"
	"time"

	"github.com/kisisync/kisisync/schedule"
)

func ExampleSet() {
	day := func(h, m int) time.Time { return time.Date(2026, time.May, 4, h, m, 0, 0, time.UTC) }
	booked := schedule.NewSet(
		schedule.Interval{Start: day(9, 0), End: day(10, 0)},
		schedule.Interval{Start: day(10, 0), End: day(11, 0)}, // touches the first: joined
		schedule.Interval{Start: day(14, 0), End: day(15, 0)},
	)
	fmt.Println(booked)
	fmt.Println(booked.Contains(day(10, 30)), booked.Contains(day(12, 0)))

	lunch := schedule.NewSet(schedule.Interval{Start: day(10, 30), End: day(14, 30)})
	fmt.Println(booked.Subtract(lunch))
	fmt.Println(booked.Intersect(lunch))

	next, _ := booked.NextEdge(day(12, 0))
	fmt.Println(next.Format(time.Kitchen))
	// Output:
	// {[2026-05-04T09:00:00Z, 2026-05-04T11:00:00Z), [2026-05-04T14:00:00Z, 2026-05-04T15:00:00Z)}
	// true false
	// {[2026-05-04T09:00:00Z, 2026-05-04T10:30:00Z), [2026-05-04T14:30:00Z, 2026-05-04T15:00:00Z)}
	// {[2026-05-04T10:30:00Z, 2026-05-04T11:00:00Z), [2026-05-04T14:00:00Z, 2026-05-04T14:30:00Z)}
	// 2:00PM
}

func ExampleExpand() {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		fmt.Println(err)
		return
	}
	rules := []schedule.Rule{
		{Days: []time.Weekday{time.Saturday}, From: schedule.Clock{Hour: 9}, To: schedule.Clock{Hour: 12}},
		// Ends on Sunday; the clocks go forward that night, so it lasts six hours.
		{Days: []time.Weekday{time.Saturday}, From: schedule.Clock{Hour: 22}, To: schedule.Clock{Hour: 5}},
	}
	window := schedule.Interval{
		Start: time.Date(2026, time.March, 28, 0, 0, 0, 0, berlin),
		End:   time.Date(2026, time.March, 30, 0, 0, 0, 0, berlin),
	}
	occurrences, err := schedule.Expand(rules, berlin, window)
	if err != nil {
		fmt.Println(err)
		return
	}
	for iv := range occurrences.All() {
		fmt.Println(iv, iv.Duration())
	}
	// Output:
	// [2026-03-28T09:00:00+01:00, 2026-03-28T12:00:00+01:00) 3h0m0s
	// [2026-03-28T22:00:00+01:00, 2026-03-29T05:00:00+02:00) 6h0m0s
}

func ExampleWallTime() {
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		fmt.Println(err)
		return
	}
	// 02:30 does not exist on 2026-03-08: the clocks jump from 02:00 to 03:00.
	fmt.Println(schedule.WallTime(newYork, 2026, time.March, 8, 2, 30))
	// 01:30 happens twice on 2026-11-01: the first one counts.
	fmt.Println(schedule.WallTime(newYork, 2026, time.November, 1, 1, 30))
	// Output:
	// 2026-03-08 03:00:00 -0400 EDT
	// 2026-11-01 01:30:00 -0400 EDT
}

func ExampleBuffer_Widen() {
	booking := schedule.Interval{
		Start: time.Date(2026, time.May, 4, 14, 0, 0, 0, time.UTC),
		End:   time.Date(2026, time.May, 4, 15, 0, 0, 0, time.UTC),
	}
	access, err := schedule.DefaultBuffer.Widen(booking)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(access)
	_, err = schedule.Buffer{Before: -time.Minute}.Widen(booking)
	fmt.Println(err)
	// Output:
	// [2026-05-04T13:55:00Z, 2026-05-04T15:05:00Z)
	// schedule: buffer before -1m0s is negative
}
