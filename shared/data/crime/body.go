package crime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"

	"github.com/arrestcast/arrestcast/shared/data/table"
)

// Body is a table's CSV (WriteCSV's bytes) as a reader that knows its length
// and can rewind. Object stores want the length before the first byte and
// replay the body when a request is retried; formatting on demand keeps a
// few blocks of rows in memory instead of the whole file, which matters
// twice: a year of crimes is ~60 MB of text, and fresh memory is what costs
// most in a short-lived function (every new page is a fault).
//
// Rows are formatted in blocks on every core, the next batch of blocks
// while the current one is read, so the upload is not held to one core's
// formatting speed.
//
// The length is measured first (only numbers are formatted for it), so the
// table must not change while the Body is in use.
type Body struct {
	ctx  context.Context
	t    *table.Table
	prep *prepared
	size int64

	blockRows int
	cur, next *batch // being read; being formatted (nil: none)
	k         int    // next block of cur to read
	buf       []byte // the block being read, from off on not yet read
	off       int
	pos       int64 // bytes read since the start
}

// batch is blocks of consecutive rows formatted concurrently; done is
// closed when all are. Its goroutines always finish on their own (no
// channel waits on the reader), so an abandoned Body leaks nothing.
type batch struct {
	bufs [][]byte
	errs []error
	end  int // the row after the batch's last
	done chan struct{}
}

// NewBody measures t's CSV and returns it as a Body; it fails as WriteCSV
// would (a value that cannot be written, or ctx done).
func NewBody(ctx context.Context, t *table.Table) (*Body, error) {
	prep := prepare(t)
	n, err := csvLength(ctx, t, prep)
	if err != nil {
		return nil, err
	}
	// Blocks of about 256 KiB, so a batch is a few of them.
	b := &Body{ctx: ctx, t: t, prep: prep, size: n, blockRows: perRowBlock(float64(n) / float64(max(t.Len(), 1)))}
	b.rewind()
	return b, nil
}

// NewStream returns t's CSV as a plain reader of unknown length, formatted
// once as it is read (Body's blocks, on every core), for a store that takes
// a body of unknown length: Dir writes it as it comes, MinIO spools it to a
// file it can also replay on a retry. Measuring first formats every number
// twice, the largest cost of writing the ML-ready sets. A value that cannot
// be written fails the read.
func NewStream(ctx context.Context, t *table.Table) io.Reader {
	prep := prepare(t)
	b := &Body{ctx: ctx, t: t, prep: prep, size: -1, blockRows: blockRowsFor(ctx, t, prep)}
	b.rewind()
	return onlyReader{b}
}

// Upload returns t's CSV for a store, and its length (-1: unknown). A store
// that takes a body of unknown length (lengthFirst false) gets NewStream.
// One that needs the length first (S3) spools a body of unknown length to
// a file before sending it, so t is measured first when that is cheap —
// the upload then overlaps the formatting — and streamed to the spool when
// measuring would format most of it again: when, in its first rows, most
// bytes are non-integer numbers (the ML-ready sets).
func Upload(ctx context.Context, t *table.Table, lengthFirst bool) (io.Reader, int64, error) {
	if lengthFirst && decimalShare(t) < 0.5 {
		b, err := NewBody(ctx, t)
		if err != nil {
			return nil, 0, err
		}
		return b, b.Size(), nil
	}
	return NewStream(ctx, t), -1, nil
}

// decimalShare is the share of the CSV bytes of t's first rows that are
// non-integer numbers, the values measuring formats.
func decimalShare(t *table.Table) float64 {
	var dec, all int
	var buf []byte
	cols := t.Columns()
	for i := range min(1024, t.Len()) {
		for _, c := range cols {
			buf, _ = appendValue(buf[:0], c, i)
			all += len(buf) + 1
			if c.Kind == table.Numeric && c.Nums[i] != math.Trunc(c.Nums[i]) {
				dec += len(buf)
			}
		}
	}
	return float64(dec) / float64(max(all, 1))
}

// blockRowsFor is how many of t's rows make about blockBytes of CSV,
// judged by the first rows.
func blockRowsFor(ctx context.Context, t *table.Table, prep *prepared) int {
	const sample = 1024
	f := newFormatter(t, prep)
	f.row, f.end = 0, min(sample, t.Len())
	n, err := f.measure(ctx)
	if err != nil || f.end == 0 {
		return 1 << 10
	}
	return perRowBlock(float64(n) / float64(f.end))
}

func perRowBlock(perRow float64) int {
	return max(64, int(math.Min(blockBytes/max(perRow, 1), 1<<20)))
}

// csvLength measures t's CSV on up to GOMAXPROCS goroutines over ranges of
// rows (nothing else runs before the upload starts).
func csvLength(ctx context.Context, t *table.Table, prep *prepared) (int64, error) {
	header := newFormatter(t, prep)
	header.end = 0
	total, err := header.measure(ctx)
	if err != nil {
		return 0, err
	}
	n := t.Len()
	parts := min(runtime.GOMAXPROCS(0), 4, max(1, n/20_000))
	sizes := make([]int64, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for p := range parts {
		wg.Go(func() {
			f := newFormatter(t, prep)
			f.row, f.end = n*p/parts, n*(p+1)/parts
			sizes[p], errs[p] = f.measure(ctx)
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

// rewind starts over: the header now, the first batch in the background.
func (b *Body) rewind() {
	header := newFormatter(b.t, b.prep)
	header.end = 0
	b.buf, _ = header.fill(b.ctx, nil) // the header cannot fail
	b.off, b.pos, b.k = 0, 0, 0
	b.cur, b.next = nil, b.start(0)
}

// start formats the batch of rows from lo on in the background; nil when
// lo is past the last row.
func (b *Body) start(lo int) *batch {
	n := b.t.Len()
	if lo >= n {
		return nil
	}
	// Every block is set up before any goroutine starts: they index bt's
	// slices, which must not move under them.
	k := min(max(1, runtime.GOMAXPROCS(0)), (n-lo+b.blockRows-1)/b.blockRows)
	bt := &batch{bufs: make([][]byte, k), errs: make([]error, k), done: make(chan struct{})}
	for i := range bt.bufs {
		bt.bufs[i] = getBlock()
	}
	var wg sync.WaitGroup
	for i := range k {
		from, hi := lo, min(lo+b.blockRows, n)
		wg.Go(func() {
			f := newFormatter(b.t, b.prep)
			f.row, f.end = from, hi
			bt.bufs[i], bt.errs[i] = f.fillTo(b.ctx, bt.bufs[i], math.MaxInt)
		})
		lo = hi
	}
	bt.end = lo
	go func() {
		wg.Wait()
		close(bt.done)
	}()
	return bt
}

// blocks holds formatted blocks' buffers for reuse, by every Body: a step
// uploads several tables, and fresh memory is what costs (see Body).
var blocks sync.Pool

func getBlock() []byte {
	if p, ok := blocks.Get().(*[]byte); ok {
		return (*p)[:0]
	}
	return make([]byte, 0, blockBytes+blockBytes/4)
}

func putBlock(b []byte) { blocks.Put(&b) }

// blockBytes is about how many bytes of CSV a block holds.
const blockBytes = 256 << 10

// Read implements io.Reader.
func (b *Body) Read(p []byte) (int, error) {
	for b.off == len(b.buf) {
		if b.cur == nil || b.k == len(b.cur.bufs) {
			if b.next == nil {
				return 0, io.EOF
			}
			if b.cur != nil {
				for _, buf := range b.cur.bufs {
					putBlock(buf)
				}
			}
			b.cur, b.k = b.next, 0
			select {
			case <-b.cur.done:
			case <-b.ctx.Done():
				return 0, fmt.Errorf("write csv: %w", b.ctx.Err())
			}
			for _, err := range b.cur.errs {
				if err != nil && err != io.EOF {
					return 0, err
				}
			}
			b.next = b.start(b.cur.end)
		}
		b.buf, b.off = b.cur.bufs[b.k], 0
		b.k++
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
		b.buf, b.off, b.pos, b.cur, b.next = b.buf[:0], 0, b.size, nil, nil
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
