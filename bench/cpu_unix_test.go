//go:build unix

package bench_test

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user and system) the process has used, the collector's
// included, so that benchmarks can report it next to wall time on a shared machine.
func cpuTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
