// Package procstat reads this process's memory figures from Linux's /proc,
// for the benchmarks' per-step peaks.
package procstat

import (
	"os"
	"strconv"
	"strings"
)

// ResetPeak resets the kernel's high-water mark of this process's resident
// memory (write 5 to clear_refs), so the next PeakMB is the peak from now on.
// It does nothing where /proc does not allow it.
func ResetPeak() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// PeakMB is VmHWM, the peak resident memory in MiB since the process
// started or since ResetPeak; 0 when /proc is not there.
func PeakMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
