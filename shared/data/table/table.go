package table

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
)

// Table is a set of named columns of equal length. The zero value is an
// empty table with no columns.
type Table struct {
	cols []*Column
	rows int
}

// New returns a table of the given columns (not copied). Names must be unique
// and non-empty, lengths equal, categorical codes inside their dictionary.
func New(cols ...*Column) (*Table, error) {
	t := &Table{}
	for _, c := range cols {
		if c != nil && t.index(c.Name) >= 0 {
			return nil, fmt.Errorf("new table: duplicate column %q", c.Name)
		}
		if err := t.Set(c); err != nil {
			return nil, fmt.Errorf("new table: %w", err)
		}
	}
	return t, nil
}

// Len returns the number of rows.
func (t *Table) Len() int { return t.rows }

// Columns returns the columns in order. The slice is the table's own: do not
// modify it.
func (t *Table) Columns() []*Column { return t.cols }

// Names returns the column names in order.
func (t *Table) Names() []string {
	out := make([]string, len(t.cols))
	for i, c := range t.cols {
		out[i] = c.Name
	}
	return out
}

func (t *Table) index(name string) int {
	for i, c := range t.cols {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// Col returns the column with that name, or nil.
func (t *Table) Col(name string) *Column {
	if i := t.index(name); i >= 0 {
		return t.cols[i]
	}
	return nil
}

// Lookup returns the column with that name and kind, or an error saying
// which of the two is wrong.
func (t *Table) Lookup(name string, kind Kind) (*Column, error) {
	c := t.Col(name)
	if c == nil {
		return nil, fmt.Errorf("column %q: not in table", name)
	}
	if c.Kind != kind {
		return nil, fmt.Errorf("column %q: is %s, want %s", name, c.Kind, kind)
	}
	return c, nil
}

// Set adds c at the end, or replaces the column of the same name in place.
// Its length must match the table's (any length for the first column).
func (t *Table) Set(c *Column) error {
	if c == nil || c.Name == "" {
		return fmt.Errorf("set column: nil column or empty name")
	}
	if err := c.check(); err != nil {
		return fmt.Errorf("set column: %w", err)
	}
	i := t.index(c.Name)
	only := len(t.cols) == 0 || (len(t.cols) == 1 && i == 0)
	if !only && c.Len() != t.rows {
		return fmt.Errorf("set column %q: %d rows, table has %d", c.Name, c.Len(), t.rows)
	}
	t.rows = c.Len()
	if i >= 0 {
		t.cols[i] = c
	} else {
		t.cols = append(t.cols, c)
	}
	return nil
}

// Drop removes the named columns; names not in the table are ignored.
func (t *Table) Drop(names ...string) {
	t.cols = slices.DeleteFunc(t.cols, func(c *Column) bool { return slices.Contains(names, c.Name) })
	if len(t.cols) == 0 {
		t.rows = 0
	}
}

// Rename renames a column. The column is copied (data shared) so tables that
// share it keep the old name.
func (t *Table) Rename(old, name string) error {
	i := t.index(old)
	if i < 0 {
		return fmt.Errorf("rename %q: not in table", old)
	}
	if name == "" || (name != old && t.index(name) >= 0) {
		return fmt.Errorf("rename %q to %q: empty or taken", old, name)
	}
	c := *t.cols[i]
	c.Name = name
	t.cols[i] = &c
	return nil
}

// Keep returns a new table with the named columns in that order. Column data
// is shared.
func (t *Table) Keep(names ...string) (*Table, error) {
	out := &Table{cols: make([]*Column, 0, len(names)), rows: t.rows}
	for _, n := range names {
		c := t.Col(n)
		if c == nil {
			return nil, fmt.Errorf("keep: column %q not in table", n)
		}
		if out.index(n) >= 0 {
			return nil, fmt.Errorf("keep: column %q named twice", n)
		}
		out.cols = append(out.cols, c)
	}
	return out, nil
}

// Select returns a new table of the given rows (in that order, repeats
// allowed), every column gathered. It panics on a row out of range, like a
// slice index.
func (t *Table) Select(rows []int) *Table {
	out := &Table{cols: make([]*Column, len(t.cols)), rows: len(rows)}
	for i, c := range t.cols {
		out.cols[i] = c.gather(rows)
	}
	return out
}

// Alloc returns a table of n rows with schema's columns (names, kinds and
// dictionaries; schema's data is not used), every value zero.
func Alloc(schema []*Column, n int) (*Table, error) {
	cols := make([]*Column, len(schema))
	for j, c := range schema {
		cols[j] = &Column{Name: c.Name, Kind: c.Kind, Dict: c.Dict}
		switch c.Kind {
		case Numeric:
			cols[j].Nums = make([]float64, n)
		case Categorical:
			cols[j].Codes = make([]int32, n)
		case Bool:
			cols[j].Bools = make([]int8, n)
		case Time:
			cols[j].Times = make([]int64, n)
		case Text:
			cols[j].Strs = make([]string, n)
		default:
			return nil, fmt.Errorf("alloc: column %q: unknown kind %d", c.Name, c.Kind)
		}
	}
	return New(cols...)
}

// Clone returns a copy of t that shares no column data with it
// (dictionaries, append-only, are shared).
func (t *Table) Clone() *Table {
	out := &Table{cols: make([]*Column, len(t.cols)), rows: t.rows}
	for i, c := range t.cols {
		out.cols[i] = c.clone()
	}
	return out
}

// Slice returns rows [lo, hi) of t as a new table sharing t's column data
// (no copy). It panics on a range out of bounds, like a slice expression.
func (t *Table) Slice(lo, hi int) *Table {
	if lo < 0 || hi < lo || hi > t.rows {
		panic(fmt.Sprintf("table: slice [%d:%d] of %d rows", lo, hi, t.rows))
	}
	out := &Table{cols: make([]*Column, len(t.cols)), rows: hi - lo}
	for i, c := range t.cols {
		out.cols[i] = c.slice(lo, hi)
	}
	return out
}

// Compact keeps the given rows of t (strictly increasing) in place: where
// Select copies every column, Compact moves values down within them, so it
// needs no memory. Other tables sharing t's columns (Keep, Slice) see the
// moved values and must not be used afterwards. It returns an error, and
// leaves t unchanged, when rows are not strictly increasing and in range.
func (t *Table) Compact(rows []int) error {
	for k, r := range rows {
		if r < 0 || r >= t.rows || (k > 0 && r <= rows[k-1]) {
			return fmt.Errorf("compact: row %d at %d: rows must increase strictly within [0, %d)", r, k, t.rows)
		}
	}
	for _, c := range t.cols {
		c.compact(rows)
	}
	t.rows = len(rows)
	return nil
}

// Reorder makes t Select(rows) in place, for rows that are distinct (any
// order): each column's kept rows are gathered into a scratch column and
// copied back over its start, then the rest cut off, so besides a row index
// per row only a column's worth of scratch per goroutine is allocated (one per
// kind, reused). Gathering loads rows independently of one another; following the
// permutation's cycles in place made every load wait on the one before and
// grew worse than linearly once a column outgrew the caches. Tables sharing
// t's columns must not be used afterwards. It returns an error, and leaves t
// unchanged, when a row repeats or is out of range.
func (t *Table) Reorder(rows []int) error {
	seen := make([]uint64, (t.rows+63)/64)
	for k, r := range rows {
		if r < 0 || r >= t.rows || seen[r/64]&(1<<(r%64)) != 0 {
			return fmt.Errorf("reorder: row %d at %d: rows must be distinct and within [0, %d)", r, k, t.rows)
		}
		seen[r/64] |= 1 << (r % 64)
	}
	// Columns on up to two goroutines, each with its own scratch: a gather
	// waits on memory, and a second one in flight nearly halves the time.
	workers := min(2, runtime.GOMAXPROCS(0), len(t.cols))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var sc scratch
			for j := w; j < len(t.cols); j += workers {
				t.cols[j].reorder(rows, &sc)
			}
		})
	}
	wg.Wait()
	t.rows = len(rows)
	return nil
}

// Filter returns Select of the rows i for which keep(i) is true.
func (t *Table) Filter(keep func(i int) bool) *Table {
	var rows []int
	for i := range t.rows {
		if keep(i) {
			rows = append(rows, i)
		}
	}
	return t.Select(rows)
}
