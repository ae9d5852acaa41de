package crime

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/arrestcast/arrestcast/shared/data/table"
)

func TestBodyIsWriteCSV(t *testing.T) {
	res, err := ReadPortalCSV(context.Background(), bytes.NewReader(realCSV(t)))
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := WriteCSV(context.Background(), &want, res.Table); err != nil {
		t.Fatal(err)
	}
	if want.Len() < 3*csvChunk {
		t.Fatalf("sample of %d bytes does not cross chunks", want.Len())
	}
	b, err := NewBody(context.Background(), res.Table)
	if err != nil {
		t.Fatal(err)
	}
	if b.Size() != int64(want.Len()) {
		t.Fatalf("size %d, WriteCSV wrote %d", b.Size(), want.Len())
	}
	// Odd read sizes, then the standard reader checks (which seek too).
	got, err := io.ReadAll(iotest.OneByteReader(io.LimitReader(b, 1000)))
	if err != nil || !bytes.Equal(got, want.Bytes()[:1000]) {
		t.Fatalf("first 1000 bytes differ (%v)", err)
	}
	rest, err := io.ReadAll(b)
	if err != nil || !bytes.Equal(append(got, rest...), want.Bytes()) {
		t.Fatalf("whole body differs (%v)", err)
	}
	if _, err := b.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if err := iotest.TestReader(b, want.Bytes()); err != nil {
		t.Fatal(err)
	}
}

func TestBodySeek(t *testing.T) {
	res, err := ReadPortalCSV(context.Background(), bytes.NewReader(realCSV(t)))
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	WriteCSV(context.Background(), &want, res.Table)
	b, err := NewBody(context.Background(), res.Table)
	if err != nil {
		t.Fatal(err)
	}
	// What store retries do: note the start, find the end, rewind, read all.
	if at, _ := b.Seek(0, io.SeekCurrent); at != 0 {
		t.Fatalf("current %d", at)
	}
	if end, _ := b.Seek(0, io.SeekEnd); end != int64(want.Len()) {
		t.Fatalf("end %d", end)
	}
	if n, err := b.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Fatalf("read at end: %d %v", n, err)
	}
	for _, off := range []int64{0, 70_000, 5, int64(want.Len()) - 1} {
		if _, err := b.Seek(off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(b)
		if err != nil || !bytes.Equal(got, want.Bytes()[off:]) {
			t.Fatalf("from %d: differs (%v)", off, err)
		}
	}
	for _, off := range []int64{-1, int64(want.Len()) + 1} {
		if _, err := b.Seek(off, io.SeekStart); err == nil {
			t.Errorf("seek to %d accepted", off)
		}
	}
}

func TestBodyErrors(t *testing.T) {
	tb, _ := table.New(table.NewTime("t", []int64{table.WallClock(10000, 1, 1, 0, 0, 0)}))
	if _, err := NewBody(context.Background(), tb); err == nil {
		t.Error("a value WriteCSV refuses was accepted")
	}
	res, err := ReadPortalCSV(context.Background(), bytes.NewReader(realCSV(t)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b, err := NewBody(ctx, res.Table)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := io.ReadAll(b); !errors.Is(err, context.Canceled) {
		t.Errorf("read after cancel: %v", err)
	}
}

// repeated is the sample's crimes over and over, at least rows of them.
func repeated(t *testing.T, rows int) *table.Table {
	t.Helper()
	res, err := ReadPortalCSV(context.Background(), bytes.NewReader(realCSV(t)))
	if err != nil {
		t.Fatal(err)
	}
	parts := []*table.Table{}
	for n := 0; n < rows; n += res.Table.Len() {
		parts = append(parts, res.Table)
	}
	big, err := table.Concat(parts...)
	if err != nil {
		t.Fatal(err)
	}
	return big
}

// Tables of more than 20,000 rows are measured on several goroutines.
func TestBodySizeOfABigTable(t *testing.T) {
	big := repeated(t, 90_000)
	var want bytes.Buffer
	if err := WriteCSV(context.Background(), &want, big); err != nil {
		t.Fatal(err)
	}
	b, err := NewBody(context.Background(), big)
	if err != nil {
		t.Fatal(err)
	}
	if b.Size() != int64(want.Len()) {
		t.Fatalf("size %d, WriteCSV wrote %d", b.Size(), want.Len())
	}
	got, err := io.ReadAll(b)
	if err != nil || !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("body differs (%v)", err)
	}
}

// TestBodyFormatsEveryKindAsFormatRow checks the prepared fields and the
// measuring pass against the plain per-value formatting (FormatRow) on
// values of every kind, missing ones, strings that need quotes and numbers
// at the edges of the integer and short-decimal paths.
func TestBodyFormatsEveryKindAsFormatRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	dict := []string{"", "plain", "a,b", `say "hi"`, "two\nlines", "cr\rhere", "ÁLVAREZ", strings.Repeat("x", 300)}
	nums := []float64{0, math.Copysign(0, -1), 1, -1, 9, 10, -10, 1e15 - 1, 1e15, -1e15, 1e16, 0.1, -41.88, 1e-4, 1e-5,
		math.NaN(), math.Inf(1), math.Inf(-1), 123456789.123456789, math.MaxFloat64, math.SmallestNonzeroFloat64}
	const n = 70_000 // past the 20k rows a measuring part needs
	codes, num, bools, times, strs := make([]int32, n), make([]float64, n), make([]int8, n), make([]int64, n), make([]string, n)
	for i := range n {
		codes[i] = int32(rng.IntN(len(dict)+1)) - 1 // -1: missing
		if rng.IntN(3) == 0 {
			num[i] = nums[rng.IntN(len(nums))]
		} else {
			num[i] = (rng.Float64() - 0.5) * math.Pow(10, float64(rng.IntN(20)-6))
		}
		bools[i] = int8(rng.IntN(3)) - 1
		times[i] = table.WallClock(1990+rng.IntN(40), 1+rng.IntN(12), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60))
		if rng.IntN(10) == 0 {
			times[i] = table.NoTime
		}
		strs[i] = dict[rng.IntN(len(dict))]
	}
	tb, err := table.New(table.NewCategorical("cat,egory", codes, dict), table.NewNumeric("num", num),
		table.NewBool("flag", bools), table.NewTime("when", times), table.NewText("text", strs))
	if err != nil {
		t.Fatal(err)
	}
	want := []byte(`"cat,egory",num,flag,when,text` + "\n")
	for i := range n {
		want = append(append(want, FormatRow(tb, i)...), '\n')
	}
	var got bytes.Buffer
	if err := WriteCSV(context.Background(), &got, tb); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("WriteCSV differs from FormatRow's lines")
	}
	b, err := NewBody(context.Background(), tb)
	if err != nil {
		t.Fatal(err)
	}
	if b.Size() != int64(len(want)) {
		t.Fatalf("measured %d bytes, the lines are %d", b.Size(), len(want))
	}
	if err := iotest.TestReader(b, want); err != nil {
		t.Fatal(err)
	}
}

// NewStream gives WriteCSV's bytes without measuring them first, on a
// table big enough for several batches of blocks, and fails its read on a
// value WriteCSV refuses.
func TestStreamIsWriteCSV(t *testing.T) {
	big := repeated(t, 40_000)
	var want bytes.Buffer
	if err := WriteCSV(context.Background(), &want, big); err != nil {
		t.Fatal(err)
	}
	s := NewStream(context.Background(), big)
	if _, ok := s.(io.Seeker); ok {
		t.Error("a stream of unknown length offers Seek")
	}
	if err := iotest.TestReader(NewStream(context.Background(), big), want.Bytes()); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(iotest.HalfReader(s))
	if err != nil || !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("stream differs (%v)", err)
	}
	tb, _ := table.New(table.NewTime("t", []int64{table.WallClock(10000, 1, 1, 0, 0, 0)}))
	if _, err := io.ReadAll(NewStream(context.Background(), tb)); err == nil {
		t.Error("a value WriteCSV refuses was read")
	}
}

// Upload measures for a store that needs the length first unless the
// table is mostly decimals, and never for one that does not; every way,
// the bytes are WriteCSV's.
func TestUploadMeasuresWhenCheap(t *testing.T) {
	res, err := ReadPortalCSV(context.Background(), bytes.NewReader(realCSV(t)))
	if err != nil {
		t.Fatal(err)
	}
	n := res.Table.Len()
	rng := rand.New(rand.NewPCG(1, 2))
	a, b := make([]float64, n), make([]float64, n)
	for i := range a {
		a[i], b[i] = rng.NormFloat64(), rng.Float64()
	}
	decimals, _ := table.New(table.NewNumeric("a", a), table.NewNumeric("b", b))
	for _, c := range []struct {
		name        string
		t           *table.Table
		lengthFirst bool
		measured    bool
	}{
		{"crimes, length first", res.Table, true, true},
		{"crimes, streamed", res.Table, false, false},
		{"decimals, length first", decimals, true, false},
		{"decimals, streamed", decimals, false, false},
	} {
		var want bytes.Buffer
		if err := WriteCSV(context.Background(), &want, c.t); err != nil {
			t.Fatal(err)
		}
		body, size, err := Upload(context.Background(), c.t, c.lengthFirst)
		if err != nil {
			t.Fatal(err)
		}
		if c.measured != (size >= 0) || (size >= 0 && size != int64(want.Len())) {
			t.Errorf("%s: size %d (want measured %v, %d bytes)", c.name, size, c.measured, want.Len())
		}
		got, err := io.ReadAll(body)
		if err != nil || !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s: bytes differ from WriteCSV (%v)", c.name, err)
		}
	}
}
