package store

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
)

// BenchmarkDirPutFsync puts a 48 MB object into a Dir (write, fsync,
// rename), with and without the early writeback: the fsync that makes the
// Put durable waits for what the kernel has not yet written.
//
//	go test -run '^$' -bench DirPutFsync -benchtime 10x ./shared/platform/store/
func BenchmarkDirPutFsync(b *testing.B) {
	data := make([]byte, 48<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for _, c := range []struct {
		name  string
		every int64
	}{{"writeback", writebackEvery}, {"plain", 0}} {
		b.Run(c.name, func(b *testing.B) {
			defer func(old int64) { writebackEvery = old }(writebackEvery)
			writebackEvery = c.every
			d, err := NewDir(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			if err := d.EnsureBucket(context.Background(), "data"); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := d.Put(context.Background(), "data", "big.bin", bytes.NewReader(data), -1, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
