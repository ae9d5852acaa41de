// Package hugeheap asks Linux to back the Go heap with transparent huge pages
// where the kernel gives them only on request (THP in "madvise" mode, the
// default of many distributions and of this project's benchmark machine).
//
// Why: a pipeline step is a short burst in a process whose heap was returned
// to the system long ago, so nearly every page it touches is new, and each
// new 4 KiB page is a fault. On the 2-core VM the limits are measured on, a
// faulted megabyte costs ~3.5 ms, so a step that peaks at 100 MB spent a
// third of its time in faults; 2 MiB pages cut that by more than half
// (download→features through MinIO: 7.0 s → 4.8 s, peak memory unchanged;
// BenchmarkStepsMinIO with ARRESTCAST_HUGEPAGES=off gives the other figure).
//
// How: Go has no switch for it, and its heap mappings are made as the heap
// grows, so Enable grows the heap's address space once (an untouched
// allocation: no memory is used), frees it, and advises the mapping that held
// it. Go's page allocator hands out the lowest free addresses first, so the
// step's allocations land there.
package hugeheap

import (
	"os"
	"sync"
)

// Reserve is how much heap address space Enable advises: the 1 GiB a step
// may use under faasd's limits.
const Reserve = 1 << 30

var (
	once sync.Once
	ok   bool
)

// Enable advises the heap once per process and reports whether the kernel
// took the advice. ARRESTCAST_HUGEPAGES=off turns it into a no-op.
func Enable() bool {
	once.Do(func() {
		if os.Getenv("ARRESTCAST_HUGEPAGES") == "off" {
			return
		}
		ok = advise(Reserve)
	})
	return ok
}
