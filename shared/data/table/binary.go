package table

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"
	"sort"
	"unsafe"
)

// The binary format is how the pipeline hands a table from one step to the
// next inside a run (2-processed-data/…/*.tbl). CSV is kept wherever people
// or other tools read the data (raw, 12-month, enriched and ML-ready files);
// between two of our own steps it costs a float formatting and a parse per
// value for nothing, and those were most of a step's time.
//
// Layout, all integers little-endian:
//
//	magic    8 bytes  "ACTBL\x00\x00\x01"
//	hlen     uint32   length of the header
//	header   JSON     {"rows": n, "group_rows"?: g, "columns": [{"name", "kind", "dict"?}, …]}
//	columns  in header order, for all n rows or, with g, for each group of
//	         g rows in turn (a writer that makes its rows as it sends them
//	         holds one group, never the table):
//	           numeric      n × float64 (IEEE 754 bits; NaN is missing), or
//	                        with "enc":"i32" n × int32 (MinInt32 is NaN)
//	           categorical  n × int32 codes into the header's dict (-1 missing),
//	                        or with "enc":"u8"/"u16" n × uint8/uint16 codes + 1
//	                        (0 is missing)
//	           bool         n × int8 (0, 1, -1 missing)
//	           time         n × int64 wall-clock seconds (NoTime missing)
//	           text         n × uint32 byte lengths, then the bytes
//	crc      uint32   CRC-32C of everything before it
//
// Values come back bit for bit, dictionaries included (with their unused
// entries), so a table read back is Equal to the one written and codes keep
// their meaning across steps. NewBinaryBody writes a column narrower where
// that loses nothing — codes of a dictionary of up to 255 or 65,535 entries
// in one or two bytes, numbers that are all int32 integers (or NaN) in four
// — since every byte is hashed, sent and stored: the crimes' twins and the
// tables between split and encode shrink by a third to a half.
const binaryMagic = "ACTBL\x00\x00\x01"

// maxHeader bounds the JSON header a reader accepts.
const maxHeader = 64 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type binHeader struct {
	Rows int `json:"rows"`
	// GroupRows, when set and below Rows, cuts the rows into groups of that
	// many (the last shorter), each laid out as the columns section below.
	GroupRows int         `json:"group_rows,omitempty"`
	Columns   []binColumn `json:"columns"`
}

type binColumn struct {
	Name string   `json:"name"`
	Kind string   `json:"kind"`
	Dict []string `json:"dict,omitempty"`
	Enc  string   `json:"enc,omitempty"` // a narrower encoding ("": the kind's own)
}

// The narrower encodings, and the bytes a value takes in each.
const (
	encU8  = "u8"  // categorical: code+1 as uint8
	encU16 = "u16" // categorical: code+1 as uint16
	encI32 = "i32" // numeric: int32, MinInt32 for NaN
)

// encWidth is the bytes a value of kind k takes in encoding enc; 0 when
// enc is not one of k's.
func encWidth(k Kind, enc string) int {
	switch {
	case enc == "":
		return width(k)
	case k == Categorical && enc == encU8:
		return 1
	case k == Categorical && enc == encU16:
		return 2
	case k == Numeric && enc == encI32:
		return 4
	}
	return 0
}

// narrowest is the encoding NewBinaryBody writes c in.
func narrowest(c *Column) string {
	switch c.Kind {
	case Categorical:
		switch {
		case len(c.Dict) <= math.MaxUint8:
			return encU8
		case len(c.Dict) <= math.MaxUint16:
			return encU16
		}
	case Numeric:
		// Only values that come back bit for bit: the one NaN the reader
		// makes, and integers in int32's range but MinInt32 (NaN's mark)
		// and -0.
		nan := math.Float64bits(math.NaN())
		for _, v := range c.Nums {
			switch {
			case v != v:
				if math.Float64bits(v) != nan {
					return ""
				}
			case v != math.Trunc(v), v <= math.MinInt32, v > math.MaxInt32, v == 0 && math.Signbit(v):
				return ""
			}
		}
		return encI32
	}
	return ""
}

// packChunk is how many values of a narrow column are packed at a time.
const packChunk = 32 << 10

// pack appends the encoding enc of c's values [lo, hi) to dst.
func pack(dst []byte, c *Column, enc string, lo, hi int) []byte {
	switch enc {
	case encU8:
		for _, k := range c.Codes[lo:hi] {
			dst = append(dst, byte(k+1))
		}
	case encU16:
		for _, k := range c.Codes[lo:hi] {
			dst = binary.LittleEndian.AppendUint16(dst, uint16(k+1))
		}
	case encI32:
		for _, v := range c.Nums[lo:hi] {
			i := int32(math.MinInt32)
			if v == v {
				i = int32(v)
			}
			dst = binary.LittleEndian.AppendUint32(dst, uint32(i))
		}
	}
	return dst
}

// unpack reads c's values [lo, hi) in encoding enc from r, through buf.
func unpack(r io.Reader, c *Column, enc string, lo, hi int, buf []byte) ([]byte, error) {
	w := encWidth(c.Kind, enc)
	for lo < hi {
		m := min(hi-lo, packChunk)
		buf = slices.Grow(buf[:0], m*w)[:m*w]
		if _, err := io.ReadFull(r, buf); err != nil {
			return buf, err
		}
		switch enc {
		case encU8:
			for i, b := range buf {
				c.Codes[lo+i] = int32(b) - 1
			}
		case encU16:
			for i := range m {
				c.Codes[lo+i] = int32(binary.LittleEndian.Uint16(buf[2*i:])) - 1
			}
		case encI32:
			for i := range m {
				v := int32(binary.LittleEndian.Uint32(buf[4*i:]))
				if v == math.MinInt32 {
					c.Nums[lo+i] = math.NaN()
				} else {
					c.Nums[lo+i] = float64(v)
				}
			}
		}
		lo += m
	}
	return buf, nil
}

func kindOf(name string) (Kind, bool) {
	for k := Numeric; k <= Text; k++ {
		if k.String() == name {
			return k, true
		}
	}
	return 0, false
}

// BinaryBody is a table in the binary format as a reader of known size that
// can seek (object stores replay a body to retry a request). A body from
// NewBinaryBody reads column data straight from the table's slices (the
// table must not change while the body is in use); one from
// NewBinaryGroups makes its rows a group at a time as they are read. The
// checksum is computed as the bytes go out.
type BinaryBody struct {
	segs []segment
	size int64 // with the checksum
	pos  int64

	crc    uint32 // of the content before crcPos
	crcPos int64

	// NewBinaryGroups: the group being served and its table.
	fill      func(lo int, g *Table) error
	rows      int
	groupRows int
	group     int // -1: none made yet
	g         *Table

	// The packed segment in scratch (-1: none).
	inScratch int
	scratch   []byte
}

// segment is one run of the body: static bytes, column col of group group
// (made by fill), or values [lo, hi) of a narrow column, packed when read.
type segment struct {
	off    int64
	n      int64
	data   []byte
	group  int
	col    int
	static bool

	packed *Column
	enc    string
	lo, hi int
}

// header returns the magic, header length and JSON header of a table of
// these columns and rows.
func header(cols []*Column, encs []string, rows, groupRows int) ([]byte, error) {
	h := binHeader{Rows: rows, GroupRows: groupRows, Columns: make([]binColumn, len(cols))}
	for j, c := range cols {
		h.Columns[j] = binColumn{Name: c.Name, Kind: c.Kind.String()}
		if encs != nil {
			h.Columns[j].Enc = encs[j]
		}
		if c.Kind == Categorical {
			h.Columns[j].Dict = c.Dict
			if h.Columns[j].Dict == nil {
				h.Columns[j].Dict = []string{}
			}
		}
	}
	hb, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("binary table header: %w", err)
	}
	if len(hb) > maxHeader {
		return nil, fmt.Errorf("binary table header: %d bytes, more than %d", len(hb), maxHeader)
	}
	head := make([]byte, 0, len(binaryMagic)+4+len(hb))
	head = append(head, binaryMagic...)
	head = binary.LittleEndian.AppendUint32(head, uint32(len(hb)))
	return append(head, hb...), nil
}

// NewBinaryBody lays t out in the binary format (one group).
func NewBinaryBody(t *Table) (*BinaryBody, error) {
	encs := make([]string, len(t.cols))
	for j, c := range t.cols {
		encs[j] = narrowest(c)
	}
	head, err := header(t.cols, encs, t.Len(), 0)
	if err != nil {
		return nil, err
	}
	b := &BinaryBody{group: -1, inScratch: -1}
	b.add(segment{data: head, static: true})
	for j, c := range t.cols {
		if encs[j] != "" {
			w := encWidth(c.Kind, encs[j])
			for lo := 0; lo < t.Len(); lo += packChunk {
				hi := min(lo+packChunk, t.Len())
				b.add(segment{n: int64((hi - lo) * w), packed: c, enc: encs[j], lo: lo, hi: hi})
			}
			continue
		}
		switch c.Kind {
		case Numeric:
			b.add(segment{data: leBytes(c.Nums), static: true})
		case Categorical:
			b.add(segment{data: leBytes(c.Codes), static: true})
		case Bool:
			b.add(segment{data: leBytes(c.Bools), static: true})
		case Time:
			b.add(segment{data: leBytes(c.Times), static: true})
		case Text:
			lens := make([]uint32, len(c.Strs))
			total := 0
			for i, s := range c.Strs {
				if int64(len(s)) > math.MaxUint32 {
					return nil, fmt.Errorf("binary table: column %q row %d: string of %d bytes", c.Name, i, len(s))
				}
				lens[i] = uint32(len(s))
				total += len(s)
			}
			data := make([]byte, 0, total)
			for _, s := range c.Strs {
				data = append(data, s...)
			}
			b.add(segment{data: leBytes(lens), static: true})
			b.add(segment{data: data, static: true})
		}
	}
	b.size += 4
	return b, nil
}

// NewBinaryGroups lays out a table of rows rows that is made while the body
// is read, groupRows rows at a time, so it is never held whole: fill writes
// rows [lo, lo+g.Len()) into g, a table with schema's columns (names, kinds
// and dictionaries; schema's data is not used) sized to the group. fill must
// give the same values when called again (a retried upload reads the body
// twice). Only fixed-width kinds: every column but text.
func NewBinaryGroups(schema []*Column, rows, groupRows int, fill func(lo int, g *Table) error) (*BinaryBody, error) {
	if rows < 0 || groupRows < 1 {
		return nil, fmt.Errorf("binary table: %d rows in groups of %d", rows, groupRows)
	}
	groupRows = min(groupRows, max(rows, 1))
	announced := groupRows // one group is the plain layout
	if groupRows >= rows {
		announced = 0
	}
	// Codes are narrowed as NewBinaryBody narrows them (the dictionaries
	// are the schema's); numbers are not: the rows are not made yet.
	encs := make([]string, len(schema))
	for j, c := range schema {
		if c.Kind == Categorical {
			encs[j] = narrowest(c)
		}
	}
	head, err := header(schema, encs, rows, announced)
	if err != nil {
		return nil, err
	}
	b := &BinaryBody{fill: fill, rows: rows, groupRows: groupRows, group: -1, inScratch: -1}
	b.add(segment{data: head, static: true})
	for _, c := range schema {
		if c.Kind < Numeric || c.Kind >= Text {
			return nil, fmt.Errorf("binary table: column %q: %s columns cannot be made in groups", c.Name, c.Kind)
		}
	}
	if b.g, err = Alloc(schema, groupRows); err != nil {
		return nil, fmt.Errorf("binary table: %w", err)
	}
	for g, lo := 0, 0; lo < rows; g, lo = g+1, lo+groupRows {
		m := min(groupRows, rows-lo)
		for j, c := range schema {
			b.add(segment{n: int64(m * encWidth(c.Kind, encs[j])), group: g, col: j, enc: encs[j]})
		}
	}
	b.size += 4
	return b, nil
}

func (b *BinaryBody) add(s segment) {
	if s.static {
		s.n = int64(len(s.data))
	}
	s.off = b.size
	b.size += s.n
	b.segs = append(b.segs, s)
}

// bytes returns segment i's bytes, making its group when needed.
func (b *BinaryBody) bytes(i int) ([]byte, error) {
	s := &b.segs[i]
	if s.static {
		return s.data, nil
	}
	if s.packed != nil {
		if b.inScratch != i {
			b.scratch = pack(b.scratch[:0], s.packed, s.enc, s.lo, s.hi)
			b.inScratch = i
		}
		return b.scratch, nil
	}
	if b.group != s.group {
		lo := s.group * b.groupRows
		g := b.g.Slice(0, min(b.groupRows, b.rows-lo))
		if err := b.fill(lo, g); err != nil {
			return nil, fmt.Errorf("binary table: make rows from %d: %w", lo, err)
		}
		b.group = s.group
	}
	c := b.g.cols[s.col]
	m := int(s.n) / encWidth(c.Kind, s.enc)
	if s.enc != "" {
		if b.inScratch != i {
			b.scratch = pack(b.scratch[:0], c, s.enc, 0, m)
			b.inScratch = i
		}
		return b.scratch, nil
	}
	switch c.Kind {
	case Numeric:
		return leBytes(c.Nums[:m]), nil
	case Categorical:
		return leBytes(c.Codes[:m]), nil
	case Bool:
		return leBytes(c.Bools[:m]), nil
	default:
		return leBytes(c.Times[:m]), nil
	}
}

// Size is the body's length in bytes.
func (b *BinaryBody) Size() int64 { return b.size }

// content is where the checksum starts.
func (b *BinaryBody) content() int64 { return b.size - 4 }

// copyAt copies the content at off into p, up to a segment's end, and
// hashes it when it continues the checksummed prefix.
func (b *BinaryBody) copyAt(p []byte, off int64) (int, error) {
	i := sort.Search(len(b.segs), func(i int) bool { return b.segs[i].off+b.segs[i].n > off }) // segs are never empty here
	data, err := b.bytes(i)
	if err != nil {
		return 0, err
	}
	k := copy(p, data[off-b.segs[i].off:])
	if off == b.crcPos {
		b.crc = crc32.Update(b.crc, castagnoli, p[:k])
		b.crcPos += int64(k)
	}
	return k, nil
}

// hashTo extends the checksum to the content before end (after a seek).
func (b *BinaryBody) hashTo(end int64) error {
	if b.crcPos > end {
		b.crc, b.crcPos = 0, 0
	}
	var buf [32 << 10]byte
	for b.crcPos < end {
		if _, err := b.copyAt(buf[:min(int64(len(buf)), end-b.crcPos)], b.crcPos); err != nil {
			return err
		}
	}
	return nil
}

// Read implements io.Reader.
func (b *BinaryBody) Read(p []byte) (int, error) {
	if b.pos >= b.size {
		return 0, io.EOF
	}
	n := 0
	if b.pos != b.crcPos && b.pos < b.content() {
		if err := b.hashTo(b.pos); err != nil {
			return 0, err
		}
	}
	for len(p) > 0 && b.pos < b.content() {
		k, err := b.copyAt(p[:min(int64(len(p)), b.content()-b.pos)], b.pos)
		if err != nil {
			return n, err
		}
		p, n, b.pos = p[k:], n+k, b.pos+int64(k)
	}
	if len(p) > 0 && b.pos >= b.content() {
		if err := b.hashTo(b.content()); err != nil {
			return n, err
		}
		tail := binary.LittleEndian.AppendUint32(nil, b.crc)
		k := copy(p, tail[b.pos-b.content():])
		n, b.pos = n+k, b.pos+int64(k)
	}
	return n, nil
}

// Seek implements io.Seeker.
func (b *BinaryBody) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += b.pos
	case io.SeekEnd:
		offset += b.size
	case io.SeekStart:
	default:
		return 0, errors.New("binary table: bad whence")
	}
	if offset < 0 {
		return 0, fmt.Errorf("binary table: seek to %d", offset)
	}
	b.pos = offset
	return offset, nil
}

// ReadBinary reads a table written by NewBinaryBody. size is the byte count
// r holds, or -1 when unknown; when known, a header announcing another size
// is refused before anything is allocated. Every byte is checked against the
// CRC and every column against its kind's rules.
func ReadBinary(r io.Reader, size int64) (*Table, error) { return ReadBinaryWithout(r, size) }

// ReadBinaryWithout is ReadBinary leaving out the named columns: their bytes
// are checked but never held.
func ReadBinaryWithout(r io.Reader, size int64, without ...string) (*Table, error) {
	return readBinary(r, size, nil, without)
}

// ReadBinaryReusing is ReadBinary reading into reuse's columns where they
// are of the same name and kind and large enough, so a reader of many
// tables in turn (merge's months, each appended to one table and then
// dropped) makes one set of columns instead of garbage for each. reuse's
// values are overwritten: it must not be used afterwards. Dictionaries and
// strings are never reused (a table appended to keeps them).
func ReadBinaryReusing(r io.Reader, size int64, reuse *Table) (*Table, error) {
	return readBinary(r, size, reuse, nil)
}

func readBinary(r io.Reader, size int64, reuse *Table, without []string) (*Table, error) {
	crc := crc32.New(castagnoli)
	tr := io.TeeReader(r, crc)
	var pre [len(binaryMagic) + 4]byte
	if _, err := io.ReadFull(tr, pre[:]); err != nil {
		return nil, fmt.Errorf("binary table: read magic: %w", noEOF(err))
	}
	if string(pre[:len(binaryMagic)]) != binaryMagic {
		return nil, errors.New("binary table: not a binary table (bad magic)")
	}
	hlen := binary.LittleEndian.Uint32(pre[len(binaryMagic):])
	if hlen > maxHeader || (size >= 0 && int64(hlen) > size) {
		return nil, fmt.Errorf("binary table: header of %d bytes", hlen)
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(tr, hb); err != nil {
		return nil, fmt.Errorf("binary table: read header: %w", noEOF(err))
	}
	var h binHeader
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, fmt.Errorf("binary table: header: %w", err)
	}
	if h.Rows < 0 || h.Rows > math.MaxInt32 {
		return nil, fmt.Errorf("binary table: %d rows", h.Rows)
	}
	kinds := make([]Kind, len(h.Columns))
	widths := make([]int, len(h.Columns))
	fixed := int64(len(pre)) + int64(hlen) + 4
	for j, c := range h.Columns {
		k, ok := kindOf(c.Kind)
		if !ok {
			return nil, fmt.Errorf("binary table: column %q: unknown kind %q", c.Name, c.Kind)
		}
		if widths[j] = encWidth(k, c.Enc); widths[j] == 0 {
			return nil, fmt.Errorf("binary table: column %q: no encoding %q for %s columns", c.Name, c.Enc, k)
		}
		kinds[j] = k
		fixed += int64(h.Rows) * int64(widths[j])
	}
	if size >= 0 && fixed > size {
		return nil, fmt.Errorf("binary table: header announces at least %d bytes, object has %d", fixed, size)
	}
	n := h.Rows
	group := n
	if h.GroupRows > 0 && h.GroupRows < n {
		group = h.GroupRows
	} else if h.GroupRows < 0 {
		return nil, fmt.Errorf("binary table: groups of %d rows", h.GroupRows)
	}
	cols := make([]*Column, len(h.Columns))
	skip := make([]bool, len(h.Columns))
	for j, hc := range h.Columns {
		c := &Column{Name: hc.Name, Kind: kinds[j]}
		cols[j] = c
		if skip[j] = slices.Contains(without, hc.Name); skip[j] {
			continue
		}
		var old *Column
		if reuse != nil && j < len(reuse.cols) && reuse.cols[j].Name == c.Name && reuse.cols[j].Kind == c.Kind {
			old = reuse.cols[j]
		}
		switch c.Kind {
		case Numeric:
			c.Nums = sized(old, func(o *Column) []float64 { return o.Nums }, n)
		case Categorical:
			c.Codes, c.Dict = sized(old, func(o *Column) []int32 { return o.Codes }, n), hc.Dict
			if c.Dict == nil {
				c.Dict = []string{}
			}
		case Bool:
			c.Bools = sized(old, func(o *Column) []int8 { return o.Bools }, n)
		case Time:
			c.Times = sized(old, func(o *Column) []int64 { return o.Times }, n)
		case Text:
			c.Strs = make([]string, n)
		}
	}
	// The rows of each group, column by column (one group: the whole table,
	// read once even when it has no rows).
	var buf []byte // narrow columns' bytes
	for lo, hi := 0, min(group, n); ; lo, hi = hi, min(hi+group, n) {
		for j, c := range cols {
			var err error
			if skip[j] && c.Kind != Text {
				_, err = io.CopyN(io.Discard, tr, int64((hi-lo)*widths[j]))
				if err != nil {
					return nil, fmt.Errorf("binary table: column %q: %w", c.Name, noEOF(err))
				}
				continue
			}
			if enc := h.Columns[j].Enc; enc != "" {
				if buf, err = unpack(tr, c, enc, lo, hi, buf); err != nil {
					return nil, fmt.Errorf("binary table: column %q: %w", c.Name, noEOF(err))
				}
				continue
			}
			switch c.Kind {
			case Numeric:
				err = readLE(tr, c.Nums[lo:hi])
			case Categorical:
				err = readLE(tr, c.Codes[lo:hi])
			case Bool:
				if err = readLE(tr, c.Bools[lo:hi]); err == nil {
					for i, v := range c.Bools[lo:hi] {
						if v < Missing || v > 1 {
							return nil, fmt.Errorf("binary table: column %q row %d: bool %d", c.Name, lo+i, v)
						}
					}
				}
			case Time:
				err = readLE(tr, c.Times[lo:hi])
			case Text:
				lens := make([]uint32, hi-lo)
				if err = readLE(tr, lens); err != nil {
					break
				}
				total := int64(0)
				for _, l := range lens {
					total += int64(l)
				}
				if size >= 0 && fixed+total > size {
					return nil, fmt.Errorf("binary table: column %q: %d bytes of text past the object's end", c.Name, total)
				}
				fixed += total
				if skip[j] {
					_, err = io.CopyN(io.Discard, tr, total)
					break
				}
				data := make([]byte, total)
				if _, err = io.ReadFull(tr, data); err != nil {
					break
				}
				all := unsafe.String(unsafe.SliceData(data), len(data)) // data is never written again
				off := 0
				for i, l := range lens {
					c.Strs[lo+i] = all[off : off+int(l)]
					off += int(l)
				}
			}
			if err != nil {
				return nil, fmt.Errorf("binary table: column %q: %w", c.Name, noEOF(err))
			}
		}
		if hi == n {
			break
		}
	}
	want := crc.Sum32()
	var tail [4]byte
	if _, err := io.ReadFull(r, tail[:]); err != nil {
		return nil, fmt.Errorf("binary table: read checksum: %w", noEOF(err))
	}
	if got := binary.LittleEndian.Uint32(tail[:]); got != want {
		return nil, fmt.Errorf("binary table: checksum %08x, content has %08x (corrupt or truncated)", got, want)
	}
	if k, err := r.Read(tail[:1]); k > 0 || (err != nil && err != io.EOF) {
		return nil, errors.New("binary table: bytes after the checksum")
	}
	kept := cols[:0:0]
	for j, c := range cols {
		if !skip[j] {
			kept = append(kept, c)
		}
	}
	t, err := New(kept...)
	if err != nil {
		return nil, fmt.Errorf("binary table: %w", err)
	}
	if len(kept) > 0 && t.Len() != n {
		return nil, fmt.Errorf("binary table: %d rows read, header says %d", t.Len(), n)
	}
	return t, nil
}

// sized is n values: old's slice (of) when it has room, else a new one.
func sized[T any](old *Column, of func(*Column) []T, n int) []T {
	if old != nil {
		if v := of(old); cap(v) >= n {
			return v[:n]
		}
	}
	return make([]T, n)
}

func width(k Kind) int {
	switch k {
	case Numeric, Time:
		return 8
	case Categorical, Text:
		return 4
	}
	return 1
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// littleEndian: the machine's byte order is the format's, so a column's
// memory is its encoding.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

type fixedWidth interface {
	~float64 | ~int32 | ~int8 | ~int64 | ~uint32
}

// leBytes returns v's little-endian encoding: v's own memory on a
// little-endian machine, a copy otherwise.
func leBytes[T fixedWidth](v []T) []byte {
	if len(v) == 0 {
		return nil
	}
	size := int(unsafe.Sizeof(v[0]))
	if littleEndian {
		return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v)*size)
	}
	out := make([]byte, len(v)*size)
	for i, x := range v {
		putLE(out[i*size:], x)
	}
	return out
}

// readLE fills v from r's little-endian encoding.
func readLE[T fixedWidth](r io.Reader, v []T) error {
	if len(v) == 0 {
		return nil
	}
	size := int(unsafe.Sizeof(v[0]))
	if littleEndian {
		_, err := io.ReadFull(r, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v)*size))
		return err
	}
	buf := make([]byte, len(v)*size)
	if _, err := io.ReadFull(r, buf); err != nil {
		return err
	}
	for i := range v {
		v[i] = getLE[T](buf[i*size:])
	}
	return nil
}

func putLE[T fixedWidth](b []byte, x T) {
	switch v := any(x).(type) {
	case float64:
		binary.LittleEndian.PutUint64(b, math.Float64bits(v))
	case int64:
		binary.LittleEndian.PutUint64(b, uint64(v))
	case int32:
		binary.LittleEndian.PutUint32(b, uint32(v))
	case uint32:
		binary.LittleEndian.PutUint32(b, v)
	case int8:
		b[0] = byte(v)
	}
}

func getLE[T fixedWidth](b []byte) T {
	var x T
	switch p := any(&x).(type) {
	case *float64:
		*p = math.Float64frombits(binary.LittleEndian.Uint64(b))
	case *int64:
		*p = int64(binary.LittleEndian.Uint64(b))
	case *int32:
		*p = int32(binary.LittleEndian.Uint32(b))
	case *uint32:
		*p = binary.LittleEndian.Uint32(b)
	case *int8:
		*p = int8(b[0])
	}
	return x
}
