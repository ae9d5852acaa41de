package crime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/arrestcast/arrestcast/shared/data/table"
)

// Body is a table's CSV (WriteCSV's bytes) as a reader that knows its length
// and can rewind. Object stores want the length before the first byte and
// replay the body when a request is retried; formatting on demand keeps one
// 64 KiB chunk in memory instead of the whole file, which matters twice: a
// year of crimes is ~60 MB of text, and fresh memory is what costs most in a
// short-lived function (every new page is a fault).
//
// The length is found by formatting the table once without keeping the
// text, so the table must not change while the Body is in use.
type Body struct {
	ctx  context.Context
	t    *table.Table
	size int64

	f   *formatter
	buf []byte // formatted, from off on not yet read
	off int
	pos int64 // bytes read since the start
	eof bool  // f has formatted the last row
}

// NewBody measures t's CSV and returns it as a Body; it fails as WriteCSV
// would (a value that cannot be written, or ctx done).
func NewBody(ctx context.Context, t *table.Table) (*Body, error) {
	n, err := csvLength(ctx, t)
	if err != nil {
		return nil, err
	}
	b := &Body{ctx: ctx, t: t, size: n, buf: make([]byte, 0, csvChunk)}
	b.rewind()
	return b, nil
}

// csvLength formats t without keeping the text, on up to GOMAXPROCS
// goroutines over ranges of rows (nothing else runs before the upload starts).
func csvLength(ctx context.Context, t *table.Table) (int64, error) {
	header := newFormatter(t)
	header.end = 0
	buf, err := header.fill(ctx, nil)
	if err != io.EOF {
		return 0, err
	}
	total := int64(len(buf))
	n := t.Len()
	parts := min(runtime.GOMAXPROCS(0), 4, max(1, n/20_000))
	sizes := make([]int64, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for p := range parts {
		wg.Go(func() {
			f := newFormatter(t)
			f.row, f.end = n*p/parts, n*(p+1)/parts
			buf := make([]byte, 0, csvChunk)
			for {
				var err error
				buf, err = f.fill(ctx, buf[:0])
				sizes[p] += int64(len(buf))
				if err == io.EOF {
					return
				}
				if err != nil {
					errs[p] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for p := range parts {
		if errs[p] != nil {
			return 0, errs[p]
		}
		total += sizes[p]
	}
	return total, nil
}

// Size is the CSV's length in bytes.
func (b *Body) Size() int64 { return b.size }

func (b *Body) rewind() {
	b.f = newFormatter(b.t)
	b.buf, b.off, b.pos, b.eof = b.buf[:0], 0, 0, false
}

// Read implements io.Reader.
func (b *Body) Read(p []byte) (int, error) {
	for b.off == len(b.buf) {
		if b.eof {
			return 0, io.EOF
		}
		var err error
		b.buf, err = b.f.fill(b.ctx, b.buf[:0])
		b.off = 0
		if err == io.EOF {
			b.eof = true
		} else if err != nil {
			return 0, err
		}
	}
	n := copy(p, b.buf[b.off:])
	b.off += n
	b.pos += int64(n)
	return n, nil
}

// Seek implements io.Seeker. Moving back starts the formatting over;
// moving forward formats and skips.
func (b *Body) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += b.pos
	case io.SeekEnd:
		offset += b.size
	case io.SeekStart:
	default:
		return 0, errors.New("crime body: bad whence")
	}
	if offset < 0 || offset > b.size {
		return 0, fmt.Errorf("crime body: seek to %d outside [0, %d]", offset, b.size)
	}
	if offset == b.size {
		// At the end nothing more is read: no need to format up to it.
		b.buf, b.off, b.pos, b.eof = b.buf[:0], 0, b.size, true
		return offset, nil
	}
	if offset < b.pos {
		b.rewind()
	}
	if _, err := io.CopyN(io.Discard, onlyReader{b}, offset-b.pos); err != nil {
		return 0, fmt.Errorf("crime body: seek: %w", err)
	}
	return offset, nil
}

// onlyReader hides Body's other methods from io.CopyN.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }
