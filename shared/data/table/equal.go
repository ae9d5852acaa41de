package table

import (
	"fmt"
)

// Equal returns nil if a and b have the same column names, kinds and values
// in the same order, else an error describing the first difference.
// Categorical values are compared as strings (codes and dictionaries may
// differ); NaN equals NaN.
func Equal(a, b *Table) error {
	if len(a.cols) != len(b.cols) {
		return fmt.Errorf("columns: %v vs %v", a.Names(), b.Names())
	}
	if a.rows != b.rows {
		return fmt.Errorf("rows: %d vs %d", a.rows, b.rows)
	}
	for j, ca := range a.cols {
		cb := b.cols[j]
		if ca.Name != cb.Name || ca.Kind != cb.Kind {
			return fmt.Errorf("column %d: %q (%s) vs %q (%s)", j, ca.Name, ca.Kind, cb.Name, cb.Kind)
		}
		if i := firstDiff(ca, cb); i >= 0 {
			return fmt.Errorf("column %q row %d: %s vs %s", ca.Name, i, ca.format(i), cb.format(i))
		}
	}
	return nil
}

// firstDiff returns the first row where the columns differ, or -1.
func firstDiff(a, b *Column) int {
	for i := range a.Len() {
		if !a.sameAt(i, b, i) {
			return i
		}
	}
	return -1
}

// format renders row i for messages.
func (c *Column) format(i int) string {
	if c.IsMissing(i) {
		return "<missing>"
	}
	switch c.Kind {
	case Numeric:
		return fmt.Sprint(c.Nums[i])
	case Categorical, Text:
		return fmt.Sprintf("%q", c.Str(i))
	case Bool:
		return fmt.Sprint(c.Bools[i] == 1)
	case Time:
		return Wall(c.Times[i]).Format("2006-01-02T15:04:05")
	}
	return "?"
}
