package pipeline

import (
	"hash/maphash"
	"math"

	"github.com/arrestcast/arrestcast/shared/data/table"
)

// distinctRows returns the indices of the first occurrence of every distinct
// row of t (pandas' drop_duplicates(keep="first")), in order.
func distinctRows(t *table.Table) []int {
	cols := t.Columns()
	seed := maphash.MakeSeed()
	var h maphash.Hash
	var b [8]byte
	put := func(u uint64) {
		for k := range b {
			b[k] = byte(u >> (8 * k))
		}
		h.Write(b[:])
	}
	return distinct(t, func(i int) uint64 {
		h.SetSeed(seed)
		for _, c := range cols {
			switch c.Kind {
			case table.Numeric:
				v := c.Nums[i]
				if math.IsNaN(v) {
					put(0x7ff8000000000001) // all NaNs are one missing value
				} else {
					put(math.Float64bits(v + 0)) // -0 == +0
				}
			case table.Categorical:
				// Equal strings have equal codes within one column.
				put(uint64(uint32(c.Codes[i])))
			case table.Bool:
				put(uint64(uint8(c.Bools[i])))
			case table.Time:
				put(uint64(c.Times[i]))
			case table.Text:
				h.WriteString(c.Strs[i])
				h.WriteByte(0)
			}
		}
		return h.Sum64()
	})
}

// distinct is distinctRows for a given row hash (equal rows must hash
// equal; tests make every row collide).
func distinct(t *table.Table, hash func(i int) uint64) []int {
	cols := t.Columns()
	n := t.Len()
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
		if sameRow(cols, i, int(j)) {
			continue
		}
		dup := false
		for _, k := range others[sum] {
			if sameRow(cols, i, int(k)) {
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

func sameRow(cols []*table.Column, i, j int) bool {
	for _, c := range cols {
		switch c.Kind {
		case table.Numeric:
			a, b := c.Nums[i], c.Nums[j]
			if a != b && !(math.IsNaN(a) && math.IsNaN(b)) {
				return false
			}
		case table.Categorical:
			if c.Codes[i] != c.Codes[j] {
				return false
			}
		case table.Bool:
			if c.Bools[i] != c.Bools[j] {
				return false
			}
		case table.Time:
			if c.Times[i] != c.Times[j] {
				return false
			}
		case table.Text:
			if c.Strs[i] != c.Strs[j] {
				return false
			}
		}
	}
	return true
}
