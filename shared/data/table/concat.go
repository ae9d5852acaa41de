package table

import (
	"fmt"
	"slices"
)

// Concat returns the rows of all tables, in order. The tables must have the
// same column names, order and kinds. Categorical dictionaries are merged: the
// first table's dictionary is kept and new strings are appended.
func Concat(ts ...*Table) (*Table, error) {
	if len(ts) == 0 {
		return &Table{}, nil
	}
	first := ts[0]
	n := 0
	for k, t := range ts {
		if len(t.cols) != len(first.cols) {
			return nil, fmt.Errorf("concat: table %d has %d columns, table 0 has %d", k, len(t.cols), len(first.cols))
		}
		for j, c := range t.cols {
			f := first.cols[j]
			if c.Name != f.Name || c.Kind != f.Kind {
				return nil, fmt.Errorf("concat: table %d column %d is %q (%s), table 0 has %q (%s)", k, j, c.Name, c.Kind, f.Name, f.Kind)
			}
		}
		n += t.rows
	}
	out := &Table{cols: make([]*Column, len(first.cols)), rows: n}
	for j, f := range first.cols {
		parts := make([]*Column, len(ts))
		for k, t := range ts {
			parts[k] = t.cols[j]
		}
		out.cols[j] = concatColumn(f.Name, f.Kind, parts, n)
	}
	return out, nil
}

func concatColumn(name string, kind Kind, parts []*Column, n int) *Column {
	out := &Column{Name: name, Kind: kind}
	switch kind {
	case Numeric:
		out.Nums = make([]float64, 0, n)
		for _, p := range parts {
			out.Nums = append(out.Nums, p.Nums...)
		}
	case Bool:
		out.Bools = make([]int8, 0, n)
		for _, p := range parts {
			out.Bools = append(out.Bools, p.Bools...)
		}
	case Time:
		out.Times = make([]int64, 0, n)
		for _, p := range parts {
			out.Times = append(out.Times, p.Times...)
		}
	case Text:
		out.Strs = make([]string, 0, n)
		for _, p := range parts {
			out.Strs = append(out.Strs, p.Strs...)
		}
	case Categorical:
		out.Codes, out.Dict = mergeCategorical(parts, n)
	}
	return out
}

// mergeCategorical concatenates codes, remapping each part onto a dictionary
// that extends the first part's.
func mergeCategorical(parts []*Column, n int) ([]int32, []string) {
	// Clip so appending never writes into a backing array others share.
	dict := slices.Clip(parts[0].Dict)
	var index map[string]int32
	codes := make([]int32, 0, n)
	for _, p := range parts {
		if isPrefix(p.Dict, dict) {
			codes = append(codes, p.Codes...)
			continue
		}
		if index == nil {
			index = make(map[string]int32, len(dict))
			for k, s := range dict {
				index[s] = int32(k)
			}
		}
		remap := make([]int32, len(p.Dict))
		for k, s := range p.Dict {
			code, ok := index[s]
			if !ok {
				code = int32(len(dict))
				dict = append(dict, s)
				index[s] = code
			}
			remap[k] = code
		}
		for _, k := range p.Codes {
			if k >= 0 {
				k = remap[k]
			}
			codes = append(codes, k)
		}
	}
	return codes, dict
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
