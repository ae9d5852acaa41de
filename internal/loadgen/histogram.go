package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// Histogram counts latencies in log-linear buckets, as HDR histograms do:
// values below 2·subCount nanoseconds are exact, larger ones fall in one of
// subCount buckets per power of two, so a reported percentile is within
// 1/subCount (0.8 %) of the true value. Its size is fixed whatever the count,
// so a long run costs no more memory than a short one.
type Histogram struct {
	counts [numBuckets]uint64
	total  uint64
	min    int64
	max    int64
	sum    float64 // nanoseconds; float so long runs cannot overflow
}

const (
	subBits  = 7
	subCount = 1 << subBits // buckets per power of two
	// maxExp bounds the values kept apart: 2^(maxExp+subBits+1) ns is about
	// 2.4 hours; anything longer lands in the last bucket (max stays exact).
	maxExp     = 35
	numBuckets = 2*subCount + maxExp*subCount
)

// bucketOf is the index of the bucket holding v nanoseconds.
func bucketOf(v int64) int {
	if v < 0 {
		v = 0
	}
	u := uint64(v)
	if u < 2*subCount {
		return int(u)
	}
	e := bits.Len64(u) - (subBits + 1) // ≥ 1
	if e > maxExp {
		return numBuckets - 1
	}
	m := int(u >> uint(e)) // in [subCount, 2·subCount)
	return 2*subCount + (e-1)*subCount + (m - subCount)
}

// bucketBounds are the lowest and highest values that bucket i holds.
func bucketBounds(i int) (lo, hi int64) {
	if i < 2*subCount {
		return int64(i), int64(i)
	}
	e := (i-2*subCount)/subCount + 1
	m := int64((i-2*subCount)%subCount + subCount)
	return m << uint(e), (m+1)<<uint(e) - 1
}

// Record adds one latency.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	if h.total == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.counts[bucketOf(v)]++
	h.total++
	h.sum += float64(v)
}

// Merge adds o's counts into h.
func (h *Histogram) Merge(o *Histogram) {
	if o.total == 0 {
		return
	}
	if h.total == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.sum += o.sum
}

// Count is the number of values recorded.
func (h *Histogram) Count() uint64 { return h.total }

// Max is the largest value recorded (exact).
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Min is the smallest value recorded (exact).
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Mean is the exact mean.
func (h *Histogram) Mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.total))
}

// Quantile returns the value at quantile q in [0, 1] by the nearest-rank
// rule (the smallest value with at least q of the values at or below it),
// given as the highest value of its bucket, clamped to the exact min and max.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	if q <= 0 {
		return time.Duration(h.min)
	}
	if q >= 1 {
		return time.Duration(h.max)
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			_, hi := bucketBounds(i)
			hi = min(hi, h.max)
			hi = max(hi, h.min)
			return time.Duration(hi)
		}
	}
	return time.Duration(h.max)
}
