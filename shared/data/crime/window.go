package crime

import (
	"fmt"
	"io"
)

// window is a sliding read buffer: buf[start:end] is read but not consumed.
// Parsers work on the window and, when a record runs past its end, call more
// and parse the record again from start.
type window struct {
	r          io.Reader
	buf        []byte
	start, end int
	eof        bool
	err        error // read error other than io.EOF
}

// Sizes of the window and of the least read; tests make them tiny so that
// records are cut at every possible place.
var (
	windowSize = 1 << 20
	minRead    = 64 << 10
)

func newWindow(r io.Reader) *window { return reuseWindow(r, nil) }

// reuseWindow is newWindow over buf, a previous window's buffer, when it is
// big enough: a reader of several sources holds one buffer, not one each.
func reuseWindow(r io.Reader, buf []byte) *window {
	if len(buf) < windowSize {
		buf = make([]byte, windowSize)
	}
	return &window{r: r, buf: buf}
}

// more moves the unconsumed bytes to the front, grows the buffer when they
// fill it, and reads more. It returns true if the window changed in any way
// (so positions into buf are stale and parsing must restart), false when
// nothing changed because no more bytes will come.
func (w *window) more() bool {
	if w.eof || w.err != nil {
		return false
	}
	changed := false
	if w.start > 0 {
		w.end = copy(w.buf, w.buf[w.start:w.end])
		w.start = 0
		changed = true
	}
	if w.end == len(w.buf) {
		nb := make([]byte, 2*len(w.buf))
		copy(nb, w.buf[:w.end])
		w.buf = nb
		changed = true
	}
	// Read at least minRead (or to the end) before parsing again: a reader
	// that hands out small pieces must not make a long record be re-parsed
	// once per piece.
	want := min(w.end+minRead, len(w.buf))
	for empty := 0; empty < 100; {
		n, err := w.r.Read(w.buf[w.end:])
		w.end += n
		changed = changed || n > 0
		switch {
		case err == io.EOF:
			w.eof = true
			return changed
		case err != nil:
			w.err = fmt.Errorf("read: %w", err)
			return changed
		case w.end >= want:
			return true
		case n == 0:
			empty++
		}
	}
	w.err = fmt.Errorf("read: %w", io.ErrNoProgress)
	return changed
}
