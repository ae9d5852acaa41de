package crime

import (
	"math"
	"sync"

	"github.com/arrestcast/arrestcast/shared/data/table"
)

// AsRead returns t as ReadCSVAs(…, kind) reads WriteCSV's text of it — the
// kinds the reader gives each column, every value, missing where the text is
// empty, dictionaries in the order a read meets their strings — without
// formatting or parsing anything. A CSV's binary twin (see runner.PutTable)
// is AsRead of the table, so a step that reads the twin gets the very table
// a step parsing the CSV would, codes included.
//
// ok is false when the text would not read back to t's values: a column of
// another kind than the reader would give it, an infinite number or a
// negative zero. Columns already as a read gives them are shared with t,
// not copied.
func AsRead(t *table.Table, kind func(column string) table.Kind) (out *table.Table, ok bool) {
	cols := make([]*table.Column, 0, len(t.Columns()))
	for _, c := range t.Columns() {
		want, known := Kinds[c.Name]
		if !known && kind != nil {
			want = kind(c.Name)
		}
		if c.Kind != want {
			return nil, false
		}
		switch c.Kind {
		case table.Numeric:
			for _, v := range c.Nums {
				if math.IsInf(v, 0) || (v == 0 && math.Signbit(v)) {
					return nil, false
				}
			}
		case table.Categorical:
			c = firstMet(c, Vocab[c.Name])
		case table.Bool:
			c = onlyBools(c)
		case table.Time:
			for _, s := range c.Times {
				if s != table.NoTime && (s < minTime || s > maxTime) {
					return nil, false
				}
			}
		}
		cols = append(cols, c)
	}
	out, err := table.New(cols...)
	if err != nil {
		return nil, false
	}
	return out, true
}

// firstMet is c with the dictionary a read gives it: the column's fixed
// vocabulary first (Vocab, kept even where unused), then the other strings in
// the order its rows meet them, unused entries dropped and the empty string
// missing (an empty field). It is c itself when that is its dictionary
// already, as for a column just parsed.
func firstMet(c *table.Column, vocab []string) *table.Column {
	const unseen = -2
	rp := remaps.Get().(*[]int32)
	defer remaps.Put(rp)
	if cap(*rp) < len(c.Dict) {
		*rp = make([]int32, len(c.Dict))
	}
	remap := (*rp)[:len(c.Dict)]
	for k := range remap {
		remap[k] = unseen
	}
	dict := append([]string(nil), vocab...)
	if len(vocab) > 0 {
		at := make(map[string]int32, len(vocab))
		for k, s := range vocab {
			at[s] = int32(k)
		}
		for k, s := range c.Dict {
			if v, ok := at[s]; ok {
				remap[k] = v
			}
		}
	}
	for _, k := range c.Codes {
		if k < 0 || remap[k] != unseen {
			continue
		}
		if c.Dict[k] == "" {
			remap[k] = table.Missing
			continue
		}
		remap[k] = int32(len(dict))
		dict = append(dict, c.Dict[k])
	}
	same := len(dict) == len(c.Dict)
	for k := 0; same && k < len(remap); k++ {
		same = remap[k] == int32(k)
	}
	if same {
		return c
	}
	codes := make([]int32, len(c.Codes))
	for i, k := range c.Codes {
		if k >= 0 {
			k = remap[k]
		}
		codes[i] = k
	}
	return table.NewCategorical(c.Name, codes, dict)
}

// remaps holds firstMet's code maps for the next column: a month cut from a
// year keeps the year's dictionaries, so each map is sized by the year, and
// fresh ones for every column of every month were garbage the heap grew by.
var remaps = sync.Pool{New: func() any { return new([]int32) }}

// onlyBools is c with any value other than 0 and 1 missing (the writer
// leaves it empty); c itself when it has none.
func onlyBools(c *table.Column) *table.Column {
	clean := true
	for _, b := range c.Bools {
		if b != 0 && b != 1 && b != table.Missing {
			clean = false
			break
		}
	}
	if clean {
		return c
	}
	v := make([]int8, len(c.Bools))
	for i, b := range c.Bools {
		if b != 0 && b != 1 {
			b = table.Missing
		}
		v[i] = b
	}
	return table.NewBool(c.Name, v)
}
