package gbt

import "sync/atomic"

// chunkCount cuts n items into chunks of at least minChunk items, at most maxChunks of them. It depends on
// the data size only, never on the thread count, so that per-chunk partial sums merged in chunk order give
// the same bits whatever the parallelism.
func chunkCount(n, minChunk, maxChunks int) int {
	c := n / minChunk
	if c < 1 {
		c = 1
	}
	if c > maxChunks {
		c = maxChunks
	}
	return c
}

// parallelChunks runs fn over [0,n) cut into chunks of about chunk items, on up to threads goroutines.
// fn receives the chunk number and its half-open range.
func parallelChunks(n, chunk, threads int, fn func(c, lo, hi int)) {
	if n <= 0 {
		return
	}
	nc := (n + chunk - 1) / chunk
	runChunks(nc, threads, func(c int) {
		lo := c * chunk
		hi := min(lo+chunk, n)
		fn(c, lo, hi)
	})
}

// runChunks calls fn(0..nc-1), spread over up to threads goroutines (the caller's included). It returns
// when every chunk is done, without waiting for helpers that never got one: on a busy machine a helper
// may start long after the caller has done all the work alone, and waiting for it to exit cost more
// than the chunks.
func runChunks(nc, threads int, fn func(c int)) {
	if threads > nc {
		threads = nc
	}
	if threads <= 1 {
		for c := 0; c < nc; c++ {
			fn(c)
		}
		return
	}
	var next, done atomic.Int64
	fin := make(chan struct{})
	work := func() {
		for {
			c := int(next.Add(1) - 1)
			if c >= nc {
				return
			}
			fn(c)
			if done.Add(1) == int64(nc) {
				close(fin)
			}
		}
	}
	for t := 1; t < threads; t++ {
		go work()
	}
	work()
	<-fin
}
