package crime

import (
	"bytes"
	"context"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/arrestcast/arrestcast/shared/data/table"
)

func roundTrip(t *testing.T, tb *table.Table) (*ReadResult, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteCSV(context.Background(), &buf, tb); err != nil {
		t.Fatal(err)
	}
	res, err := ReadCSV(context.Background(), bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return res, buf.Bytes()
}

func TestProjectCSVRoundTripRealRows(t *testing.T) {
	res, err := ReadPortalCSV(context.Background(), bytes.NewReader(realCSV(t)))
	if err != nil {
		t.Fatal(err)
	}
	back, out := roundTrip(t, res.Table)
	if len(back.Rejects) != 0 {
		t.Fatalf("rejects %v", back.Rejects[:1])
	}
	if err := table.Equal(res.Table, back.Table); err != nil {
		t.Fatal(err)
	}
	for _, c := range back.Table.Columns() {
		if c.Kind != Kinds[c.Name] {
			t.Errorf("%s read back as %s", c.Name, c.Kind)
		}
	}
	lines := strings.SplitN(string(out), "\n", 3)
	if lines[0] != strings.Join(Columns, ",") {
		t.Errorf("header %q", lines[0])
	}
	if lines[1] != "11227508,JB146365,2017-01-01T00:01:00,027XX S WHIPPLE ST,1754,OFFENSE INVOLVING CHILDREN,AGG SEX ASSLT OF CHILD FAM MBR,RESIDENCE,false,false,1033,010,12,30,02,,,2018-02-11T15:57:41,," {
		t.Errorf("first row %q", lines[1])
	}
	// Writing the read-back table again gives the same bytes.
	_, out2 := roundTrip(t, back.Table)
	if !bytes.Equal(out, out2) {
		t.Error("second write differs")
	}
}

func TestProjectCSVUnknownColumnsAndVocab(t *testing.T) {
	in := "season,code,score,note,day_of_week\n" +
		"Summer,01,1.5,\"a, b\",6\n" +
		"Winter,02,,plain,0\n" +
		"Autumn,04A,-2e-7,,3\n"
	res, err := oneByte(in, ReadCSV)
	if err != nil || len(res.Rejects) != 0 {
		t.Fatal(err, res.Rejects)
	}
	tb := res.Table
	if c := tb.Col("code"); c.Kind != table.Categorical || c.Str(0) != "01" || c.Str(2) != "04A" {
		t.Errorf("code: %v %q", c.Kind, c.Dict)
	}
	if c := tb.Col("score"); c.Kind != table.Numeric || c.Nums[0] != 1.5 || !math.IsNaN(c.Nums[1]) || c.Nums[2] != -2e-7 {
		t.Errorf("score: %v %v", c.Kind, c.Nums)
	}
	if c := tb.Col("note"); c.Kind != table.Categorical || c.Str(0) != "a, b" || !c.IsMissing(2) {
		t.Errorf("note: %v %q", c.Kind, c.Dict)
	}
	// The fixed vocabulary gives fixed codes whatever order the file has.
	if c := tb.Col(ColSeason); c.Codes[0] != 2 || c.Codes[1] != 0 || c.Codes[2] != 3 || len(c.Dict) != 4 {
		t.Errorf("season codes %v dict %q", c.Codes, c.Dict)
	}
	if c := tb.Col(ColDayOfWeek); c.Kind != table.Numeric || c.Nums[0] != 6 {
		t.Errorf("day_of_week %v", c.Kind)
	}
	back, _ := roundTrip(t, tb)
	if err := table.Equal(tb, back.Table); err != nil {
		t.Fatal(err)
	}
}

func TestProjectCSVRejects(t *testing.T) {
	in := "id,date,arrest,x_coordinate,extra\n" +
		"1,2017-01-02T03:04:05,true,10,a\n" +
		"2,2017-01-02 03:04,true,10,b\n" +
		"3,2017-01-02T03:04:05,maybe,10,c\n" +
		"4,2017-01-02T03:04:05,false,ten,d\n" +
		"5,2017-01-02T03:04:05,false\n" +
		"6,,,,\n"
	res, err := ReadCSV(context.Background(), strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if res.Table.Len() != 2 {
		t.Fatalf("%d rows kept", res.Table.Len())
	}
	reasons := []string{
		`bad date in column "date": "2017-01-02 03:04"`,
		`bad boolean in column "arrest": "maybe"`,
		`bad number in column "x_coordinate": "ten"`,
		"3 fields, header has 5",
	}
	if len(res.Rejects) != len(reasons) {
		t.Fatalf("rejects %+v", res.Rejects)
	}
	for i, r := range res.Rejects {
		if r.Reason != reasons[i] || r.Line != i+3 {
			t.Errorf("reject %d: %+v", i, r)
		}
	}
	// A rejected row leaves nothing behind: the unknown column has 2 values.
	if c := res.Table.Col("extra"); c.Str(0) != "a" || !c.IsMissing(1) {
		t.Errorf("extra: %q %v", c.Dict, c.Codes)
	}
}

func TestProjectCSVHeaderErrors(t *testing.T) {
	for _, in := range []string{"", "a,,b\n", "a,b,a\n"} {
		if _, err := ReadCSV(context.Background(), strings.NewReader(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func TestWriteCSVRefusesTimeOutsideYears(t *testing.T) {
	tb, _ := table.New(table.NewTime("t", []int64{table.WallClock(10000, 1, 1, 0, 0, 0)}))
	if err := WriteCSV(context.Background(), &bytes.Buffer{}, tb); err == nil {
		t.Fatal("no error")
	}
}

func BenchmarkWriteCSV(b *testing.B) {
	res, err := ReadPortalCSV(context.Background(), bytes.NewReader(realCSV(b)))
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteCSV(context.Background(), &buf, res.Table); err != nil { // sizes the buffer
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	for b.Loop() {
		buf.Reset()
		if err := WriteCSV(context.Background(), &buf, res.Table); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBody is an upload's work: measure the CSV, then format it on
// every core as it is read.
func BenchmarkBody(b *testing.B) {
	res, err := ReadPortalCSV(context.Background(), bytes.NewReader(realCSV(b)))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		body, err := NewBody(context.Background(), res.Table)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(body.Size())
		if _, err := io.Copy(io.Discard, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadCSV(b *testing.B) {
	res, err := ReadPortalCSV(context.Background(), bytes.NewReader(realCSV(b)))
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteCSV(context.Background(), &buf, res.Table); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	for b.Loop() {
		if _, err := ReadCSV(context.Background(), bytes.NewReader(buf.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
}

// Several sources read as one: the same table as reading their rows from a
// single file, whatever their column order; rejects stay with their source.
func TestReadCSVsAs(t *testing.T) {
	a := "id,arrest,note\n1,true,x\n2,false,y\n"
	b := "note,id,arrest\nz,3,true\nbad,4,maybe\nw,5,false\n"
	whole := "id,arrest,note\n1,true,x\n2,false,y\n3,true,z\n5,false,w\n"
	srcs := []string{a, b}
	closed := 0
	open := func(i int) (io.Reader, func(), error) {
		return strings.NewReader(srcs[i]), func() { closed++ }, nil
	}
	got, rejects, err := ReadCSVsAs(context.Background(), 2, open, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ReadCSV(context.Background(), strings.NewReader(whole))
	if err != nil {
		t.Fatal(err)
	}
	if err := table.Equal(want.Table, got); err != nil {
		t.Fatal(err)
	}
	if closed != 2 || len(rejects[0]) != 0 || len(rejects[1]) != 1 || rejects[1][0].Line != 3 {
		t.Fatalf("closed %d, rejects %+v", closed, rejects)
	}
	for name, other := range map[string]string{
		"missing column": "id,arrest\n6,true\n",
		"extra column":   "id,arrest,note,more\n6,true,a,b\n",
		"renamed column": "id,arrest,other\n6,true,a\n",
	} {
		srcs = []string{a, other}
		if _, _, err := ReadCSVsAs(context.Background(), 2, open, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	fail := func(i int) (io.Reader, func(), error) { return nil, nil, io.ErrUnexpectedEOF }
	if _, _, err := ReadCSVsAs(context.Background(), 1, fail, nil); err != io.ErrUnexpectedEOF {
		t.Errorf("open error: %v", err)
	}
}
