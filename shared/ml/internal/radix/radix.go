// Package radix sorts uint64 keys with a byte of payload each (a label) by
// an LSD radix sort on 8-bit digits, skipping the digits every key shares
// (for probabilities, the exponent's top bits): stable, deterministic, no
// allocation. metrics ranks scores with it, mi sorts its columns.
package radix

import "math"

// Sort sorts keys ascending, moving lab along, with tmpKeys and tmpLab (as
// long as keys) as scratch. The result is in keys and lab or in the scratch
// slices, whichever Sort returns first; the other pair is returned second.
func Sort(keys []uint64, lab []uint8, tmpKeys []uint64, tmpLab []uint8) (sk []uint64, sl []uint8, spareK []uint64, spareL []uint8) {
	n := len(keys)
	if n < 2 {
		return keys, lab, tmpKeys, tmpLab
	}
	var count [8][256]int
	for _, k := range keys {
		for b := range 8 {
			count[b][byte(k>>(8*b))]++
		}
	}
	src, dst := keys, tmpKeys[:n]
	ls, ld := lab, tmpLab[:n]
	for b := range 8 {
		c := &count[b]
		shift := 8 * b
		if c[byte(src[0]>>shift)] == n {
			continue // every key has this digit
		}
		sum := 0
		for i, v := range c {
			c[i], sum = sum, sum+v
		}
		for i, k := range src {
			d := byte(k >> shift)
			p := c[d]
			dst[p], ld[p] = k, ls[i]
			c[d] = p + 1
		}
		src, dst, ls, ld = dst, src, ld, ls
	}
	return src, ls, dst, ld
}

// SortInPlace is Sort with the result always in keys and lab.
func SortInPlace(keys []uint64, lab []uint8, tmpKeys []uint64, tmpLab []uint8) {
	sk, sl, _, _ := Sort(keys, lab, tmpKeys, tmpLab)
	if len(sk) > 0 && &sk[0] != &keys[0] {
		copy(keys, sk)
		copy(lab, sl)
	}
}

// Ascending maps v to a key whose unsigned order is v's order (-0 before
// +0; NaN sorts by its bits beyond +Inf or below -Inf).
func Ascending(v float64) uint64 {
	b := math.Float64bits(v)
	if b>>63 != 0 {
		return ^b
	}
	return b | 1<<63
}

// FromAscending inverts Ascending.
func FromAscending(k uint64) float64 {
	if k>>63 != 0 {
		return math.Float64frombits(k &^ (1 << 63))
	}
	return math.Float64frombits(^k)
}
