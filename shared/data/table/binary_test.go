package table

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// binSample has every kind, missing values, NaN's payload-free cousins,
// unused dictionary entries and strings with bytes CSV would quote.
func binSample(n int) *Table {
	rng := rand.New(rand.NewPCG(1, 2))
	nums := make([]float64, n)
	codes := make([]int32, n)
	bools := make([]int8, n)
	times := make([]int64, n)
	strs := make([]string, n)
	specials := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), math.SmallestNonzeroFloat64, math.MaxFloat64}
	for i := range n {
		nums[i] = rng.NormFloat64() * 1e6
		if i < len(specials) {
			nums[i] = specials[i]
		}
		codes[i] = int32(rng.IntN(4)) - 1 // -1 missing; code 3 ("unused") never drawn
		bools[i] = int8(rng.IntN(3)) - 1
		times[i] = WallClock(2017, 1, 1, 0, 0, 0) + rng.Int64N(365*86400)
		if i%7 == 0 {
			times[i] = NoTime
		}
		if i%5 != 0 {
			strs[i] = strings.Repeat("JB\"1,\n", rng.IntN(3)) + string(rune('a'+i%26))
		}
	}
	t, err := New(NewNumeric("x", nums), NewCategorical("c", codes, []string{"A", "B", "C, \"d\"", "unused"}),
		NewBool("b", bools), NewTime("t", times), NewText("s", strs))
	if err != nil {
		panic(err)
	}
	return t
}

func encodeBinary(t *testing.T, tb *Table) []byte {
	t.Helper()
	b, err := NewBinaryBody(tb)
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(out)) != b.Size() {
		t.Fatalf("read %d bytes, Size %d", len(out), b.Size())
	}
	return out
}

func TestBinaryRoundTripIsExact(t *testing.T) {
	for _, n := range []int{0, 1, 9, 10_000} {
		in := binSample(n)
		data := encodeBinary(t, in)
		out, err := ReadBinary(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if err := Equal(in, out); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		for j, c := range in.Columns() {
			o := out.Columns()[j]
			// Bit for bit (NaN payloads, -0) and the dictionary as written.
			if !slices.Equal(leBytes(c.Nums), leBytes(o.Nums)) || !slices.Equal(c.Codes, o.Codes) || !slices.Equal(c.Dict, o.Dict) {
				t.Fatalf("n=%d column %s differs", n, c.Name)
			}
		}
		if _, err := ReadBinary(bytes.NewReader(data), -1); err != nil {
			t.Fatalf("n=%d, size unknown: %v", n, err)
		}
	}
	empty, _ := New()
	data := encodeBinary(t, empty)
	if out, err := ReadBinary(bytes.NewReader(data), int64(len(data))); err != nil || len(out.Columns()) != 0 {
		t.Fatalf("empty table: %v", err)
	}
}

func TestBinaryBodyReadsAndSeeks(t *testing.T) {
	in := binSample(5000)
	want := encodeBinary(t, in)
	b, _ := NewBinaryBody(in)
	if err := iotest.TestReader(b, want); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(iotest.OneByteReader(b))
	if !bytes.Equal(got, want) {
		t.Fatal("byte-by-byte read differs")
	}
	if _, err := b.Seek(-1, io.SeekStart); err == nil {
		t.Error("negative seek accepted")
	}
}

func TestBinaryRefusesDamage(t *testing.T) {
	in := binSample(300)
	good := encodeBinary(t, in)
	hlen := int(binary.LittleEndian.Uint32(good[len(binaryMagic):]))
	body := len(binaryMagic) + 4 + hlen
	cases := map[string][]byte{
		"empty":        {},
		"bad magic":    append([]byte("ACTBL\x00\x00\x02"), good[8:]...),
		"flipped byte": flip(good, body+100),
		"flipped crc":  flip(good, len(good)-1),
		"truncated":    good[:len(good)-10],
		"no crc":       good[:len(good)-4],
		"extra bytes":  append(slices.Clone(good), 0),
		"huge header":  binary.LittleEndian.AppendUint32([]byte(binaryMagic), maxHeader+1),
	}
	for name, data := range cases {
		if _, err := ReadBinary(bytes.NewReader(data), int64(len(data))); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := ReadBinary(bytes.NewReader(data), -1); err == nil {
			t.Errorf("%s (size unknown): accepted", name)
		}
	}
	// A header announcing more rows than the object holds is refused before
	// anything that size is allocated.
	if _, err := ReadBinary(bytes.NewReader(good), int64(len(good))-1); err == nil {
		t.Error("size shorter than the content: accepted")
	}
	big := withHeader(t, good, `{"rows":2000000000,"columns":[{"name":"x","kind":"numeric"}]}`)
	if _, err := ReadBinary(bytes.NewReader(big), int64(len(big))); err == nil || !strings.Contains(err.Error(), "announces") {
		t.Errorf("header with 2e9 rows: %v", err)
	}
	for _, h := range []string{`{"rows":1,"columns":[{"name":"x","kind":"complex"}]}`, `{"rows":-1,"columns":[]}`, `not json`} {
		data := withHeader(t, nil, h)
		if _, err := ReadBinary(bytes.NewReader(data), -1); err == nil {
			t.Errorf("header %s accepted", h)
		}
	}
}

func TestBinaryChecksColumnRules(t *testing.T) {
	// Codes outside the dictionary and bools outside {-1, 0, 1} are refused
	// even with a correct checksum.
	for _, tc := range []struct {
		header string
		data   []byte
	}{
		{`{"rows":1,"columns":[{"name":"c","kind":"categorical","dict":["A"]}]}`, binary.LittleEndian.AppendUint32(nil, 1)},
		{`{"rows":1,"columns":[{"name":"b","kind":"bool"}]}`, []byte{2}},
	} {
		data := withHeader(t, tc.data, tc.header)
		if _, err := ReadBinary(bytes.NewReader(data), int64(len(data))); err == nil {
			t.Errorf("%s %v accepted", tc.header, tc.data)
		}
	}
}

func flip(b []byte, i int) []byte {
	out := slices.Clone(b)
	out[i] ^= 0x40
	return out
}

// withHeader builds a well-checksummed file of header h and column bytes data.
func withHeader(t *testing.T, data []byte, h string) []byte {
	t.Helper()
	out := []byte(binaryMagic)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(h)))
	out = append(out, h...)
	out = append(out, data...)
	crc := crc32Sum(out)
	return binary.LittleEndian.AppendUint32(out, crc)
}

func crc32Sum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// fixedOnly is binSample without its text column: what groups can make.
func fixedOnly(n int) *Table {
	t := binSample(n)
	t.Drop("s")
	return t
}

// groupsOf makes in's rows through NewBinaryGroups, counting fill's calls.
func groupsOf(t *testing.T, in *Table, groupRows int, calls *int) *BinaryBody {
	t.Helper()
	b, err := NewBinaryGroups(in.Columns(), in.Len(), groupRows, func(lo int, g *Table) error {
		*calls++
		src := in.Slice(lo, lo+g.Len())
		for j, c := range g.Columns() {
			s := src.Columns()[j]
			copy(c.Nums, s.Nums)
			copy(c.Codes, s.Codes)
			copy(c.Bools, s.Bools)
			copy(c.Times, s.Times)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBinaryGroupsRoundTrip(t *testing.T) {
	for _, c := range []struct{ n, group, calls int }{{0, 5, 0}, {1, 5, 1}, {10, 3, 4}, {10, 10, 1}, {10, 100, 1}, {5000, 777, 7}} {
		in := fixedOnly(c.n)
		calls := 0
		b := groupsOf(t, in, c.group, &calls)
		data, err := io.ReadAll(b)
		if err != nil || int64(len(data)) != b.Size() {
			t.Fatalf("%+v: %d bytes of %d: %v", c, len(data), b.Size(), err)
		}
		if calls != c.calls {
			t.Errorf("%+v: fill called %d times", c, calls)
		}
		out, err := ReadBinary(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if err := Equal(in, out); err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		// NewBinaryBody also narrows numbers that are all integers (or NaN):
		// x is not, from its eighth row on.
		if c.group >= c.n && c.n >= 8 && !bytes.Equal(data, encodeBinary(t, in)) {
			t.Errorf("%+v: one group is not NewBinaryBody's layout", c)
		}
	}
}

// Seeks anywhere, as a retried upload does, give the same bytes and checksum.
func TestBinaryGroupsReadsAndSeeks(t *testing.T) {
	in := fixedOnly(5000)
	calls := 0
	want, _ := io.ReadAll(groupsOf(t, in, 613, &calls))
	if err := iotest.TestReader(groupsOf(t, in, 613, &calls), want); err != nil {
		t.Fatal(err)
	}
	b := groupsOf(t, in, 613, &calls)
	// Start past the middle, then go back: the checksum catches up.
	if _, err := b.Seek(int64(len(want))/2+3, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	tail, _ := io.ReadAll(b)
	if !bytes.Equal(tail, want[len(want)/2+3:]) {
		t.Fatal("read from the middle differs")
	}
	b.Seek(0, io.SeekStart)
	got, _ := io.ReadAll(iotest.OneByteReader(b))
	if !bytes.Equal(got, want) {
		t.Fatal("byte-by-byte read after a rewind differs")
	}
}

func TestBinaryGroupsRefuses(t *testing.T) {
	noop := func(int, *Table) error { return nil }
	if _, err := NewBinaryGroups(binSample(3).Columns(), 3, 2, noop); err == nil || !strings.Contains(err.Error(), `"s"`) {
		t.Errorf("text column: %v", err)
	}
	if _, err := NewBinaryGroups(fixedOnly(3).Columns(), 3, 0, noop); err == nil {
		t.Error("groups of 0 rows accepted")
	}
	b, err := NewBinaryGroups(fixedOnly(3).Columns(), 3, 2, func(lo int, _ *Table) error {
		if lo > 0 {
			return io.ErrClosedPipe
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(b); !errors.Is(err, io.ErrClosedPipe) || !strings.Contains(err.Error(), "rows from 2") {
		t.Errorf("fill's error: %v", err)
	}
}

func TestReadBinaryWithout(t *testing.T) {
	for _, group := range []int{0, 97} {
		in := binSample(1000)
		var data []byte
		if group == 0 {
			data = encodeBinary(t, in)
		} else {
			in = fixedOnly(1000)
			calls := 0
			data, _ = io.ReadAll(groupsOf(t, in, group, &calls))
		}
		out, err := ReadBinaryWithout(bytes.NewReader(data), int64(len(data)), "x", "s", "absent")
		if err != nil {
			t.Fatal(group, err)
		}
		want, _ := in.Keep("c", "b", "t")
		if err := Equal(want, out); err != nil {
			t.Fatal(group, err)
		}
		// Left-out columns are still checksummed.
		bad := slices.Clone(data)
		bad[len(bad)-5] ^= 1 // in the last column group's bytes
		if _, err := ReadBinaryWithout(bytes.NewReader(bad), int64(len(bad)), "t"); err == nil {
			t.Error(group, "damage in a left-out column not seen")
		}
	}
}

// Reading into an earlier table's columns gives what a fresh read does,
// in the same memory where it fits.
func TestBinaryReadReusing(t *testing.T) {
	big, small := binSample(10_000), binSample(9)
	first, err := ReadBinary(bytes.NewReader(encodeBinary(t, big)), -1)
	if err != nil {
		t.Fatal(err)
	}
	before := &first.Columns()[0].Nums[0]
	data := encodeBinary(t, small)
	got, err := ReadBinaryReusing(bytes.NewReader(data), int64(len(data)), first)
	if err != nil {
		t.Fatal(err)
	}
	if err := Equal(small, got); err != nil {
		t.Fatal(err)
	}
	if &got.Columns()[0].Nums[0] != before {
		t.Error("the numbers were not read into the reused column")
	}
	// A reused table too small, or of other columns, is not used.
	other, _ := New(NewNumeric("other", []float64{1}))
	data = encodeBinary(t, big)
	for _, reuse := range []*Table{got, other} {
		again, err := ReadBinaryReusing(bytes.NewReader(data), int64(len(data)), reuse)
		if err != nil {
			t.Fatal(err)
		}
		if err := Equal(big, again); err != nil {
			t.Fatal(err)
		}
	}
}

// NewBinaryBody writes codes and integer columns narrower, and only where
// every value comes back bit for bit.
func TestBinaryNarrowsLosslessly(t *testing.T) {
	const n = 70_000 // more than packChunk: several packed segments a column
	dict := func(k int) []string {
		d := make([]string, k)
		for i := range d {
			d[i] = strconv.Itoa(i)
		}
		return d
	}
	codes := func(k int) []int32 {
		c := make([]int32, n)
		for i := range c {
			c[i] = int32(i*7919%(k+1)) - 1 // every code and -1
		}
		return c
	}
	nums := func(f func(i int) float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = f(i)
		}
		return v
	}
	ints := nums(func(i int) float64 { return float64(i*31 - 1_000_000) })
	ints[5] = math.NaN()
	ints[6] = math.MaxInt32
	in, err := New(
		NewCategorical("c255", codes(255), dict(255)),
		NewCategorical("c256", codes(256), dict(256)),
		NewCategorical("c65536", codes(65_536), dict(65_536)),
		NewNumeric("ints", ints),
		NewNumeric("negzero", nums(func(i int) float64 { return math.Copysign(float64(i%2), -1) })),
		NewNumeric("minint", nums(func(i int) float64 { return math.MinInt32 + float64(i%3) })),
		NewNumeric("big", nums(func(i int) float64 { return float64(i) * (1 << 32) })),
		NewNumeric("payload", nums(func(i int) float64 { return math.Float64frombits(0x7FF8000000000001 + uint64(i%2)) })),
		NewNumeric("halves", nums(func(i int) float64 { return float64(i) / 2 })),
	)
	if err != nil {
		t.Fatal(err)
	}
	data := encodeBinary(t, in)
	hlen := int(binary.LittleEndian.Uint32(data[len(binaryMagic):]))
	var h binHeader
	if err := json.Unmarshal(data[len(binaryMagic)+4:len(binaryMagic)+4+hlen], &h); err != nil {
		t.Fatal(err)
	}
	want := []string{"u8", "u16", "", "i32", "", "", "", "", ""}
	for j, c := range h.Columns {
		if c.Enc != want[j] {
			t.Errorf("column %s written as %q, want %q", c.Name, c.Enc, want[j])
		}
	}
	if plain, got := int64(n)*(4*3+8*6), int64(len(data)-len(binaryMagic)-4-hlen-4); got != plain-int64(n)*(3+2+4) {
		t.Errorf("%d bytes of columns, want the plain %d less 9 a row", got, plain)
	}
	out, err := ReadBinary(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for j, c := range in.Columns() {
		o := out.Columns()[j]
		if !slices.Equal(leBytes(c.Nums), leBytes(o.Nums)) || !slices.Equal(c.Codes, o.Codes) || !slices.Equal(c.Dict, o.Dict) {
			t.Errorf("column %s differs after the round trip", c.Name)
		}
	}
	b, _ := NewBinaryBody(in)
	if err := iotest.TestReader(b, data); err != nil { // reads of every size, seeks
		t.Fatal(err)
	}
	part, err := ReadBinaryWithout(bytes.NewReader(data), int64(len(data)), "c255", "ints")
	if err != nil || part.Col("c255") != nil || !slices.Equal(part.Col("c256").Codes, in.Col("c256").Codes) {
		t.Fatalf("narrow columns left out: %v", err)
	}
}

func TestBinaryRefusesBadEncodings(t *testing.T) {
	for _, tc := range []struct {
		header string
		data   []byte
	}{
		{`{"rows":1,"columns":[{"name":"x","kind":"numeric","enc":"u8"}]}`, []byte{1}},
		{`{"rows":1,"columns":[{"name":"c","kind":"categorical","dict":["A"],"enc":"i32"}]}`, []byte{1, 0, 0, 0}},
		{`{"rows":1,"columns":[{"name":"c","kind":"categorical","dict":["A"],"enc":"zstd"}]}`, []byte{1}},
		{`{"rows":1,"columns":[{"name":"c","kind":"categorical","dict":["A"],"enc":"u8"}]}`, []byte{3}}, // code 2 of 1
		{`{"rows":2,"columns":[{"name":"c","kind":"categorical","dict":["A"],"enc":"u16"}]}`, []byte{1, 0, 1}},
	} {
		data := withHeader(t, tc.data, tc.header)
		if _, err := ReadBinary(bytes.NewReader(data), int64(len(data))); err == nil {
			t.Errorf("%s %v accepted", tc.header, tc.data)
		}
	}
}
