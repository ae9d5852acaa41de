package crime

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/bits"
)

// scanner splits CSV (RFC 4180: comma, double-quote quoting with "" inside,
// CRLF or LF) into records without copying: fields point into the read
// buffer and stay valid until the next call to next. A quoted field may hold
// commas, quotes and newlines. Empty lines are skipped.
type scanner struct {
	w       *window
	line    int // line number where the next record starts
	fields  [][]byte
	scratch []byte // unescaped quoted fields with "" inside

	raw     []byte // the record as in the input, without its line end
	recLine int    // line number where the record starts
	bad     string // non-empty: the record is malformed (quoting)
	lineEnd bool   // the record ended with a line end (not the input's end)
}

func newScanner(r io.Reader) *scanner { return reuseScanner(r, nil) }

// reuseScanner is newScanner reading through buf (see reuseWindow).
func reuseScanner(r io.Reader, buf []byte) *scanner {
	return &scanner{w: reuseWindow(r, buf), line: 1}
}

// skipBOM drops a UTF-8 byte order mark at the very start of the input.
func (s *scanner) skipBOM() {
	for s.w.end-s.w.start < 3 && s.w.more() {
	}
	if bytes.HasPrefix(s.w.buf[s.w.start:s.w.end], []byte("\xEF\xBB\xBF")) {
		s.w.start += 3
	}
}

// next reads the next record into fields/raw/recLine/bad. It returns false
// at the end of the input or on a read error (s.w.err).
func (s *scanner) next() bool {
	for {
		ok, done := s.parse()
		if done {
			return ok
		}
		if ok && len(s.raw) == 0 && len(s.fields) == 1 && s.bad == "" {
			continue // empty line
		}
		return ok
	}
}

// parse tries to parse one record at s.w.start, reading more input when the
// record is cut by the end of the window. done reports the end of input.
func (s *scanner) parse() (ok, done bool) {
restart:
	w := s.w
	buf, p, end := w.buf, w.start, w.end
	if p >= end {
		if w.more() {
			goto restart
		}
		return false, true
	}
	s.fields = s.fields[:0]
	s.scratch = s.scratch[:0]
	s.bad = ""
	newlines := 0
	for {
		if p < end && buf[p] == '"' {
			// Quoted field: find the closing quote, unescaping "" if any.
			q, from := p+1, p+1
			escaped, sfrom := false, 0
			for {
				k := bytes.IndexByte(buf[q:end], '"')
				if k < 0 {
					if w.more() {
						goto restart
					}
					// Unterminated: the record is the rest of the input.
					s.finishBad(end, end, newlines+bytes.Count(buf[p:end], nl), "unterminated quoted field")
					w.start = end
					return true, false
				}
				k += q
				if k+1 == end && w.more() {
					goto restart // cannot tell "" from a closing quote yet
				}
				if k+1 < end && buf[k+1] == '"' {
					if !escaped {
						escaped = true
						sfrom = len(s.scratch)
					}
					// Appending never changes bytes earlier fields point at.
					s.scratch = append(s.scratch, buf[from:k+1]...)
					q, from = k+2, k+2
					continue
				}
				var f []byte
				if escaped {
					s.scratch = append(s.scratch, buf[from:k]...)
					f = s.scratch[sfrom:]
				} else {
					f = buf[p+1 : k]
				}
				newlines += bytes.Count(buf[p+1:k], nl)
				s.fields = append(s.fields, f)
				p = k + 1
				break
			}
			// After the closing quote: a comma, a line end, or the end of input.
			switch {
			case p == end && w.more():
				goto restart
			case p == end:
				return s.finish(p, p, newlines), false
			case buf[p] == ',':
				p++
				if p == end && w.more() {
					goto restart
				}
				if p == end {
					s.fields = append(s.fields, nil)
					return s.finish(p, p, newlines), false
				}
				continue
			case buf[p] == '\n':
				return s.finish(p, p+1, newlines), false
			case buf[p] == '\r' && p+1 < end && buf[p+1] == '\n':
				return s.finish(p, p+2, newlines), false
			case buf[p] == '\r' && p+1 == end && w.more():
				goto restart
			}
			// Text after a closing quote: malformed; the record ends at the line end.
			k := bytes.IndexByte(buf[p:end], '\n')
			if k < 0 && w.more() {
				goto restart
			}
			stop := end
			if k >= 0 {
				stop = p + k
			}
			s.finishBad(stop, min(stop+1, end), newlines, "text after closing quote")
			return true, false
		}
		// Unquoted field: up to the next comma or line end.
		k := delimiter(buf, p, end)
		if k == end {
			if w.more() {
				goto restart
			}
			s.fields = append(s.fields, buf[p:k])
			return s.finish(k, k, newlines), false
		}
		if buf[k] == '\n' {
			f := buf[p:k]
			if len(f) > 0 && f[len(f)-1] == '\r' {
				f = f[:len(f)-1]
			}
			s.fields = append(s.fields, f)
			return s.finish(k, k+1, newlines), false
		}
		s.fields = append(s.fields, buf[p:k])
		p = k + 1
		if p == end && w.more() {
			goto restart
		}
		if p == end { // trailing comma at the end of input
			s.fields = append(s.fields, nil)
			return s.finish(p, p, newlines), false
		}
	}
}

var nl = []byte{'\n'}

// delimiter returns the index of the first ',' or '\n' in buf[k:end], or
// end. It tests 8 bytes at a time: a byte b of word v is a match when
// v^(b repeated) has a zero byte there. The zero-byte trick may flag bytes
// above the first real zero (borrows), never below, so the lowest flag is
// exact.
func delimiter(buf []byte, k, end int) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	for ; k+8 <= end; k += 8 {
		v := binary.LittleEndian.Uint64(buf[k:])
		c := v ^ (',' * lo)
		n := v ^ ('\n' * lo)
		if m := ((c-lo)&^c | (n-lo)&^n) & hi; m != 0 {
			return k + bits.TrailingZeros64(m)/8
		}
	}
	for k < end && buf[k] != ',' && buf[k] != '\n' {
		k++
	}
	return k
}

// finish ends a record whose content stops at stop and whose line end (if
// any) ends at next.
func (s *scanner) finish(stop, next, newlines int) bool {
	w := s.w
	s.raw = w.buf[w.start:stop]
	if len(s.raw) > 0 && s.raw[len(s.raw)-1] == '\r' && next > stop {
		s.raw = s.raw[:len(s.raw)-1]
	}
	s.recLine = s.line
	s.lineEnd = next > stop
	s.line += newlines
	if next > stop {
		s.line++
	}
	w.start = next
	return true
}

func (s *scanner) finishBad(stop, next, newlines int, reason string) {
	s.finish(stop, next, newlines)
	s.bad = reason
}
