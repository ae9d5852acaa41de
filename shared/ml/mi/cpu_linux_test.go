package mi

import (
	"syscall"
	"time"
)

// processCPU is the user+system CPU time of the test process: on a shared
// machine the benchmarks report it next to wall time (cpu-s/op).
func processCPU() (time.Duration, bool) {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		return 0, false
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano()), true
}
