package table

import (
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Kind is the type of a column.
type Kind uint8

// The column kinds.
const (
	Numeric Kind = iota + 1
	Categorical
	Bool
	Time
	Text
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case Numeric:
		return "numeric"
	case Categorical:
		return "categorical"
	case Bool:
		return "bool"
	case Time:
		return "time"
	case Text:
		return "text"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Missing is the missing value of a Categorical code and of a Bool.
const Missing = -1

// NoTime is the missing value of a Time column.
const NoTime int64 = math.MinInt64

// Column is one named, typed column. Exactly one of the data slices is used,
// the one that matches Kind.
type Column struct {
	Name string
	Kind Kind

	Nums  []float64 // Numeric: NaN is missing
	Codes []int32   // Categorical: index into Dict, Missing is missing
	Dict  []string  // Categorical: the dictionary (shared, append-only)
	Bools []int8    // Bool: 0, 1, Missing
	Times []int64   // Time: wall-clock seconds, NoTime is missing
	Strs  []string  // Text: "" is missing
}

// NewNumeric returns a numeric column over v (not copied).
func NewNumeric(name string, v []float64) *Column {
	return &Column{Name: name, Kind: Numeric, Nums: v}
}

// NewCategorical returns a categorical column over codes and dict (not copied).
func NewCategorical(name string, codes []int32, dict []string) *Column {
	return &Column{Name: name, Kind: Categorical, Codes: codes, Dict: dict}
}

// NewBool returns a bool column over v (not copied).
func NewBool(name string, v []int8) *Column {
	return &Column{Name: name, Kind: Bool, Bools: v}
}

// NewTime returns a time column over v (not copied).
func NewTime(name string, v []int64) *Column {
	return &Column{Name: name, Kind: Time, Times: v}
}

// NewText returns a text column over v (not copied).
func NewText(name string, v []string) *Column {
	return &Column{Name: name, Kind: Text, Strs: v}
}

// Len returns the number of rows.
func (c *Column) Len() int {
	switch c.Kind {
	case Numeric:
		return len(c.Nums)
	case Categorical:
		return len(c.Codes)
	case Bool:
		return len(c.Bools)
	case Time:
		return len(c.Times)
	case Text:
		return len(c.Strs)
	}
	return 0
}

// IsMissing reports whether row i is missing.
func (c *Column) IsMissing(i int) bool {
	switch c.Kind {
	case Numeric:
		return math.IsNaN(c.Nums[i])
	case Categorical:
		return c.Codes[i] < 0
	case Bool:
		return c.Bools[i] < 0
	case Time:
		return c.Times[i] == NoTime
	case Text:
		return c.Strs[i] == ""
	}
	return true
}

// Str returns the string of a categorical or text row, "" when missing.
func (c *Column) Str(i int) string {
	if c.Kind == Text {
		return c.Strs[i]
	}
	if k := c.Codes[i]; k >= 0 {
		return c.Dict[k]
	}
	return ""
}

// check verifies the column is well formed (codes inside the dictionary, ...).
func (c *Column) check() error {
	switch c.Kind {
	case Numeric, Bool, Time, Text:
	case Categorical:
		n := int32(len(c.Dict))
		for i, k := range c.Codes {
			if k < Missing || k >= n {
				return fmt.Errorf("column %q row %d: code %d outside dictionary of %d", c.Name, i, k, n)
			}
		}
	default:
		return fmt.Errorf("column %q: unknown kind %d", c.Name, c.Kind)
	}
	return nil
}

// gather returns a new column holding rows[i] of c for each i.
func (c *Column) gather(rows []int) *Column {
	out := &Column{Name: c.Name, Kind: c.Kind, Dict: c.Dict}
	switch c.Kind {
	case Numeric:
		out.Nums = gatherSlice(c.Nums, rows)
	case Categorical:
		out.Codes = gatherSlice(c.Codes, rows)
	case Bool:
		out.Bools = gatherSlice(c.Bools, rows)
	case Time:
		out.Times = gatherSlice(c.Times, rows)
	case Text:
		out.Strs = gatherSlice(c.Strs, rows)
	}
	return out
}

func gatherSlice[T any](src []T, rows []int) []T {
	return gatherInto(make([]T, len(rows)), src, rows)
}

// gatherInto sets dst[i] to src[rows[i]] and returns dst (len(rows) long).
func gatherInto[T any](dst, src []T, rows []int) []T {
	for i, r := range rows {
		dst[i] = src[r]
	}
	return dst
}

// clone returns a copy of c sharing only the dictionary.
func (c *Column) clone() *Column {
	return &Column{Name: c.Name, Kind: c.Kind, Dict: c.Dict, Nums: slices.Clone(c.Nums), Codes: slices.Clone(c.Codes),
		Bools: slices.Clone(c.Bools), Times: slices.Clone(c.Times), Strs: slices.Clone(c.Strs)}
}

// slice returns c's rows [lo, hi), sharing c's data; the capacity is cut so
// an append to one never writes into the other.
func (c *Column) slice(lo, hi int) *Column {
	out := &Column{Name: c.Name, Kind: c.Kind, Dict: c.Dict}
	switch c.Kind {
	case Numeric:
		out.Nums = c.Nums[lo:hi:hi]
	case Categorical:
		out.Codes = c.Codes[lo:hi:hi]
	case Bool:
		out.Bools = c.Bools[lo:hi:hi]
	case Time:
		out.Times = c.Times[lo:hi:hi]
	case Text:
		out.Strs = c.Strs[lo:hi:hi]
	}
	return out
}

// compact keeps rows (strictly increasing) of c, moved down in place.
func (c *Column) compact(rows []int) {
	switch c.Kind {
	case Numeric:
		c.Nums = compactSlice(c.Nums, rows)
	case Categorical:
		c.Codes = compactSlice(c.Codes, rows)
	case Bool:
		c.Bools = compactSlice(c.Bools, rows)
	case Time:
		c.Times = compactSlice(c.Times, rows)
	case Text:
		c.Strs = compactSlice(c.Strs, rows)
		clear(c.Strs[len(rows):cap(c.Strs)]) // let dropped strings go
	}
}

// compactSlice moves s[rows[k]] to s[k]: k <= rows[k] when rows increase,
// so no value is overwritten before it is moved.
func compactSlice[T any](s []T, rows []int) []T {
	for k, r := range rows {
		s[k] = s[r]
	}
	return s[:len(rows)]
}

// scratch holds Reorder's scratch columns, one per kind, reused.
type scratch struct {
	nums  []float64
	codes []int32
	bools []int8
	times []int64
	strs  []string
}

// reorder makes c's rows the given ones, in that order (see Reorder).
func (c *Column) reorder(rows []int, sc *scratch) {
	switch c.Kind {
	case Numeric:
		c.Nums = reorderSlice(c.Nums, rows, &sc.nums)
	case Categorical:
		c.Codes = reorderSlice(c.Codes, rows, &sc.codes)
	case Bool:
		c.Bools = reorderSlice(c.Bools, rows, &sc.bools)
	case Time:
		c.Times = reorderSlice(c.Times, rows, &sc.times)
	case Text:
		c.Strs = reorderSlice(c.Strs, rows, &sc.strs)
		clear(c.Strs[len(rows):cap(c.Strs)]) // let dropped strings go
		clear(sc.strs)
	}
}

// reorderSlice copies s[rows[k]] to buf[k], then buf over s's start.
func reorderSlice[T any](s []T, rows []int, buf *[]T) []T {
	if cap(*buf) < len(rows) {
		*buf = make([]T, len(rows))
	}
	copy(s, gatherInto((*buf)[:len(rows)], s, rows))
	return s[:len(rows)]
}
