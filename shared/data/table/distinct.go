package table

import (
	"hash/maphash"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
)

// DistinctRows returns the indices of the first occurrence of every distinct
// row of t (pandas' drop_duplicates(keep="first")), in order. NaN equals NaN
// and -0 equals +0, as in Equal.
func (t *Table) DistinctRows() []int {
	hashes := t.rowHashes()
	return t.distinct(func(i int) uint64 { return hashes[i] })
}

// rowHashes hashes every row, equal rows equally, one column at a time over
// a range of rows (a tight loop per column, where hashing row by row went
// through every column's slice for each row), on up to two goroutines. The
// seed is random per call, so no input can be made to collide on purpose;
// collisions cost time only (distinct compares the rows).
func (t *Table) rowHashes() []uint64 {
	n := t.rows
	seed, strSeed := rand.Uint64(), maphash.MakeSeed()
	h := make([]uint64, n)
	parts := min(2, runtime.GOMAXPROCS(0), max(1, n/50_000))
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := n*p/parts, n*(p+1)/parts
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				h[i] = seed
			}
			for _, c := range t.cols {
				switch c.Kind {
				case Numeric:
					for i, v := range c.Nums[lo:hi] {
						u := uint64(0x7ff8000000000001) // all NaNs are one missing value
						if !math.IsNaN(v) {
							u = math.Float64bits(v + 0) // -0 == +0
						}
						h[lo+i] = mix(h[lo+i], u)
					}
				case Categorical:
					// Equal strings have equal codes within one column.
					for i, k := range c.Codes[lo:hi] {
						h[lo+i] = mix(h[lo+i], uint64(uint32(k)))
					}
				case Bool:
					for i, b := range c.Bools[lo:hi] {
						h[lo+i] = mix(h[lo+i], uint64(uint8(b)))
					}
				case Time:
					for i, s := range c.Times[lo:hi] {
						h[lo+i] = mix(h[lo+i], uint64(s))
					}
				case Text:
					for i, s := range c.Strs[lo:hi] {
						h[lo+i] = mix(h[lo+i], maphash.String(strSeed, s))
					}
				}
			}
		})
	}
	wg.Wait()
	return h
}

// mix folds v into the running hash h (a multiply by 2^64/φ and a shift:
// the map hashes the result again).
func mix(h, v uint64) uint64 {
	h = (h ^ v) * 0x9e3779b97f4a7c15
	return h ^ h>>29
}

// distinct is DistinctRows for a given row hash (equal rows must hash
// equal; tests make every row collide).
func (t *Table) distinct(hash func(i int) uint64) []int {
	n := t.rows
	// One int32 per distinct hash; rows that share a hash without being
	// equal (rare) go to others. A slice per row cost 265k allocations.
	first := make(map[uint64]int32, n)
	var others map[uint64][]int32
	keep := make([]int, 0, n)
	for i := 0; i < n; i++ {
		sum := hash(i)
		j, seen := first[sum]
		if !seen {
			first[sum] = int32(i)
			keep = append(keep, i)
			continue
		}
		if t.sameRows(i, int(j)) {
			continue
		}
		dup := false
		for _, k := range others[sum] {
			if t.sameRows(i, int(k)) {
				dup = true
				break
			}
		}
		if !dup {
			if others == nil {
				others = map[uint64][]int32{}
			}
			others[sum] = append(others[sum], int32(i))
			keep = append(keep, i)
		}
	}
	return keep
}

// sameRows reports whether rows i and j of t hold equal values.
func (t *Table) sameRows(i, j int) bool {
	for _, c := range t.cols {
		if !c.sameAt(i, c, j) {
			return false
		}
	}
	return true
}

// sameAt reports whether value i of c equals value j of d, a column of the
// same kind: NaN equals NaN; categories compare as strings unless both
// share one dictionary (then codes suffice).
func (c *Column) sameAt(i int, d *Column, j int) bool {
	switch c.Kind {
	case Numeric:
		x, y := c.Nums[i], d.Nums[j]
		return x == y || math.IsNaN(x) && math.IsNaN(y)
	case Categorical:
		if c == d {
			return c.Codes[i] == d.Codes[j]
		}
		return (c.Codes[i] < 0) == (d.Codes[j] < 0) && c.Str(i) == d.Str(j)
	case Bool:
		return c.Bools[i] == d.Bools[j]
	case Time:
		return c.Times[i] == d.Times[j]
	case Text:
		return c.Strs[i] == d.Strs[j]
	}
	return false
}
