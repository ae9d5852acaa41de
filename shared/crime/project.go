package crime

import (
	"context"
	"fmt"
	"io"
	"math"

	"github.com/arrestcast/arrestcast/shared/table"
)

// WriteCSV writes t as the project's CSV: a header of the column names, then
// one line per row (LF). Numbers are written so they read back to the same
// float64 (integers as integers, others in the shortest exact form), times
// as 2006-01-02T15:04:05, booleans as true/false, missing values as empty
// fields, strings quoted only when they must be.
func WriteCSV(ctx context.Context, w io.Writer, t *table.Table) error {
	cols := t.Columns()
	buf := make([]byte, 0, 1<<16)
	for j, c := range cols {
		if j > 0 {
			buf = append(buf, ',')
		}
		buf = appendField(buf, c.Name)
	}
	buf = append(buf, '\n')
	for i := range t.Len() {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("write csv: %w", err)
			}
		}
		for j, c := range cols {
			if j > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = appendValue(buf, c, i); err != nil {
				return fmt.Errorf("write csv: row %d: %w", i, err)
			}
		}
		buf = append(buf, '\n')
		if len(buf) >= 1<<16-1024 {
			if _, err := w.Write(buf); err != nil {
				return fmt.Errorf("write csv: %w", err)
			}
			buf = buf[:0]
		}
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// appendValue appends row i of c as a CSV field (empty when missing).
func appendValue(buf []byte, c *table.Column, i int) ([]byte, error) {
	switch c.Kind {
	case table.Numeric:
		if v := c.Nums[i]; !math.IsNaN(v) {
			buf = appendNumber(buf, v)
		}
	case table.Categorical:
		if k := c.Codes[i]; k >= 0 {
			buf = appendField(buf, c.Dict[k])
		}
	case table.Text:
		buf = appendField(buf, c.Strs[i])
	case table.Bool:
		switch c.Bools[i] {
		case 1:
			buf = append(buf, "true"...)
		case 0:
			buf = append(buf, "false"...)
		}
	case table.Time:
		if s := c.Times[i]; s != table.NoTime {
			if s < minTime || s > maxTime {
				return buf, fmt.Errorf("column %q: time %d outside years 0000-9999", c.Name, s)
			}
			buf = appendISO(buf, s)
		}
	}
	return buf, nil
}

var (
	minTime = table.WallClock(0, 1, 1, 0, 0, 0)
	maxTime = table.WallClock(9999, 12, 31, 23, 59, 59)
)

// ReadCSV reads the project's CSV (as WriteCSV writes it, snake_case
// headers). Every column is kept, in file order. Known columns (Kinds) have
// their fixed kind; any other column is numeric if every value parses as a
// number, else categorical. Records with the wrong field count or a bad
// value in a known column are returned as rejects. The input is streamed.
func ReadCSV(ctx context.Context, r io.Reader) (*ReadResult, error) {
	return ReadCSVAs(ctx, r, nil)
}

// ReadCSVAs is ReadCSV where kind gives the kind of the columns Kinds does
// not know (nil or 0: inferred). The pipeline's encoded tables are numeric
// throughout: naming it spares keeping every value's text until the end.
func ReadCSVAs(ctx context.Context, r io.Reader, kind func(column string) table.Kind) (*ReadResult, error) {
	s := newScanner(r)
	s.skipBOM()
	if !s.next() {
		if s.w.err != nil {
			return nil, fmt.Errorf("read csv header: %w", s.w.err)
		}
		return nil, fmt.Errorf("read csv: no header")
	}
	b := &rowBuilder{}
	seen := map[string]bool{}
	for _, f := range s.fields {
		name := string(f)
		if name == "" || seen[name] {
			return nil, fmt.Errorf("read csv: empty or repeated column name %q in header", name)
		}
		seen[name] = true
		k, known := Kinds[name]
		if !known && kind != nil {
			k = kind(name)
		}
		b.cols = append(b.cols, newColBuilder(name, k)) // inferKind when unknown
	}
	b.grow(estimateRows(r, s.w))
	return readRecords(ctx, s, b, b.cols, "read csv")
}

// FormatRow returns row i of t as a line of WriteCSV's format (no line end),
// e.g. for the Raw of a Reject made from a table row.
func FormatRow(t *table.Table, i int) string {
	var buf []byte
	for j, c := range t.Columns() {
		if j > 0 {
			buf = append(buf, ',')
		}
		buf, _ = appendValue(buf, c, i) // an out-of-range time is left empty
	}
	return string(buf)
}
