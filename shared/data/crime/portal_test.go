package crime

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/arrestcast/arrestcast/shared/data/table"
)

const portalHeader = "ID,Case Number,Date,Block,IUCR,Primary Type,Description,Location Description,Arrest,Domestic,Beat,District,Ward,Community Area,FBI Code,X Coordinate,Y Coordinate,Updated On,Latitude,Longitude"

// Two rows as in the real export (the first without coordinates).
const (
	row1 = "11227508,JB146365,01/01/2017 12:01:00 AM,027XX S WHIPPLE ST,1754,OFFENSE INVOLVING CHILDREN,AGG SEX ASSLT OF CHILD FAM MBR,RESIDENCE,false,false,1033,010,12,30,02,,,02/11/2018 03:57:41 PM,,"
	row2 = "10805378,JA104278,01/01/2017 02:00:00 AM,046XX S VINCENNES AVE,0281,CRIM SEXUAL ASSAULT,NON-AGGRAVATED,RESIDENCE,false,true,0221,002,3,38,02,1180398,1874151,02/10/2018 03:50:01 PM,41.80993288,-87.613843427"
)

// oneByte runs read on a reader of in that hands out one byte per Read,
// with the window shrunk to a few bytes: every record is then cut at every
// possible place and parsed again.
func oneByte[T any](in string, read func(context.Context, io.Reader) (T, error)) (T, error) {
	size, least := windowSize, minRead
	windowSize, minRead = 4, 1
	defer func() { windowSize, minRead = size, least }()
	return read(context.Background(), iotest.OneByteReader(strings.NewReader(in)))
}

// readPortal reads in twice, as a whole and one byte at a time, and
// checks both give the same result.
func readPortal(t *testing.T, in string) *ReadResult {
	t.Helper()
	res, err := ReadPortalCSV(context.Background(), strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	// Every parse must give the same result when the input arrives one byte
	// at a time (records cut at every possible place).
	slow, err := oneByte(in, ReadPortalCSV)
	if err != nil {
		t.Fatal(err)
	}
	if err := table.Equal(res.Table, slow.Table); err != nil {
		t.Fatalf("one-byte reads differ: %v", err)
	}
	if len(res.Rejects) != len(slow.Rejects) {
		t.Fatalf("one-byte reads: %d rejects vs %d", len(slow.Rejects), len(res.Rejects))
	}
	for i := range res.Rejects {
		if res.Rejects[i] != slow.Rejects[i] {
			t.Fatalf("one-byte reads: reject %+v vs %+v", slow.Rejects[i], res.Rejects[i])
		}
	}
	return res
}

func TestReadPortalCSVValues(t *testing.T) {
	res := readPortal(t, portalHeader+"\r\n"+row1+"\r\n"+row2+"\r\n")
	tb := res.Table
	if len(res.Rejects) != 0 || tb.Len() != 2 {
		t.Fatalf("rejects %v, %d rows", res.Rejects, tb.Len())
	}
	if got := strings.Join(tb.Names(), ","); got != strings.Join(Columns, ",") {
		t.Fatalf("columns %s", got)
	}
	for name, kind := range Kinds {
		if c := tb.Col(name); c != nil && c.Kind != kind {
			t.Errorf("%s is %s, want %s", name, c.Kind, kind)
		}
	}
	c := func(name string) *table.Column { return tb.Col(name) }
	if c(ColID).Nums[1] != 10805378 || c(ColCaseNumber).Str(1) != "JA104278" {
		t.Error("id/case number")
	}
	if c(ColIUCR).Str(1) != "0281" || c(ColBeat).Str(1) != "0221" || c(ColDistrict).Str(0) != "010" || c(ColFBICode).Str(0) != "02" {
		t.Error("zero-padded codes must be kept as given")
	}
	if c(ColArrest).Bools[1] != 0 || c(ColDomestic).Bools[1] != 1 {
		t.Error("booleans")
	}
	if c(ColX).Nums[1] != 1180398 || c(ColLatitude).Nums[1] != 41.80993288 || c(ColLongitude).Nums[1] != -87.613843427 {
		t.Error("numbers")
	}
	if !math.IsNaN(c(ColX).Nums[0]) || !math.IsNaN(c(ColLatitude).Nums[0]) {
		t.Error("empty coordinates must be missing")
	}
	if got := table.Wall(c(ColDate).Times[0]).Format("2006-01-02 15:04:05"); got != "2017-01-01 00:01:00" {
		t.Errorf("date %s", got)
	}
	if got := table.Wall(c(ColUpdatedOn).Times[1]).Format("2006-01-02 15:04:05"); got != "2018-02-10 15:50:01" {
		t.Errorf("updated_on %s", got)
	}
}

func TestReadPortalCSVFormats(t *testing.T) {
	base := readPortal(t, portalHeader+"\r\n"+row1+"\r\n"+row2+"\r\n").Table
	for name, in := range map[string]string{
		"LF":              portalHeader + "\n" + row1 + "\n" + row2 + "\n",
		"no final EOL":    portalHeader + "\r\n" + row1 + "\r\n" + row2,
		"BOM":             "\xEF\xBB\xBF" + portalHeader + "\r\n" + row1 + "\r\n" + row2 + "\r\n",
		"blank lines":     portalHeader + "\r\n\r\n" + row1 + "\n\n" + row2 + "\r\n\r\n",
		"quoted fields":   portalHeader + "\n" + quoteAll(row1) + "\n" + quoteAll(row2) + "\n",
		"Year + Location": withYearLocation(),
		"reordered":       reordered(),
	} {
		res := readPortal(t, in)
		if len(res.Rejects) != 0 {
			t.Errorf("%s: rejects %v", name, res.Rejects)
			continue
		}
		if err := table.Equal(base, res.Table); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// quoteAll quotes every field of a row.
func quoteAll(row string) string {
	return `"` + strings.ReplaceAll(row, ",", `","`) + `"`
}

// withYearLocation is the full portal export: Year after Updated On,
// Location last.
func withYearLocation() string {
	h := strings.Replace(portalHeader, "Updated On,", "Year,Updated On,", 1) + ",Location"
	r1 := strings.Replace(row1, "02/11/2018", "2017,02/11/2018", 1) + ","
	r2 := strings.Replace(row2, "02/10/2018", "2017,02/10/2018", 1) + `,"(41.80993288, -87.613843427)"`
	return h + "\r\n" + r1 + "\r\n" + r2 + "\r\n"
}

// reordered reverses the column order.
func reordered() string {
	var out []string
	for _, line := range []string{portalHeader, row1, row2} {
		f := strings.Split(line, ",")
		for i, j := 0, len(f)-1; i < j; i, j = i+1, j-1 {
			f[i], f[j] = f[j], f[i]
		}
		out = append(out, strings.Join(f, ","))
	}
	return strings.Join(out, "\n") + "\n"
}

func TestReadPortalCSVQuotedContent(t *testing.T) {
	odd := strings.Replace(row2, "046XX S VINCENNES AVE", `"046XX S ""VINCENNES"", AVE`+"\r\nSECOND LINE\"", 1)
	res := readPortal(t, portalHeader+"\r\n"+odd+"\r\n"+row1+"\r\n")
	if len(res.Rejects) != 0 || res.Table.Len() != 2 {
		t.Fatalf("%v", res.Rejects)
	}
	if got := res.Table.Col(ColBlock).Str(0); got != "046XX S \"VINCENNES\", AVE\r\nSECOND LINE" {
		t.Fatalf("block %q", got)
	}
}

func TestReadPortalCSVRejects(t *testing.T) {
	badDate := strings.Replace(row2, "01/01/2017 02:00:00 AM", "13/01/2017 02:00:00 AM", 1)
	badNum := strings.Replace(row2, "41.80993288", "41.8O", 1)
	badBool := strings.Replace(row2, "false,true", "false,yes", 1)
	short := strings.TrimSuffix(row2, ",-87.613843427")
	multi := strings.Replace(row1, "027XX S WHIPPLE ST", "\"TWO\nLINES\"", 1)
	badQuote := strings.Replace(row1, "027XX S WHIPPLE ST", `"027XX" S`, 1)
	in := strings.Join([]string{portalHeader, row1, badDate, multi, badNum, short, badBool, badQuote, row2, `1,"never closed`}, "\r\n")
	res := readPortal(t, in)
	if res.Table.Len() != 3 {
		t.Fatalf("%d rows kept, want 3", res.Table.Len())
	}
	want := []struct {
		line   int
		reason string
		raw    string
	}{
		{3, `bad date in column "date": "13/01/2017 02:00:00 AM"`, badDate},
		{6, `bad number in column "latitude": "41.8O"`, badNum}, // the quoted newline makes row 4 two lines
		{7, "19 fields, header has 20", short},
		{8, `bad boolean in column "domestic": "yes"`, badBool},
		{9, "text after closing quote", badQuote},
		{11, "unterminated quoted field", `1,"never closed`},
	}
	if len(res.Rejects) != len(want) {
		t.Fatalf("rejects: %+v", res.Rejects)
	}
	for i, w := range want {
		if r := res.Rejects[i]; r.Line != w.line || r.Reason != w.reason || r.Raw != w.raw {
			t.Errorf("reject %d: got %+v, want %+v", i, r, w)
		}
	}
	var buf bytes.Buffer
	if err := WriteRejects(context.Background(), &buf, res.Rejects); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(recs) != len(want)+1 || recs[0][0] != "line" || recs[2][2] != badNum || recs[1][1] != want[0].reason {
		t.Fatalf("rejects CSV: %v %q", err, recs)
	}
}

func TestReadPortalCSVHeaderErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":          "",
		"missing column": strings.Replace(portalHeader, ",Beat", "", 1) + "\n",
		"repeated":       portalHeader + ",Beat\n",
	} {
		if _, err := ReadPortalCSV(context.Background(), strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestReadPortalCSVReadError(t *testing.T) {
	r := io.MultiReader(strings.NewReader(portalHeader+"\n"+row1+"\n"), iotest.ErrReader(io.ErrUnexpectedEOF))
	if _, err := ReadPortalCSV(context.Background(), r); err == nil {
		t.Fatal("read error not reported")
	}
}

func TestReadPortalCSVRealFile(t *testing.T) {
	data := realCSV(t)
	res, err := ReadPortalCSV(context.Background(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tb := res.Table
	if len(res.Rejects) != 0 || tb.Len() != 267792 {
		t.Fatalf("%d rows, %d rejects", tb.Len(), len(res.Rejects))
	}
	missing := func(name string) int {
		n, c := 0, tb.Col(name)
		for i := range tb.Len() {
			if c.IsMissing(i) {
				n++
			}
		}
		return n
	}
	// Counts from the data's README.
	for name, want := range map[string]int{ColX: 2797, ColLatitude: 2797, ColLocationDescription: 998, ColWard: 1, ColDistrict: 1, ColDate: 0, ColArrest: 0} {
		if got := missing(name); got != want {
			t.Errorf("%s: %d missing, want %d", name, got, want)
		}
	}
	arrests := 0
	for _, b := range tb.Col(ColArrest).Bools {
		arrests += int(b)
	}
	if rate := float64(arrests) / float64(tb.Len()); math.Abs(rate-0.1950) > 0.00005 {
		t.Errorf("arrest rate %.4f, want 0.1950", rate)
	}
	if n := len(tb.Col(ColPrimaryType).Dict); n != 32 {
		t.Errorf("%d primary types, want 32", n)
	}
	// Same result from the compressed file read as a stream.
	f := gzipFile(t)
	streamed, err := ReadPortalCSV(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if err := table.Equal(tb, streamed.Table); err != nil {
		t.Fatal(err)
	}
}

func TestDelimiter(t *testing.T) {
	for _, s := range []string{"", "a", ",", "\n", "abcdefgh", "abcdefg,", "abcdefgh,", ",abcdefgh", "ab\ncd,ef",
		"\x2d\x2b,", "\x0b\x09\n", "\xff\x80\x00,", "0123456789abcdef\n", "ÀÉ,x", "\x2c\x01\x2c"} {
		want := strings.IndexAny(s, ",\n")
		if want < 0 {
			want = len(s)
		}
		if got := delimiter([]byte(s), 0, len(s)); got != want {
			t.Errorf("%q: %d, want %d", s, got, want)
		}
	}
	// Every byte value before a comma at every offset within a word.
	for b := range 256 {
		for at := range 17 {
			s := bytes.Repeat([]byte{byte(b)}, at)
			s = append(s, ',', 'x')
			want := bytes.IndexAny(s, ",\n")
			if got := delimiter(s, 0, len(s)); got != want {
				t.Fatalf("byte %#x at %d: %d, want %d", b, at, got, want)
			}
		}
	}
}

// chunks hands out at most n bytes per Read.
type chunks struct {
	r io.Reader
	n int
}

func (c chunks) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

// A record longer than the read window (1.5 MB of quoted text with quotes
// and newlines inside) is read whole, however the reader splits the input.
func TestLongRecord(t *testing.T) {
	long := strings.Repeat("x\"\"y,\n", 250000) // 1.5 MB quoted: beyond the 1 MB window
	in := portalHeader + "\n" + strings.Replace(row1, "027XX S WHIPPLE ST", `"`+long+`"`, 1) + "\n" + row2 + "\n"
	want := strings.ReplaceAll(long, `""`, `"`)
	for _, r := range []io.Reader{strings.NewReader(in), chunks{strings.NewReader(in), 1000}, iotest.HalfReader(strings.NewReader(in))} {
		res, err := ReadPortalCSV(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rejects) != 0 || res.Table.Len() != 2 || res.Table.Col(ColBlock).Str(0) != want || res.Table.Col(ColIUCR).Str(1) != "0281" {
			t.Fatalf("%T: %d rows, rejects %v", r, res.Table.Len(), res.Rejects)
		}
	}
	js := `[{"block":"` + strings.Repeat(`a\"\n`, 500000) + `","id":"1"}]`
	res, err := ReadSODA(context.Background(), chunks{strings.NewReader(js), 1000})
	if err != nil || res.Table.Col(ColBlock).Str(0) != strings.Repeat("a\"\n", 500000) || res.Table.Col(ColID).Nums[0] != 1 {
		t.Fatalf("long JSON string: %v", err)
	}
}
