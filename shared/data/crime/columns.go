package crime

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/arrestcast/arrestcast/shared/data/table"
)

// inferKind marks a column whose kind is decided at the end: numeric if every
// value parses as a number, else categorical.
const inferKind table.Kind = 0

// colBuilder accumulates one column. A row's value is first staged (parsed,
// may fail) and only committed once the whole row parsed, so a rejected row
// leaves no trace.
type colBuilder struct {
	name  string
	kind  table.Kind
	nums  []float64
	times []int64
	bools []int8
	cat   *table.CatBuilder
	// catCap is the capacity asked of cat so far (it grows by doubling).
	catCap int

	// Text: the strings, backed by append-only chunks.
	strs  []string
	chunk []byte

	// inferKind: raw text of every value, and the numbers while all parse.
	raw     []byte
	ends    []int
	numeric bool

	// The staged value; has is false for missing.
	has  bool
	num  float64
	tm   int64
	bl   int8
	text []byte
}

func newColBuilder(name string, kind table.Kind) *colBuilder {
	c := &colBuilder{name: name, kind: kind, numeric: true}
	if kind == table.Categorical || kind == inferKind {
		c.cat = table.NewCatBuilder(Vocab[name]...)
	}
	return c
}

// stage parses v (empty is missing). The error says what and where.
func (c *colBuilder) stage(v []byte) error {
	if len(v) == 0 {
		c.has = false
		return nil
	}
	var err error
	switch c.kind {
	case table.Numeric:
		c.num, err = parseNumber(v)
		if err == nil && math.IsNaN(c.num) {
			c.has = false
			return nil
		}
	case table.Time:
		c.tm, err = ParseDate(v)
	case table.Bool:
		c.bl, err = parseBool(v)
	default:
		c.text = v
	}
	if err != nil {
		c.has = false
		return fmt.Errorf("%w in column %q: %q", err, c.name, v)
	}
	c.has = true
	return nil
}

// stageBool stages a JSON boolean.
func (c *colBuilder) stageBool(v bool) error {
	if c.kind != table.Bool {
		return fmt.Errorf("bad value in column %q: JSON boolean for a %s column", c.name, c.kind)
	}
	c.has, c.bl = true, 0
	if v {
		c.bl = 1
	}
	return nil
}

// commit appends the staged value and clears it.
func (c *colBuilder) commit() {
	switch c.kind {
	case table.Numeric:
		if !c.has {
			c.num = math.NaN()
		}
		c.nums = push(c.nums, c.num)
	case table.Time:
		if !c.has {
			c.tm = table.NoTime
		}
		c.times = push(c.times, c.tm)
	case table.Bool:
		if !c.has {
			c.bl = table.Missing
		}
		c.bools = push(c.bools, c.bl)
	case table.Categorical:
		if c.cat.Len() == c.catCap {
			c.catCap = max(2*c.catCap, 1024)
			c.cat.Grow(c.catCap - c.cat.Len())
		}
		if c.has {
			c.cat.AddBytes(c.text)
		} else {
			c.cat.AddMissing()
		}
	case table.Text:
		s := ""
		if c.has {
			s = c.keep(c.text)
		}
		c.strs = push(c.strs, s)
	case inferKind:
		if c.has {
			c.raw = append(c.raw, c.text...)
		}
		c.ends = push(c.ends, len(c.raw))
		if c.numeric {
			f := math.NaN()
			if c.has {
				var err error
				if f, err = parseNumber(c.text); err != nil {
					c.numeric, c.nums = false, nil
				}
			}
			c.nums = push(c.nums, f)
		}
	}
	c.has = false
}

// column returns the finished column.
func (c *colBuilder) column() *table.Column {
	switch c.kind {
	case table.Numeric:
		return table.NewNumeric(c.name, nonNil(c.nums))
	case table.Time:
		return table.NewTime(c.name, nonNil(c.times))
	case table.Bool:
		return table.NewBool(c.name, nonNil(c.bools))
	case table.Categorical:
		return c.cat.Column(c.name)
	case table.Text:
		return table.NewText(c.name, nonNil(c.strs))
	}
	if c.numeric {
		return table.NewNumeric(c.name, nonNil(c.nums))
	}
	prev := 0
	for _, e := range c.ends {
		c.cat.AddBytes(c.raw[prev:e])
		prev = e
	}
	return c.cat.Column(c.name)
}

// push appends, doubling the capacity when full: append's 1.25x growth of
// large slices allocates 5x the final size in total, doubling 2x.
func push[T any](s []T, v T) []T {
	if len(s) == cap(s) {
		n := make([]T, len(s), max(2*cap(s), 1024))
		copy(n, s)
		s = n
	}
	return append(s, v)
}

// grow makes room for n more rows.
func (c *colBuilder) grow(n int) {
	switch c.kind {
	case table.Numeric:
		c.nums = growTo(c.nums, n)
	case table.Time:
		c.times = growTo(c.times, n)
	case table.Bool:
		c.bools = growTo(c.bools, n)
	case table.Categorical:
		c.catCap = c.cat.Len() + n
		c.cat.Grow(n)
	case table.Text:
		c.strs = growTo(c.strs, n)
	}
}

// keep copies s into the chunk and returns it as a string: one allocation
// per 64 KiB instead of one per value. Chunk bytes are never written twice,
// so the strings are immutable.
func (c *colBuilder) keep(s []byte) string {
	if cap(c.chunk)-len(c.chunk) < len(s) {
		c.chunk = make([]byte, 0, max(len(s), 64<<10))
	}
	at := len(c.chunk)
	c.chunk = append(c.chunk, s...)
	return unsafe.String(&c.chunk[at], len(s))
}

func growTo[T any](s []T, n int) []T {
	if cap(s)-len(s) >= n {
		return s
	}
	out := make([]T, len(s), len(s)+n)
	copy(out, s)
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// rowBuilder is the set of column builders of one table.
type rowBuilder struct {
	cols []*colBuilder
	pool *pools // pieces' builders and buffers, when read in pieces
}

// grow makes room for n more rows in every column.
func (b *rowBuilder) grow(n int) {
	for _, c := range b.cols {
		c.grow(n)
	}
}

func (b *rowBuilder) commit() {
	for _, c := range b.cols {
		c.commit()
	}
}

func (b *rowBuilder) discard() {
	for _, c := range b.cols {
		c.has = false
	}
}

func (b *rowBuilder) table() (*table.Table, error) {
	cols := make([]*table.Column, len(b.cols))
	for i, c := range b.cols {
		cols[i] = c.column()
	}
	return table.New(cols...)
}
