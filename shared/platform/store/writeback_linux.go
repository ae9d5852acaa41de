package store

import (
	"os"

	"golang.org/x/sys/unix"
)

// writeback is f as a writer that asks the kernel to start writing each
// writebackEvery bytes to disk as soon as they are written (without
// waiting for it), so that the fsync which makes a Put durable finds
// little left to flush: on this VM's disks the fsync of a 50 MB table
// written in one go was most of a step's blocked time.
type writeback struct {
	f       *os.File
	flushed int64 // bytes handed to writeback
	written int64
}

// writebackEvery is how many bytes go to the disk at a time; 0 turns the
// early writeback off (BenchmarkDirPutFsync compares).
var writebackEvery int64 = 4 << 20

func newWriteback(f *os.File) *writeback { return &writeback{f: f} }

func (w *writeback) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.written += int64(n)
	if writebackEvery > 0 && w.written-w.flushed >= writebackEvery {
		from, length := w.flushed, w.written-w.flushed
		if rc, cerr := w.f.SyscallConn(); cerr == nil {
			rc.Control(func(fd uintptr) {
				// Advice only: an error here leaves the flush to fsync.
				_ = unix.SyncFileRange(int(fd), from, length, unix.SYNC_FILE_RANGE_WRITE)
			})
		}
		w.flushed = w.written
	}
	return n, err
}
