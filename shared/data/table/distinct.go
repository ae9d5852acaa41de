package table

import (
	"hash/maphash"
	"math"
)

// DistinctRows returns the indices of the first occurrence of every distinct
// row of t (pandas' drop_duplicates(keep="first")), in order. NaN equals NaN
// and -0 equals +0, as in Equal.
func (t *Table) DistinctRows() []int {
	cols := t.cols
	seed := maphash.MakeSeed()
	var h maphash.Hash
	var b [8]byte
	put := func(u uint64) {
		for k := range b {
			b[k] = byte(u >> (8 * k))
		}
		h.Write(b[:])
	}
	return t.distinct(func(i int) uint64 {
		h.SetSeed(seed)
		for _, c := range cols {
			switch c.Kind {
			case Numeric:
				v := c.Nums[i]
				if math.IsNaN(v) {
					put(0x7ff8000000000001) // all NaNs are one missing value
				} else {
					put(math.Float64bits(v + 0)) // -0 == +0
				}
			case Categorical:
				// Equal strings have equal codes within one column.
				put(uint64(uint32(c.Codes[i])))
			case Bool:
				put(uint64(uint8(c.Bools[i])))
			case Time:
				put(uint64(c.Times[i]))
			case Text:
				h.WriteString(c.Strs[i])
				h.WriteByte(0)
			}
		}
		return h.Sum64()
	})
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
