package procstat

import (
	"os"
	"runtime"
	"testing"
)

var sink []byte

func TestPeakFollowsAllocation(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads Linux's /proc")
	}
	ResetPeak()
	before := PeakMB()
	if before <= 0 {
		t.Fatalf("peak %v MB", before)
	}
	sink = make([]byte, 64<<20)
	for i := 0; i < len(sink); i += 4096 {
		sink[i] = 1
	}
	if after := PeakMB(); after < before+60 {
		t.Fatalf("peak %v MB after touching 64 MiB (was %v)", after, before)
	}
	sink = nil
}

func TestPeakOfAProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads Linux's /proc")
	}
	if got, self := PeakMBOf(os.Getpid()), PeakMB(); got <= 0 || got < self/2 || got > self*2 {
		t.Fatalf("PeakMBOf(self) %v MB, PeakMB %v MB", got, self)
	}
	if got := PeakMBOf(1 << 30); got != 0 {
		t.Fatalf("no such process: %v MB", got)
	}
}
