package hugeheap

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

const madvHugepage = 14 // MADV_HUGEPAGE

var sink []byte

func advise(size int) bool {
	sink = make([]byte, size) // fresh from the system: never zeroed, never touched
	addr := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(sink))))
	sink = nil
	runtime.GC()
	lo, hi, found := mapping(addr)
	if !found {
		return false
	}
	_, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(lo), uintptr(hi-lo), madvHugepage)
	return errno == 0
}

// mapping finds the writable mapping of this process holding addr.
func mapping(addr uint64) (lo, hi uint64, found bool) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || !strings.HasPrefix(fields[1], "rw") {
			continue
		}
		a, b, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		l, err1 := strconv.ParseUint(a, 16, 64)
		h, err2 := strconv.ParseUint(b, 16, 64)
		if err1 == nil && err2 == nil && addr >= l && addr < h {
			return l, h, true
		}
	}
	return 0, 0, false
}
