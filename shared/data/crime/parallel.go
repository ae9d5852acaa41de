package crime

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/arrestcast/arrestcast/shared/data/table"
)

// The records after a header are parsed in pieces on every core: one
// goroutine reads (and gunzips) the input and cuts it into pieces at what
// should be record boundaries, workers parse the pieces into builders of
// their own, and the caller appends the pieces' columns in input order,
// renumbering categorical codes so the dictionaries come out in the order
// a sequential read meets the strings. The result is the sequential
// parser's, value for value, code for code, reject for reject.
//
// A cut is placed after a line end preceded by an even number of quotes
// since the last cut: outside any quoted field when the quoting is well
// formed. A piece whose parse does not end with a record's line end exactly
// at its last byte (an unterminated quote: the cut was inside a field, or
// the quoting is malformed) is parsed again joined to the next piece, until
// it does or the input ends; the later piece's own parse, which started at
// a wrong place, is dropped. Every piece then starts where the sequential
// parser starts a record, and within a piece that ends in a line end the
// parser decides exactly as it would on the whole input.

// pieceSize is the bytes of input per piece; tests make it tiny.
var pieceSize = 128 << 10

// sequential makes the readers parse on the calling goroutine alone (tests
// compare both ways).
var sequential = false

// scanAll reads the records after the header into b, in pieces unless
// sequential.
func scanAll(ctx context.Context, s *scanner, b *rowBuilder, target []*colBuilder, what string) ([]Reject, error) {
	if sequential {
		return scanRecords(ctx, s, b, target, what)
	}
	return scanParallel(ctx, s, b, target, what)
}

// piece is one cut of the input and, once done is closed, its parse.
type piece struct {
	data []byte
	last bool  // the input ends with it
	err  error // a read error after the pieces before it (no data)
	done chan struct{}

	b       *rowBuilder
	rejects []Reject // lines counted from 1 at the piece's start
	lines   int      // lines the piece spans
	clean   bool     // the last record's line end is the piece's last byte
	perr    error
}

// scanParallel is scanRecords over the rest of s's input, in pieces.
// target[i] is the builder in b of input field i (nil: ignored).
func scanParallel(ctx context.Context, s *scanner, b *rowBuilder, target []*colBuilder, what string) ([]Reject, error) {
	idx := make([]int, len(target)) // builder index in b of each field, -1 if ignored
	for i, c := range target {
		idx[i] = -1
		for j, bc := range b.cols {
			if bc == c {
				idx[i] = j
			}
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := max(1, runtime.GOMAXPROCS(0))
	order := make(chan *piece, workers)
	work := make(chan *piece, workers)
	// Builders and buffers go round: a piece's garbage would otherwise let
	// the heap grow to twice the table before the collector runs.
	// b keeps them for its next source (merge reads twelve).
	if b.pool == nil {
		b.pool = &pools{builders: make(chan *rowBuilder, 2*workers+4), bufs: make(chan []byte, 2*workers+4)}
	}
	pool := b.pool
	var wg sync.WaitGroup
	wg.Go(func() { cut(ctx, s.w, order, work, pool) })
	for range workers {
		wg.Go(func() {
			for p := range work {
				p.parse(ctx, b, idx, what, pool)
				close(p.done)
			}
		})
	}
	defer func() {
		cancel()
		for range order { // let the reader see the cancel and close
		}
		wg.Wait()
	}()

	var rejects []Reject
	line := s.line
	for p := range order {
		if p.err != nil {
			return nil, fmt.Errorf("%s: %w", what, p.err)
		}
		select {
		case <-p.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: %w", what, ctx.Err())
		}
		for !p.clean && !p.last && p.perr == nil {
			// The cut was not at a record boundary: parse this piece again
			// joined to the next one.
			q, ok := <-order
			if !ok {
				return nil, fmt.Errorf("%s: %w", what, context.Cause(ctx))
			}
			if q.err != nil {
				return nil, fmt.Errorf("%s: %w", what, q.err)
			}
			j := &piece{data: append(append(make([]byte, 0, len(p.data)+len(q.data)), p.data...), q.data...), last: q.last}
			j.parse(ctx, b, idx, what, pool)
			pool.put(p)
			p = j
		}
		if p.perr != nil {
			return nil, p.perr
		}
		for _, r := range p.rejects {
			r.Line += line - 1
			rejects = append(rejects, r)
		}
		line += p.lines
		for j, c := range b.cols {
			c.appendPart(p.b.cols[j])
		}
		pool.put(p)
		if p.last {
			break
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	s.line = line
	return rejects, nil
}

// cut reads w to its end, sending pieces to order and to work in the same
// order; it closes both when done or when ctx is.
func cut(ctx context.Context, w *window, order, work chan<- *piece, pool *pools) {
	defer close(order)
	defer close(work)
	send := func(p *piece) bool {
		select {
		case order <- p:
		case <-ctx.Done():
			return false
		}
		if p.data == nil && p.err != nil {
			return false
		}
		select {
		case work <- p:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		for w.end-w.start < pieceSize && w.more() {
		}
		var data []byte
		at := 0
		for w.err == nil {
			data = w.buf[w.start:w.end]
			if w.eof && len(data) <= pieceSize {
				at = len(data)
				break
			}
			if at = boundary(data[:min(len(data), pieceSize)]); at > 0 {
				break
			}
			if at = boundary(data); at > 0 {
				break
			}
			if w.eof {
				at = len(data)
				break
			}
			w.more() // no boundary yet: read on (the window grows when full)
		}
		if w.err != nil {
			send(&piece{err: w.err})
			return
		}
		last := w.eof && at == len(data)
		p := &piece{data: append(pool.buf(), data[:at]...), last: last, done: make(chan struct{})}
		w.start += at
		if !send(p) || last {
			return
		}
	}
}

// boundary returns the end of data's last line (after its '\n') that has an
// even number of quotes before it, 0 if none.
func boundary(data []byte) int {
	odd := bytes.Count(data, []byte{'"'})%2 == 1
	hi := len(data)
	for {
		i := bytes.LastIndexByte(data[:hi], '\n')
		if i < 0 {
			return 0
		}
		if bytes.Count(data[i+1:hi], []byte{'"'})%2 == 1 {
			odd = !odd
		}
		if !odd {
			return i + 1
		}
		hi = i
	}
}

// parse parses p's records into builders made like proto's; idx maps
// input fields to them.
func (p *piece) parse(ctx context.Context, proto *rowBuilder, idx []int, what string, pool *pools) {
	b := pool.builder(proto)
	target := make([]*colBuilder, len(idx))
	for i, j := range idx {
		if j >= 0 {
			target[i] = b.cols[j]
		}
	}
	b.grow(bytes.Count(p.data, nl) + 1)
	s := &scanner{w: &window{buf: p.data, end: len(p.data), eof: true}, line: 1}
	p.rejects, p.perr = scanRecords(ctx, s, b, target, what)
	p.b, p.lines, p.clean = b, s.line-1, s.lineEnd
}

// pools holds piece builders and buffers for reuse.
type pools struct {
	builders chan *rowBuilder
	bufs     chan []byte
}

// builder returns an empty builder made like proto.
func (o *pools) builder(proto *rowBuilder) *rowBuilder {
	select {
	case b := <-o.builders:
		return b
	default:
	}
	b := &rowBuilder{cols: make([]*colBuilder, len(proto.cols))}
	for j, c := range proto.cols {
		b.cols[j] = newColBuilder(c.name, c.kind)
	}
	return b
}

// buf returns an empty buffer.
func (o *pools) buf() []byte {
	select {
	case b := <-o.bufs:
		return b[:0]
	default:
		return nil
	}
}

// put takes back a merged piece's builder and buffer.
func (o *pools) put(p *piece) {
	if p.b != nil {
		for _, c := range p.b.cols {
			c.reset()
		}
		select {
		case o.builders <- p.b:
		default:
		}
	}
	select {
	case o.bufs <- p.data:
	default:
	}
	p.b, p.data = nil, nil
}

// appendPart appends the rows of p, a builder of the same column parsed
// from a later part of the input.
func (c *colBuilder) appendPart(p *colBuilder) {
	switch c.kind {
	case table.Numeric:
		c.nums = extend(c.nums, p.nums)
	case table.Time:
		c.times = extend(c.times, p.times)
	case table.Bool:
		c.bools = extend(c.bools, p.bools)
	case table.Categorical:
		if n := c.cat.Len() + p.cat.Len(); n > c.catCap {
			c.catCap = max(2*c.catCap, n, 1024)
			c.cat.Grow(c.catCap - c.cat.Len())
		}
		c.cat.AddFrom(p.cat)
	case table.Text:
		// Copied into c's own chunks: p's are reused for the next piece.
		for _, v := range p.strs {
			if v != "" {
				v = c.keep(unsafe.Slice(unsafe.StringData(v), len(v)))
			}
			c.strs = push(c.strs, v)
		}
	case inferKind:
		base := len(c.raw)
		c.raw = append(c.raw, p.raw...)
		for _, e := range p.ends {
			c.ends = push(c.ends, base+e)
		}
		if c.numeric && p.numeric {
			c.nums = extend(c.nums, p.nums)
		} else {
			c.numeric, c.nums = false, nil
		}
	}
}

// reset empties c for the next piece, keeping its memory.
func (c *colBuilder) reset() {
	c.nums, c.times, c.bools, c.strs = c.nums[:0], c.times[:0], c.bools[:0], c.strs[:0]
	c.chunk, c.raw, c.ends = c.chunk[:0], c.raw[:0], c.ends[:0]
	c.numeric, c.has = true, false
	if c.cat != nil {
		c.cat.Reset(Vocab[c.name]...)
		c.catCap = 0
	}
}

// extend appends add to s, doubling the capacity when it must grow (as push).
func extend[T any](s, add []T) []T {
	if len(s)+len(add) > cap(s) {
		n := make([]T, len(s), max(2*cap(s), len(s)+len(add), 1024))
		copy(n, s)
		s = n
	}
	return append(s, add...)
}
