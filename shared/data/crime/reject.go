package crime

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/arrestcast/arrestcast/shared/data/table"
)

// Reject is an input record that could not be read. Nothing is dropped
// silently: every reader returns its rejects with the table.
type Reject struct {
	// Line is, for CSV, the 1-based line where the record starts (the header
	// is line 1); for JSON, the 1-based position of the object in the array.
	Line   int
	Reason string // e.g. `bad date in column "date": "13/01/2017 ..."`
	Raw    string // the record as it was in the input, without its line end
}

// ReadResult is what the readers return: the rows read, and the rows not.
type ReadResult struct {
	Table   *table.Table
	Rejects []Reject
}

// WriteRejects writes rejects as CSV with the header line,reason,raw.
func WriteRejects(ctx context.Context, w io.Writer, rejects []Reject) error {
	buf := append([]byte(nil), "line,reason,raw\n"...)
	for i, r := range rejects {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("write rejects: %w", err)
			}
		}
		buf = strconv.AppendInt(buf, int64(r.Line), 10)
		buf = append(buf, ',')
		buf = appendField(buf, r.Reason)
		buf = append(buf, ',')
		buf = appendField(buf, r.Raw)
		buf = append(buf, '\n')
		if len(buf) > 1<<16 {
			if _, err := w.Write(buf); err != nil {
				return fmt.Errorf("write rejects: %w", err)
			}
			buf = buf[:0]
		}
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("write rejects: %w", err)
	}
	return nil
}

// appendField appends s as a CSV field, quoted when it must be.
func appendField[S ~string | ~[]byte](dst []byte, s S) []byte {
	quote := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ',' || c == '"' || c == '\n' || c == '\r' {
			quote = true
			break
		}
	}
	if !quote {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}
