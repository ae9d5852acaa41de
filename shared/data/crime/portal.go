package crime

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// ReadPortalCSV reads the data portal's CSV export of crimes (Title Case
// headers such as "Case Number", "X Coordinate"). Columns are taken by name,
// in any order; the 20 columns of Columns are required, others (Year,
// Location) are ignored. The table has the columns of Columns in that order
// with the kinds of Kinds. Malformed records (field count, quoting, bad
// date, number or boolean) are returned as rejects. The input is streamed.
func ReadPortalCSV(ctx context.Context, r io.Reader) (*ReadResult, error) {
	s := newScanner(r)
	s.skipBOM()
	if !s.next() {
		if s.w.err != nil {
			return nil, fmt.Errorf("read portal csv header: %w", s.w.err)
		}
		return nil, fmt.Errorf("read portal csv: no header")
	}
	b := &rowBuilder{}
	for _, name := range Columns {
		b.cols = append(b.cols, newColBuilder(name, Kinds[name]))
	}
	// target[i] is the builder of input field i, nil if ignored.
	target := make([]*colBuilder, len(s.fields))
	for i, f := range s.fields {
		name := SnakeCase(string(f))
		j := slices.Index(Columns, name)
		if j < 0 {
			continue
		}
		if slices.Contains(target, b.cols[j]) {
			return nil, fmt.Errorf("read portal csv: header %q appears twice", f)
		}
		target[i] = b.cols[j]
	}
	for j, c := range b.cols {
		if !slices.Contains(target, c) {
			return nil, fmt.Errorf("read portal csv: header lacks column %q (%s)", Columns[j], s.raw)
		}
	}
	b.grow(estimateRows(r, s.w))
	return readRecords(ctx, s, b, target, "read portal csv")
}

// estimateRows guesses the number of records left when the reader tells how
// many bytes it holds (bytes.Reader, strings.Reader, bytes.Buffer), so
// columns are allocated once; 0 when it cannot tell.
func estimateRows(r io.Reader, w *window) int {
	l, ok := r.(interface{ Len() int })
	if !ok {
		return 0
	}
	sample := w.buf[w.start:w.end]
	lines := bytes.Count(sample, nl)
	if lines < 16 {
		return 0
	}
	left := float64(len(sample) + l.Len())
	return int(left/(float64(len(sample))/float64(lines))*1.10) + 16
}

// readRecords reads the records after the header into b and returns b's table.
func readRecords(ctx context.Context, s *scanner, b *rowBuilder, target []*colBuilder, what string) (*ReadResult, error) {
	rejects, err := scanAll(ctx, s, b, target, what)
	if err != nil {
		return nil, err
	}
	t, err := b.table()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return &ReadResult{Table: t, Rejects: rejects}, nil
}

// scanRecords reads the records after the header into b.
func scanRecords(ctx context.Context, s *scanner, b *rowBuilder, target []*colBuilder, what string) ([]Reject, error) {
	var rejects []Reject
	for n := 0; s.next(); n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
		}
		reason := s.bad
		if reason == "" && len(s.fields) != len(target) {
			reason = strconv.Itoa(len(s.fields)) + " fields, header has " + strconv.Itoa(len(target))
		}
		if reason == "" {
			for i, f := range s.fields {
				if c := target[i]; c != nil {
					if err := c.stage(f); err != nil {
						reason = err.Error()
						break
					}
				}
			}
		}
		if reason != "" {
			b.discard()
			rejects = append(rejects, Reject{Line: s.recLine, Reason: reason, Raw: string(s.raw)})
			continue
		}
		b.commit()
	}
	if s.w.err != nil {
		return nil, fmt.Errorf("%s: %w", what, s.w.err)
	}
	return rejects, nil
}

// Sized is r that says it holds n more bytes (a stream from the store, whose
// size the listing gave), so the readers size their columns once.
func Sized(r io.Reader, n int64) io.Reader { return &sizedReader{r: r, n: int(n)} }

type sizedReader struct {
	r io.Reader
	n int
}

func (s *sizedReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n -= n
	return n, err
}

func (s *sizedReader) Len() int { return max(s.n, 0) }
