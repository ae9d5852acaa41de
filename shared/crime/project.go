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
	f := newFormatter(t)
	buf := make([]byte, 0, csvChunk)
	for {
		var err error
		buf, err = f.fill(ctx, buf[:0])
		if len(buf) > 0 {
			if _, werr := w.Write(buf); werr != nil {
				return fmt.Errorf("write csv: %w", werr)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// csvChunk is how many bytes of CSV are formatted at a time.
const csvChunk = 1 << 16

// formatter turns a table (or a range of its rows) into CSV text a chunk at
// a time.
type formatter struct {
	t    *table.Table
	cols []*table.Column
	row  int // next row to format; -1: the header
	end  int // rows [.., end) are formatted
}

func newFormatter(t *table.Table) *formatter {
	return &formatter{t: t, cols: t.Columns(), row: -1, end: t.Len()}
}

// fill appends whole lines to buf until it holds about csvChunk bytes; it
// returns io.EOF with the last lines.
func (f *formatter) fill(ctx context.Context, buf []byte) ([]byte, error) {
	if f.row < 0 {
		for j, c := range f.cols {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = appendField(buf, c.Name)
		}
		buf = append(buf, '\n')
		f.row = 0
	}
	n := f.end
	for ; f.row < n && len(buf) < csvChunk-1024; f.row++ {
		if f.row%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return buf, fmt.Errorf("write csv: %w", err)
			}
		}
		for j, c := range f.cols {
			if j > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = appendValue(buf, c, f.row); err != nil {
				return buf, fmt.Errorf("write csv: row %d: %w", f.row, err)
			}
		}
		buf = append(buf, '\n')
	}
	if f.row >= n {
		return buf, io.EOF
	}
	return buf, nil
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
