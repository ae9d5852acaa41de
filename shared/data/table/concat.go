package table

import (
	"fmt"
	"slices"
)

// Concat returns the rows of all tables, in order. The tables must have the
// same column names, order and kinds. Categorical dictionaries are merged: the
// first table's dictionary is kept and new strings are appended.
func Concat(ts ...*Table) (*Table, error) {
	n := 0
	for _, t := range ts {
		n += t.rows
	}
	a := NewAppender(n)
	for k, t := range ts {
		if err := a.Append(t); err != nil {
			return nil, fmt.Errorf("concat: table %d: %w", k, err)
		}
	}
	return a.Table(), nil
}

// Appender concatenates tables as Concat does, one at a time, into columns
// sized once: a reader of many parts holds the result and the part it is
// adding, never every part.
type Appender struct {
	rows  int // capacity the columns are made with
	cols  []*Column
	index []map[string]int32 // per categorical column, made when a part's dictionary differs
	n     int
	began bool
}

// NewAppender returns an Appender whose columns are sized for rows rows
// (more are allowed: the columns grow).
func NewAppender(rows int) *Appender { return &Appender{rows: rows} }

// Append adds t's rows. The first table fixes the columns; every later one
// must have the same names, order and kinds.
func (a *Appender) Append(t *Table) error {
	if !a.began {
		a.began = true
		a.cols = make([]*Column, len(t.cols))
		a.index = make([]map[string]int32, len(t.cols))
		for j, c := range t.cols {
			a.cols[j] = emptyLike(c, a.rows)
		}
	}
	if len(t.cols) != len(a.cols) {
		return fmt.Errorf("%d columns, the first table has %d", len(t.cols), len(a.cols))
	}
	for j, c := range t.cols {
		if f := a.cols[j]; c.Name != f.Name || c.Kind != f.Kind {
			return fmt.Errorf("column %d is %q (%s), the first table has %q (%s)", j, c.Name, c.Kind, f.Name, f.Kind)
		}
	}
	for j, c := range t.cols {
		out := a.cols[j]
		switch c.Kind {
		case Numeric:
			out.Nums = append(out.Nums, c.Nums...)
		case Bool:
			out.Bools = append(out.Bools, c.Bools...)
		case Time:
			out.Times = append(out.Times, c.Times...)
		case Text:
			out.Strs = append(out.Strs, c.Strs...)
		case Categorical:
			a.appendCategorical(j, c)
		}
	}
	a.n += t.rows
	return nil
}

func emptyLike(c *Column, n int) *Column {
	out := &Column{Name: c.Name, Kind: c.Kind}
	switch c.Kind {
	case Numeric:
		out.Nums = make([]float64, 0, n)
	case Bool:
		out.Bools = make([]int8, 0, n)
	case Time:
		out.Times = make([]int64, 0, n)
	case Text:
		out.Strs = make([]string, 0, n)
	case Categorical:
		out.Codes = make([]int32, 0, n)
		// Clip so appending never writes into a backing array others share.
		out.Dict = slices.Clip(c.Dict)
	}
	return out
}

// appendCategorical appends p's codes to column j, remapped onto a
// dictionary that extends the first part's.
func (a *Appender) appendCategorical(j int, p *Column) {
	out := a.cols[j]
	if isPrefix(p.Dict, out.Dict) {
		out.Codes = append(out.Codes, p.Codes...)
		return
	}
	index := a.index[j]
	if index == nil {
		index = make(map[string]int32, len(out.Dict))
		for k, s := range out.Dict {
			index[s] = int32(k)
		}
		a.index[j] = index
	}
	remap := make([]int32, len(p.Dict))
	for k, s := range p.Dict {
		code, ok := index[s]
		if !ok {
			code = int32(len(out.Dict))
			out.Dict = append(out.Dict, s)
			index[s] = code
		}
		remap[k] = code
	}
	for _, k := range p.Codes {
		if k >= 0 {
			k = remap[k]
		}
		out.Codes = append(out.Codes, k)
	}
}

// Table is the rows appended so far (the Appender must not be used after).
func (a *Appender) Table() *Table {
	return &Table{cols: a.cols, rows: a.n}
}

// isPrefix reports whether d is a prefix of dict (so d's codes mean the same).
func isPrefix(d, dict []string) bool {
	if len(d) > len(dict) {
		return false
	}
	if len(d) == 0 || &d[0] == &dict[0] {
		return true
	}
	return slices.Equal(d, dict[:len(d)])
}
