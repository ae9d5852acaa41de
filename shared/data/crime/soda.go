package crime

import (
	"context"
	"fmt"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// ReadSODA reads one page of the portal API's JSON (SODA 2.x): an array of
// flat objects with the snake_case names of Columns. Values are JSON strings
// (zero padding kept), arrest/domestic JSON booleans, dates like
// "2017-01-01T00:01:00.000"; an absent field, null or "" is missing. Nested
// values (location) and unknown fields (year, :@computed_region_*) are
// ignored. The table has the same columns and kinds as ReadPortalCSV's, and
// the same crime yields the same row. Objects with a bad value are returned
// as rejects (Line is the object's position); malformed JSON is an error.
// The input is streamed.
func ReadSODA(ctx context.Context, r io.Reader) (*ReadResult, error) {
	d := &sodaDecoder{w: newWindow(r), b: &rowBuilder{}, index: map[string]int{}}
	for i, name := range Columns {
		d.b.cols = append(d.b.cols, newColBuilder(name, Kinds[name]))
		d.index[name] = i
	}
	res, err := d.run(ctx)
	if err != nil {
		return nil, fmt.Errorf("read soda json: %w", err)
	}
	return res, nil
}

// Parser results below zero: the input ended inside the value (read more and
// parse the object again), or the JSON is malformed.
const (
	needMore = -1
	badJSON  = -2
)

type sodaDecoder struct {
	w     *window
	b     *rowBuilder
	index map[string]int
	arena []byte // unescaped strings of the current object
	why   string // what was malformed
}

func (d *sodaDecoder) run(ctx context.Context) (*ReadResult, error) {
	var rejects []Reject
	w := d.w
	// The opening bracket, after an optional BOM and white space.
	for {
		p := d.ws(w.start)
		if p+3 <= w.end && string(w.buf[p:p+3]) == "\xEF\xBB\xBF" {
			w.start = p + 3
			continue
		}
		if p < w.end {
			if w.buf[p] != '[' {
				return nil, fmt.Errorf("offset 0: want a JSON array, found %q", w.buf[p])
			}
			w.start = p + 1
			break
		}
		if !w.more() {
			return nil, d.endErr("want a JSON array")
		}
	}
	afterObject := false // an object was read: a comma or the end must follow
	for n := 1; ; {
		p := d.ws(w.start)
		if p == w.end {
			if !w.more() {
				return nil, d.endErr("unterminated array")
			}
			continue
		}
		switch c := w.buf[p]; {
		case c == ']' && (afterObject || n == 1):
			return d.finish(p+1, rejects)
		case c == ',' && afterObject:
			w.start = p + 1
			afterObject = false
			continue
		case c != '{' || afterObject:
			return nil, fmt.Errorf("at object %d: unexpected %q", n, c)
		}
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		w.start = p
		next, reason := d.object(p)
		switch next {
		case needMore:
			d.b.discard()
			if !w.more() {
				return nil, d.endErr(fmt.Sprintf("object %d unterminated", n))
			}
			continue // parse the object again with more input
		case badJSON:
			return nil, fmt.Errorf("object %d: malformed JSON: %s", n, d.why)
		}
		if reason != "" {
			d.b.discard()
			rejects = append(rejects, Reject{Line: n, Reason: reason, Raw: string(w.buf[p:next])})
		} else {
			d.b.commit()
		}
		w.start = next
		n++
		afterObject = true
	}
}

func (d *sodaDecoder) endErr(what string) error {
	if d.w.err != nil {
		return d.w.err
	}
	return fmt.Errorf("unexpected end of input: %s", what)
}

// finish checks nothing but white space follows the array.
func (d *sodaDecoder) finish(p int, rejects []Reject) (*ReadResult, error) {
	w := d.w
	w.start = p
	for {
		if p = d.ws(w.start); p < w.end {
			return nil, fmt.Errorf("data after the JSON array: %q", w.buf[p])
		}
		w.start = p
		if !w.more() {
			break
		}
	}
	if w.err != nil {
		return nil, w.err
	}
	t, err := d.b.table()
	if err != nil {
		return nil, err
	}
	return &ReadResult{Table: t, Rejects: rejects}, nil
}

func (d *sodaDecoder) ws(p int) int {
	for p < d.w.end {
		switch d.w.buf[p] {
		case ' ', '\t', '\n', '\r':
			p++
		default:
			return p
		}
	}
	return p
}

// object parses the object at p and stages its known fields. It returns the
// position after it (or needMore/badJSON) and, when a value does not fit its
// column, the reason to reject the object.
func (d *sodaDecoder) object(p int) (next int, reason string) {
	buf, end := d.w.buf, d.w.end
	d.arena = d.arena[:0]
	p = d.ws(p + 1)
	if p < end && buf[p] == '}' {
		return p + 1, ""
	}
	for {
		if p >= end {
			return needMore, ""
		}
		if buf[p] != '"' {
			d.why = fmt.Sprintf("want a field name, found %q", buf[p])
			return badJSON, ""
		}
		key, q := d.str(p)
		if q < 0 {
			return q, ""
		}
		p = d.ws(q)
		if p >= end {
			return needMore, ""
		}
		if buf[p] != ':' {
			d.why = fmt.Sprintf("want : after field name %q, found %q", key, buf[p])
			return badJSON, ""
		}
		p = d.ws(p + 1)
		if p >= end {
			return needMore, ""
		}
		col := -1
		if j, ok := d.index[string(key)]; ok {
			col = j
		}
		var why string
		if p, why = d.value(p, col); p < 0 {
			return p, ""
		}
		if why != "" && reason == "" {
			reason = why
		}
		p = d.ws(p)
		if p >= end {
			return needMore, ""
		}
		switch buf[p] {
		case ',':
			p = d.ws(p + 1)
		case '}':
			return p + 1, reason
		default:
			d.why = fmt.Sprintf("want , or } after field %q, found %q", key, buf[p])
			return badJSON, ""
		}
	}
}

// value parses the value at p; if col >= 0 it stages it into that column.
func (d *sodaDecoder) value(p, col int) (next int, reason string) {
	buf, end := d.w.buf, d.w.end
	var c *colBuilder
	if col >= 0 {
		c = d.b.cols[col]
	}
	switch ch := buf[p]; {
	case ch == '"':
		s, q := d.str(p)
		if q >= 0 && c != nil {
			if err := c.stage(s); err != nil {
				return q, err.Error()
			}
		}
		return q, ""
	case ch == 't' || ch == 'f' || ch == 'n':
		lit := "null"
		if ch == 't' {
			lit = "true"
		} else if ch == 'f' {
			lit = "false"
		}
		if p+len(lit) > end {
			return needMore, ""
		}
		if string(buf[p:p+len(lit)]) != lit {
			d.why = fmt.Sprintf("bad literal at %q", buf[p:p+len(lit)])
			return badJSON, ""
		}
		if c != nil {
			if ch == 'n' {
				c.has = false
			} else if err := c.stageBool(ch == 't'); err != nil {
				return p + len(lit), err.Error()
			}
		}
		return p + len(lit), ""
	case ch == '-' || (ch >= '0' && ch <= '9'):
		q := p
		for q < end && isNumberByte(buf[q]) {
			q++
		}
		if q == end {
			return needMore, ""
		}
		if c != nil {
			if err := c.stage(buf[p:q]); err != nil {
				return q, err.Error()
			}
		}
		return q, ""
	case ch == '{' || ch == '[':
		q := d.skipNested(p)
		if q >= 0 && c != nil {
			return q, fmt.Sprintf("bad value in column %q: JSON %s", c.name, map[byte]string{'{': "object", '[': "array"}[ch])
		}
		return q, ""
	}
	d.why = fmt.Sprintf("unexpected %q", buf[p])
	return badJSON, ""
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// skipNested skips a nested object or array (ignored fields like location).
func (d *sodaDecoder) skipNested(p int) int {
	buf, end := d.w.buf, d.w.end
	depth := 0
	for p < end {
		switch buf[p] {
		case '"':
			_, q := d.str(p)
			if q < 0 {
				return q
			}
			p = q
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return p + 1
			}
		}
		p++
	}
	return needMore
}

// str parses the string at p (an opening quote). Without escapes the result
// points into the read buffer, else into the arena.
func (d *sodaDecoder) str(p int) ([]byte, int) {
	buf, end := d.w.buf, d.w.end
	q := p + 1
	for q < end && buf[q] != '"' && buf[q] != '\\' {
		q++
	}
	if q >= end {
		return nil, needMore
	}
	if buf[q] == '"' {
		return buf[p+1 : q], q + 1
	}
	start := len(d.arena)
	d.arena = append(d.arena, buf[p+1:q]...)
	for q < end {
		ch := buf[q]
		switch {
		case ch == '"':
			return d.arena[start:], q + 1
		case ch != '\\':
			d.arena = append(d.arena, ch)
			q++
			continue
		}
		if q+1 >= end {
			return nil, needMore
		}
		switch e := buf[q+1]; e {
		case '"', '\\', '/':
			d.arena = append(d.arena, e)
		case 'b':
			d.arena = append(d.arena, '\b')
		case 'f':
			d.arena = append(d.arena, '\f')
		case 'n':
			d.arena = append(d.arena, '\n')
		case 'r':
			d.arena = append(d.arena, '\r')
		case 't':
			d.arena = append(d.arena, '\t')
		case 'u':
			r, n := d.unicode(q)
			if n < 0 {
				return nil, n
			}
			d.arena = utf8.AppendRune(d.arena, r)
			q += n
			continue
		default:
			d.why = fmt.Sprintf("bad escape \\%c", e)
			return nil, badJSON
		}
		q += 2
	}
	return nil, needMore
}

// unicode decodes \uXXXX (and a following low surrogate) at q; it returns
// the rune and the bytes used.
func (d *sodaDecoder) unicode(q int) (rune, int) {
	buf, end := d.w.buf, d.w.end
	if q+6 > end {
		return 0, needMore
	}
	r, ok := hex4(buf[q+2 : q+6])
	if !ok {
		d.why = fmt.Sprintf("bad escape %q", buf[q:q+6])
		return 0, badJSON
	}
	if !utf16.IsSurrogate(r) {
		return r, 6
	}
	if q+7 > end {
		return 0, needMore
	}
	if buf[q+6] != '\\' {
		return utf8.RuneError, 6 // lone surrogate
	}
	if q+12 > end {
		return 0, needMore
	}
	if buf[q+7] == 'u' {
		if r2, ok := hex4(buf[q+8 : q+12]); ok {
			if c := utf16.DecodeRune(r, r2); c != utf8.RuneError {
				return c, 12
			}
		}
	}
	return utf8.RuneError, 6
}

func hex4(b []byte) (rune, bool) {
	var r rune
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c|0x20 >= 'a' && c|0x20 <= 'f':
			c = c | 0x20 - 'a' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
