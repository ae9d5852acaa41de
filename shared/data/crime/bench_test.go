package crime

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/repo"
)

var crimesFile = repo.Path(repo.Crimes2017)

var (
	realOnce sync.Once
	realData []byte
	realErr  error
)

// realCSV returns the decompressed 2017 export (read once per test binary).
func realCSV(tb testing.TB) []byte {
	tb.Helper()
	realOnce.Do(func() {
		f, err := os.Open(crimesFile)
		if err != nil {
			realErr = err
			return
		}
		defer f.Close()
		z, err := gzip.NewReader(f)
		if err != nil {
			realErr = err
			return
		}
		realData, realErr = io.ReadAll(z)
	})
	if os.IsNotExist(realErr) {
		tb.Skipf("real data %s absent", crimesFile)
	}
	if realErr != nil {
		tb.Fatal(realErr)
	}
	return realData
}

// BenchmarkReadPortalCSV parses the 2017 export from memory (no gzip). MB/s
// is wall-clock; cpu-MB/s divides by the process CPU time (all threads, GC
// included), the per-core rate when the machine is shared.
func BenchmarkReadPortalCSV(b *testing.B) {
	data := realCSV(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		res, err := ReadPortalCSV(context.Background(), bytes.NewReader(data))
		if err != nil || len(res.Rejects) != 0 || res.Table.Len() != 267792 {
			b.Fatal(err, res)
		}
	}
	reportCPURate(b, len(data), cpu0)
}

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPURate(b *testing.B, n int, cpu0 time.Duration) {
	if d := cpuTime() - cpu0; d > 0 {
		b.ReportMetric(float64(n)*float64(b.N)/1e6/d.Seconds(), "cpu-MB/s")
	}
}

// BenchmarkLoadMemory reports the live heap of the loaded 2017 year
// (heap-bytes) and the bytes allocated while loading it (alloc-bytes).
func BenchmarkLoadMemory(b *testing.B) {
	data := realCSV(b)
	var before, after runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		res, err := ReadPortalCSV(context.Background(), bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc)-float64(before.HeapAlloc), "heap-bytes")
		b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc), "alloc-bytes")
		runtime.KeepAlive(res)
	}
}

// gzipFile opens the compressed real file as a stream.
func gzipFile(tb testing.TB) io.Reader {
	tb.Helper()
	f, err := os.Open(crimesFile)
	if os.IsNotExist(err) {
		tb.Skipf("real data %s absent", crimesFile)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	z, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	return z
}
