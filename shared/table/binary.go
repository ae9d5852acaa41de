package table

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
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
//	header   JSON     {"rows": n, "columns": [{"name", "kind", "dict"?}, …]}
//	columns  in header order:
//	           numeric      n × float64 (IEEE 754 bits; NaN is missing)
//	           categorical  n × int32 codes into the header's dict (-1 missing)
//	           bool         n × int8 (0, 1, -1 missing)
//	           time         n × int64 wall-clock seconds (NoTime missing)
//	           text         n × uint32 byte lengths, then the bytes
//	crc      uint32   CRC-32C of everything before it
//
// Values come back bit for bit, dictionaries included (with their unused
// entries), so a table read back is Equal to the one written and codes keep
// their meaning across steps.
const binaryMagic = "ACTBL\x00\x00\x01"

// maxHeader bounds the JSON header a reader accepts.
const maxHeader = 64 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type binHeader struct {
	Rows    int         `json:"rows"`
	Columns []binColumn `json:"columns"`
}

type binColumn struct {
	Name string   `json:"name"`
	Kind string   `json:"kind"`
	Dict []string `json:"dict,omitempty"`
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
// can seek (object stores replay a body to retry a request). Column data is
// read straight from the table's slices: the table must not change while the
// body is in use.
type BinaryBody struct {
	segs [][]byte
	size int64
	pos  int64
}

// NewBinaryBody lays t out in the binary format.
func NewBinaryBody(t *Table) (*BinaryBody, error) {
	h := binHeader{Rows: t.Len(), Columns: make([]binColumn, len(t.cols))}
	for j, c := range t.cols {
		h.Columns[j] = binColumn{Name: c.Name, Kind: c.Kind.String()}
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
	head = append(head, hb...)
	segs := [][]byte{head}
	for _, c := range t.cols {
		switch c.Kind {
		case Numeric:
			segs = append(segs, leBytes(c.Nums))
		case Categorical:
			segs = append(segs, leBytes(c.Codes))
		case Bool:
			segs = append(segs, leBytes(c.Bools))
		case Time:
			segs = append(segs, leBytes(c.Times))
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
			segs = append(segs, leBytes(lens), data)
		}
	}
	crc := uint32(0)
	var size int64
	for _, s := range segs {
		crc = crc32.Update(crc, castagnoli, s)
		size += int64(len(s))
	}
	segs = append(segs, binary.LittleEndian.AppendUint32(nil, crc))
	return &BinaryBody{segs: segs, size: size + 4}, nil
}

// Size is the body's length in bytes.
func (b *BinaryBody) Size() int64 { return b.size }

// Read implements io.Reader.
func (b *BinaryBody) Read(p []byte) (int, error) {
	if b.pos >= b.size {
		return 0, io.EOF
	}
	n := 0
	off := b.pos
	for _, s := range b.segs {
		if len(p) == 0 {
			break
		}
		if off >= int64(len(s)) {
			off -= int64(len(s))
			continue
		}
		k := copy(p, s[off:])
		p, n, off = p[k:], n+k, 0
	}
	b.pos += int64(n)
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
func ReadBinary(r io.Reader, size int64) (*Table, error) {
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
	fixed := int64(len(pre)) + int64(hlen) + 4
	for j, c := range h.Columns {
		k, ok := kindOf(c.Kind)
		if !ok {
			return nil, fmt.Errorf("binary table: column %q: unknown kind %q", c.Name, c.Kind)
		}
		kinds[j] = k
		fixed += int64(h.Rows) * int64(width(k))
	}
	if size >= 0 && fixed > size {
		return nil, fmt.Errorf("binary table: header announces at least %d bytes, object has %d", fixed, size)
	}
	cols := make([]*Column, len(h.Columns))
	n := h.Rows
	for j, hc := range h.Columns {
		var err error
		c := &Column{Name: hc.Name, Kind: kinds[j]}
		switch c.Kind {
		case Numeric:
			c.Nums = make([]float64, n)
			err = readLE(tr, c.Nums)
		case Categorical:
			c.Codes, c.Dict = make([]int32, n), hc.Dict
			if c.Dict == nil {
				c.Dict = []string{}
			}
			err = readLE(tr, c.Codes)
		case Bool:
			c.Bools = make([]int8, n)
			if err = readLE(tr, c.Bools); err == nil {
				for i, v := range c.Bools {
					if v < Missing || v > 1 {
						return nil, fmt.Errorf("binary table: column %q row %d: bool %d", c.Name, i, v)
					}
				}
			}
		case Time:
			c.Times = make([]int64, n)
			err = readLE(tr, c.Times)
		case Text:
			lens := make([]uint32, n)
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
			data := make([]byte, total)
			if _, err = io.ReadFull(tr, data); err != nil {
				break
			}
			all := unsafe.String(unsafe.SliceData(data), len(data)) // data is never written again
			c.Strs = make([]string, n)
			off := 0
			for i, l := range lens {
				c.Strs[i] = all[off : off+int(l)]
				off += int(l)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("binary table: column %q: %w", c.Name, noEOF(err))
		}
		cols[j] = c
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
	t, err := New(cols...)
	if err != nil {
		return nil, fmt.Errorf("binary table: %w", err)
	}
	if len(cols) > 0 && t.Len() != n {
		return nil, fmt.Errorf("binary table: %d rows read, header says %d", t.Len(), n)
	}
	return t, nil
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
