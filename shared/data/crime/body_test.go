package crime

import (
	"bytes"
	"context"
	"errors"
	"io"
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

// Tables of more than 20,000 rows are measured on several goroutines.
func TestBodySizeOfABigTable(t *testing.T) {
	res, err := ReadPortalCSV(context.Background(), bytes.NewReader(realCSV(t)))
	if err != nil {
		t.Fatal(err)
	}
	parts := []*table.Table{}
	for n := 0; n < 90_000; n += res.Table.Len() {
		parts = append(parts, res.Table)
	}
	big, err := table.Concat(parts...)
	if err != nil {
		t.Fatal(err)
	}
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
