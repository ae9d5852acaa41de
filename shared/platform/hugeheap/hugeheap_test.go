package hugeheap

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

var block []byte

// After Enable, a fresh heap allocation is backed by huge pages.
func TestHeapGetsHugePages(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("transparent huge pages are Linux's")
	}
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || strings.Contains(string(mode), "[never]") {
		t.Skipf("this kernel gives no transparent huge pages (%q, %v)", mode, err)
	}
	before := anonHugeKB(t)
	if !Enable() {
		t.Fatal("the kernel refused the advice")
	}
	if !Enable() {
		t.Fatal("a second call changed the answer")
	}
	block = make([]byte, 64<<20)
	for i := 0; i < len(block); i += 4096 {
		block[i] = 1
	}
	if after := anonHugeKB(t); after-before < 32<<10 {
		t.Fatalf("AnonHugePages %d kB → %d kB after touching 64 MiB", before, after)
	}
	block = nil
}

func anonHugeKB(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "AnonHugePages:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return n
		}
	}
	t.Fatal("no AnonHugePages in smaps_rollup")
	return 0
}
