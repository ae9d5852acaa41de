package crime

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/arrestcast/arrestcast/shared/data/table"
)

// WriteCSV writes t as the project's CSV: a header of the column names, then
// one line per row (LF). Numbers are written so they read back to the same
// float64 (integers as integers, others in the shortest exact form), times
// as 2006-01-02T15:04:05, booleans as true/false, missing values as empty
// fields, strings quoted only when they must be.
func WriteCSV(ctx context.Context, w io.Writer, t *table.Table) error {
	f := newFormatter(t, nil)
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
	prep *prepared
	row  int // next row to format; -1: the header
	end  int // rows [.., end) are formatted
}

// newFormatter formats t with fields prepared by prepare(t) (nil: prepared
// now). Formatters of one table share one prepared: it is only read.
func newFormatter(t *table.Table, p *prepared) *formatter {
	if p == nil {
		p = prepare(t)
	}
	return &formatter{t: t, cols: t.Columns(), prep: p, row: -1, end: t.Len()}
}

// prepared holds every categorical column's dictionary entries already as
// CSV fields (quoted where they must be), so a row's string is one copy and
// its length one subtraction: a year of crimes has ~10 categorical columns
// whose few thousand distinct values repeat over 267k rows, and scanning
// each for characters that need quotes was a sixth of formatting.
type prepared struct {
	fields [][]byte  // per column: its entries' fields end to end (nil: not categorical)
	ends   [][]int32 // per column: entry k is fields[ends[k-1]:ends[k]] (ends[-1] = 0)
}

func prepare(t *table.Table) *prepared {
	cols := t.Columns()
	p := &prepared{fields: make([][]byte, len(cols)), ends: make([][]int32, len(cols))}
	for j, c := range cols {
		if c.Kind != table.Categorical {
			continue
		}
		// Only the entries the rows use: a month sliced from a year keeps
		// the year's dictionary, most of which it never meets.
		used := make([]bool, len(c.Dict))
		for _, k := range c.Codes {
			if k >= 0 {
				used[k] = true
			}
		}
		n := 0
		for k, s := range c.Dict {
			if used[k] {
				n += len(s)
			}
		}
		buf, ends := make([]byte, 0, n+n/16), make([]int32, len(c.Dict))
		for k, s := range c.Dict {
			if used[k] {
				buf = appendField(buf, s)
			}
			ends[k] = int32(len(buf))
		}
		p.fields[j], p.ends[j] = buf, ends
	}
	return p
}

// field is entry k of column j as a CSV field.
func (p *prepared) field(j int, k int32) []byte {
	lo := int32(0)
	if k > 0 {
		lo = p.ends[j][k-1]
	}
	return p.fields[j][lo:p.ends[j][k]]
}

// fill appends whole lines to buf until it holds about csvChunk bytes; it
// returns io.EOF with the last lines.
func (f *formatter) fill(ctx context.Context, buf []byte) ([]byte, error) {
	return f.fillTo(ctx, buf, csvChunk)
}

// fillTo is fill up to about limit bytes.
func (f *formatter) fillTo(ctx context.Context, buf []byte, limit int) ([]byte, error) {
	if f.row < 0 {
		buf = f.header(buf)
	}
	n := f.end
	for ; f.row < n && len(buf) < limit-1024; f.row++ {
		if f.row%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return buf, fmt.Errorf("write csv: %w", err)
			}
		}
		for j, c := range f.cols {
			if j > 0 {
				buf = append(buf, ',')
			}
			if c.Kind == table.Categorical {
				if k := c.Codes[f.row]; k >= 0 {
					buf = append(buf, f.prep.field(j, k)...)
				}
				continue
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

func (f *formatter) header(buf []byte) []byte {
	for j, c := range f.cols {
		if j > 0 {
			buf = append(buf, ',')
		}
		buf = appendField(buf, c.Name)
	}
	f.row = 0
	return append(buf, '\n')
}

// measure returns the length fillTo would give rows [f.row, f.end) (the
// header too when f.row is -1), formatting only numbers: every other kind's
// length is known without writing it.
func (f *formatter) measure(ctx context.Context) (int64, error) {
	var total int64
	if f.row < 0 {
		total = int64(len(f.header(nil)))
	}
	scratch := make([]byte, 0, 64)
	perRow := int64(len(f.cols)) // the commas and the line end
	for i := f.row; i < f.end; i++ {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, fmt.Errorf("write csv: %w", err)
			}
		}
		total += perRow
		for j, c := range f.cols {
			switch c.Kind {
			case table.Categorical:
				if k := c.Codes[i]; k >= 0 {
					total += int64(len(f.prep.field(j, k)))
				}
			case table.Numeric:
				if v := c.Nums[i]; !math.IsNaN(v) {
					if v == math.Trunc(v) && v > -1e15 && v < 1e15 && !(v == 0 && math.Signbit(v)) {
						total += int64(intLen(int64(v)))
					} else {
						scratch = appendNumber(scratch[:0], v)
						total += int64(len(scratch))
					}
				}
			case table.Bool:
				switch c.Bools[i] {
				case 1:
					total += 4
				case 0:
					total += 5
				}
			case table.Time:
				if s := c.Times[i]; s != table.NoTime {
					if s < minTime || s > maxTime {
						return 0, fmt.Errorf("write csv: row %d: column %q: time %d outside years 0000-9999", i, c.Name, s)
					}
					total += isoLen
				}
			default:
				var err error
				if scratch, err = appendValue(scratch[:0], c, i); err != nil {
					return 0, fmt.Errorf("write csv: row %d: %w", i, err)
				}
				total += int64(len(scratch))
			}
		}
	}
	f.row = f.end
	return total, nil
}

// isoLen is the length of appendISO's 2006-01-02T15:04:05.
const isoLen = 19

// intLen is the length of strconv.AppendInt(nil, v, 10).
func intLen(v int64) int {
	n := 1
	if v < 0 {
		n++
		v = -v
	}
	for v >= 10 {
		v /= 10
		n++
	}
	return n
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
	t, rejects, err := ReadCSVsAs(ctx, 1, func(int) (io.Reader, func(), error) { return r, func() {}, nil }, kind)
	if err != nil {
		return nil, err
	}
	return &ReadResult{Table: t, Rejects: rejects[0]}, nil
}

// ReadCSVsAs reads n project CSV files with the same columns (in any order)
// into one table, as if they were one file: merge's months are never held
// twice, as they were when read apart and concatenated. open(i) gives
// source i and a function to call when it has been read; when a source
// tells how many bytes remain (a Len method), counting the sources after it,
// the columns are sized once. rejects[i] are source i's, lines numbered in
// that source. The kinds are those of ReadCSVAs.
func ReadCSVsAs(ctx context.Context, n int, open func(i int) (io.Reader, func(), error), kind func(column string) table.Kind) (*table.Table, [][]Reject, error) {
	var b *rowBuilder
	var buf []byte // one read buffer for every source
	rejects := make([][]Reject, n)
	for i := range n {
		r, done, err := open(i)
		if err != nil {
			return nil, nil, err
		}
		rejects[i], b, buf, err = readPart(ctx, r, b, buf, kind)
		done()
		if err != nil {
			if n > 1 {
				err = fmt.Errorf("source %d: %w", i, err)
			}
			return nil, nil, err
		}
	}
	if b == nil {
		return nil, nil, fmt.Errorf("read csv: no source")
	}
	t, err := b.table()
	if err != nil {
		return nil, nil, fmt.Errorf("read csv: %w", err)
	}
	return t, rejects, nil
}

// readPart reads one source into b (made from its header when nil) through
// buf (nil: a new one), and returns the buffer for the next source.
func readPart(ctx context.Context, r io.Reader, b *rowBuilder, buf []byte, kind func(column string) table.Kind) ([]Reject, *rowBuilder, []byte, error) {
	s := reuseScanner(r, buf)
	s.skipBOM()
	if !s.next() {
		if s.w.err != nil {
			return nil, b, s.w.buf, fmt.Errorf("read csv header: %w", s.w.err)
		}
		return nil, b, s.w.buf, fmt.Errorf("read csv: no header")
	}
	seen := map[string]bool{}
	for _, f := range s.fields {
		name := string(f)
		if name == "" || seen[name] {
			return nil, b, s.w.buf, fmt.Errorf("read csv: empty or repeated column name %q in header", name)
		}
		seen[name] = true
	}
	var target []*colBuilder
	if b == nil {
		b = &rowBuilder{}
		for _, f := range s.fields {
			name := string(f)
			k, known := Kinds[name]
			if !known && kind != nil {
				k = kind(name)
			}
			b.cols = append(b.cols, newColBuilder(name, k)) // inferKind when unknown
		}
		target = b.cols
	} else {
		if len(s.fields) != len(b.cols) {
			return nil, b, s.w.buf, fmt.Errorf("read csv: %d columns, the first source has %d", len(s.fields), len(b.cols))
		}
		target = make([]*colBuilder, len(s.fields))
		for i, f := range s.fields {
			j := slices.IndexFunc(b.cols, func(c *colBuilder) bool { return c.name == string(f) })
			if j < 0 {
				return nil, b, s.w.buf, fmt.Errorf("read csv: column %q is not in the first source", f)
			}
			target[i] = b.cols[j]
		}
	}
	b.grow(estimateRows(r, s.w))
	rejects, err := scanAll(ctx, s, b, target, "read csv")
	return rejects, b, s.w.buf, err
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
