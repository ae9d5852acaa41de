package crime

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/shared/data/table"
)

func readSODA(t *testing.T, in string) *ReadResult {
	t.Helper()
	res, err := ReadSODA(context.Background(), strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	slow, err := oneByte(in, ReadSODA)
	if err != nil {
		t.Fatal(err)
	}
	if err := table.Equal(res.Table, slow.Table); err != nil || len(res.Rejects) != len(slow.Rejects) {
		t.Fatalf("one-byte reads differ: %v", err)
	}
	return res
}

// toSODA turns portal CSV export rows into the API's JSON, by the rules of
// the data README, with encoding/json: strings everywhere except the two
// booleans, ISO dates with .000, empty fields left out, plus the fields a
// reader must ignore (year, location, computed regions).
func toSODA(t testing.TB, export []byte) []byte {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(export))
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var objs []map[string]any
	for _, rec := range recs[1:] {
		o := map[string]any{":@computed_region_awaf_s7ux": "24", "year": "2017"}
		for j, h := range recs[0] {
			v := rec[j]
			if v == "" {
				continue
			}
			key := SnakeCase(h)
			switch key {
			case ColArrest, ColDomestic:
				o[key] = v == "true"
			case ColDate, ColUpdatedOn:
				tm, err := time.Parse("01/02/2006 03:04:05 PM", v)
				if err != nil {
					t.Fatal(err)
				}
				o[key] = tm.Format("2006-01-02T15:04:05.000")
			default:
				o[key] = v
			}
		}
		if lat, ok := o[ColLatitude]; ok {
			o["location"] = map[string]any{"latitude": lat, "longitude": o[ColLongitude],
				"human_address": `{"address": "", "city": "", "state": "", "zip": ""}`}
		}
		objs = append(objs, o)
	}
	out, err := json.Marshal(objs) // escapes & < > as \u0026...: exercises \u decoding
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSODAMatchesCSVOnRealRows(t *testing.T) {
	data := realCSV(t)
	lines := bytes.SplitAfter(data, []byte("\n"))
	// Every 7th row, and every row with an empty field.
	sample := append([]byte(nil), lines[0]...)
	for i, l := range lines[1:] {
		if i%7 == 0 || bytes.Contains(l, []byte(",,")) || bytes.HasSuffix(l, []byte(",\r\n")) {
			sample = append(sample, l...)
		}
	}
	fromCSV, err := ReadPortalCSV(context.Background(), bytes.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	js := toSODA(t, sample)
	fromJSON, err := ReadSODA(context.Background(), bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	if len(fromCSV.Rejects)+len(fromJSON.Rejects) != 0 {
		t.Fatalf("rejects %v %v", fromCSV.Rejects, fromJSON.Rejects)
	}
	if fromCSV.Table.Len() < 40000 {
		t.Fatalf("sample of %d rows only", fromCSV.Table.Len())
	}
	if err := table.Equal(fromCSV.Table, fromJSON.Table); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(js, []byte(`\u0026`)) {
		t.Log("note: no escaped character in the sample")
	}
}

func TestReadSODAValues(t *testing.T) {
	in := `[
	  {"id":"10805378","case_number":"JA104278","date":"2017-01-01T02:00:00.000","block":"046XX S \"VINCENNES\" AVE\u00e9\ud83d\ude00",
	   "iucr":"0281","arrest":false,"domestic":true,"district":"002","ward":null,"beat":"",
	   "x_coordinate":1180398,"latitude":"41.80993288","location":{"latitude":"41.8","human_address":"{\"a\": [1,2]}"},
	   "unknown":[{"x":"]"}], ":@computed_region_x":"1", "updated_on":"2018-02-10T15:50:01.000"},
	  {}
	]`
	res := readSODA(t, in)
	tb := res.Table
	if len(res.Rejects) != 0 || tb.Len() != 2 {
		t.Fatalf("%v %d", res.Rejects, tb.Len())
	}
	if got := tb.Col(ColBlock).Str(0); got != "046XX S \"VINCENNES\" AVE\u00e9\U0001F600" {
		t.Errorf("block %q", got)
	}
	if tb.Col(ColIUCR).Str(0) != "0281" || tb.Col(ColDistrict).Str(0) != "002" {
		t.Error("codes")
	}
	if tb.Col(ColArrest).Bools[0] != 0 || tb.Col(ColDomestic).Bools[0] != 1 || tb.Col(ColArrest).Bools[1] != table.Missing {
		t.Error("booleans")
	}
	if !tb.Col(ColWard).IsMissing(0) || !tb.Col(ColBeat).IsMissing(0) {
		t.Error("null and \"\" must be missing")
	}
	if tb.Col(ColX).Nums[0] != 1180398 || tb.Col(ColLatitude).Nums[0] != 41.80993288 || !math.IsNaN(tb.Col(ColY).Nums[0]) {
		t.Error("numbers")
	}
	if got := table.Wall(tb.Col(ColDate).Times[0]).Format(time.DateTime); got != "2017-01-01 02:00:00" {
		t.Errorf("date %s", got)
	}
	for _, name := range Columns {
		if !tb.Col(name).IsMissing(1) {
			t.Errorf("empty object: %s not missing", name)
		}
	}
}

func TestReadSODARejects(t *testing.T) {
	in := `[{"id":"1","date":"2017-01-01T00:00:00.000"},
	{"id":"2","date":"2017-13-01T00:00:00.000"},
	{"id":"3","arrest":"maybe"},
	{"id":"4","latitude":"north"},
	{"id":"5","iucr":true},
	{"id":"6","location_description":{"a":1}},
	{"id":"7","arrest":"true"}]`
	res := readSODA(t, in)
	if res.Table.Len() != 2 || res.Table.Col(ColID).Nums[1] != 7 || res.Table.Col(ColArrest).Bools[1] != 1 {
		t.Fatalf("kept %d rows", res.Table.Len())
	}
	want := []string{
		`bad date in column "date": "2017-13-01T00:00:00.000"`,
		`bad boolean in column "arrest": "maybe"`,
		`bad number in column "latitude": "north"`,
		`bad value in column "iucr": JSON boolean for a categorical column`,
		`bad value in column "location_description": JSON object`,
	}
	if len(res.Rejects) != len(want) {
		t.Fatalf("rejects %+v", res.Rejects)
	}
	for i, r := range res.Rejects {
		if r.Line != i+2 || r.Reason != want[i] || !strings.HasPrefix(r.Raw, `{"id":"`) || !strings.HasSuffix(r.Raw, "}") {
			t.Errorf("reject %d: %+v", i, r)
		}
	}
}

func TestReadSODAMalformed(t *testing.T) {
	for _, in := range []string{``, `{}`, `[`, `[{"id":"1"}`, `[{"id":"1"},]`, `[{"id":"1"} {"id":"2"}]`,
		`[{"id" "1"}]`, `[{"id":"1",}]`, `[{"id":"1"}] x`, `[{"id":"\x"}]`, `[{"id":tru}]`, `[{"id":"1}]`, `[,{}]`} {
		if _, err := ReadSODA(context.Background(), strings.NewReader(in)); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
	for _, in := range []string{`[]`, " \xEF\xBB\xBF[ ] \n", `[{}]`} {
		if _, err := ReadSODA(context.Background(), strings.NewReader(in)); err != nil {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func BenchmarkReadSODA(b *testing.B) {
	js := toSODA(b, realCSV(b))
	b.SetBytes(int64(len(js)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := ReadSODA(context.Background(), bytes.NewReader(js)); err != nil {
			b.Fatal(err)
		}
	}
}
