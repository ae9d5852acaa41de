// Package procstat reads memory figures from Linux's /proc: this process's,
// for the benchmarks' per-step peaks, or a child's (a built function).
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
func PeakMB() float64 { return peakMB("/proc/self/status") }

// PeakMBOf is VmHWM of process pid (a child this process started); 0 when
// /proc is not there or the process is gone.
func PeakMBOf(pid int) float64 { return peakMB("/proc/" + strconv.Itoa(pid) + "/status") }

func peakMB(status string) float64 {
	b, err := os.ReadFile(status)
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
