package gbt

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// partitionChunks puts exactly the records whose byte goes left before the returned boundary and keeps
// every record (no loss, no duplicate), for sizes around the block and chunk lengths and for lopsided,
// balanced and one-sided splits; the result does not depend on the thread count.
func TestPartitionChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const w, off = 3, recHeader + 2
	for _, n := range []int{0, 1, 2, 3, 255, 256, 257, 1000, 2*minPartChunk - 1, 2 * minPartChunk, 5*minPartChunk + 77} {
		for _, share := range []float64{0, 0.01, 0.5, 0.97, 1} {
			var lut [histWidth]uint8
			for b := range lut {
				if rng.Float64() < share {
					lut[b] = 1
				}
			}
			words := make([]uint64, (n+10)*w)
			bytes := byteView(words)
			for i := 0; i < n+10; i++ {
				words[i*w] = uint64(i) // identity of the record
				bytes[i*w*8+off] = uint8(rng.IntN(histWidth))
			}
			var ref []uint64
			for _, threads := range []int{1, 2, 3} {
				ws := slices.Clone(words)
				bs := byteView(ws)
				lo, hi := 5, 5+n
				mid := partitionChunks[[3]uint64](ws, bs, &lut, off, lo, hi, threads)
				seen := make([]bool, n+10)
				for i := 0; i < n+10; i++ {
					id := ws[i*w]
					if seen[id] {
						t.Fatalf("n=%d share=%v: record %d twice", n, share, id)
					}
					seen[id] = true
					if (i < lo || i >= hi) && id != uint64(i) {
						t.Fatalf("n=%d: record %d outside the range moved", n, i)
					}
					if i >= lo && i < hi && (lut[bs[i*w*8+off]] == 1) != (i < mid) {
						t.Fatalf("n=%d share=%v threads=%d: record at %d on the wrong side of %d", n, share, threads, i, mid)
					}
					if bs[i*w*8+off] != bytes[id*w*8+off] {
						t.Fatalf("n=%d: record %d torn", n, id)
					}
				}
				if ref == nil {
					ref = ws
				} else if !slices.Equal(ref, ws) {
					t.Fatalf("n=%d share=%v: threads=%d gives another order", n, share, threads)
				}
			}
		}
	}
}
