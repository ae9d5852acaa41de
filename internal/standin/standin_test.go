package standin_test

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/repo"

	"github.com/arrestcast/arrestcast/internal/standin"
)

var (
	crimesFile   = repo.Path(repo.Crimes2017)
	stationsFile = repo.Path(repo.Stations)
)

var realData = sync.OnceValues(func() (*standin.Data, error) {
	return standin.Load(crimesFile, stationsFile)
})

func needData(t testing.TB) *standin.Data {
	t.Helper()
	for _, f := range []string{crimesFile, stationsFile} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("real data %s not present: %v", f, err)
		}
	}
	d, err := realData()
	if err != nil {
		t.Fatalf("load real data: %v", err)
	}
	return d
}

// crime is the oracle's view of a row, read independently of the stand-in.
type crime struct {
	id   int64
	date time.Time
}

var oracle = sync.OnceValues(func() ([]crime, error) {
	f, err := os.Open(crimesFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(zr)
	head, err := r.Read()
	if err != nil {
		return nil, err
	}
	idCol, dateCol := slices.Index(head, "ID"), slices.Index(head, "Date")
	var out []crime
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		id, err := strconv.ParseInt(rec[idCol], 10, 64)
		if err != nil {
			return nil, err
		}
		d, err := time.Parse("01/02/2006 03:04:05 PM", rec[dateCol])
		if err != nil {
			return nil, err
		}
		out = append(out, crime{id, d})
	}
})

// expectIDs lists the ids with keep(date), ascending.
func expectIDs(t *testing.T, keep func(time.Time) bool) []int64 {
	t.Helper()
	all, err := oracle()
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	var ids []int64
	for _, c := range all {
		if keep(c.date) {
			ids = append(ids, c.id)
		}
	}
	slices.Sort(ids)
	return ids
}

func ts(s string) time.Time {
	t, err := time.Parse("2006-01-02T15:04:05", s)
	if err != nil {
		panic(err)
	}
	return t
}

func newServer(t *testing.T, d *standin.Data, opts standin.Options) (*standin.Server, *httptest.Server) {
	t.Helper()
	s, err := standin.New(d, opts)
	if err != nil {
		t.Fatalf("new stand-in: %v", err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s, hs
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func get(t *testing.T, base, path string, params map[string]string, header ...string) response {
	t.Helper()
	v := url.Values{}
	for k, val := range params {
		v.Set(k, val)
	}
	u := base + path
	if len(v) > 0 {
		u += "?" + v.Encode()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", u, err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

func decodeRows(t *testing.T, b []byte) []map[string]json.RawMessage {
	t.Helper()
	var rows []map[string]json.RawMessage
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatalf("decode rows: %v\n%.300s", err, b)
	}
	return rows
}

func idsOf(t *testing.T, rows []map[string]json.RawMessage) []int64 {
	t.Helper()
	ids := make([]int64, len(rows))
	for i, r := range rows {
		var s string
		if err := json.Unmarshal(r["id"], &s); err != nil {
			t.Fatalf("row %d: id %s is not a JSON string: %v", i, r["id"], err)
		}
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("row %d: id %q: %v", i, s, err)
		}
		ids[i] = id
	}
	return ids
}

func TestLoadRealData(t *testing.T) {
	d := needData(t)
	if got := d.Rows(standin.CrimesID); got != 267792 {
		t.Errorf("crimes rows = %d, want 267792", got)
	}
	if got := d.Rows(standin.StationsID); got != 23 {
		t.Errorf("stations rows = %d, want 23", got)
	}
}

// The portal's JSON typing, checked on known rows of the real file.
func TestCrimeJSONTyping(t *testing.T) {
	d := needData(t)
	_, hs := newServer(t, d, standin.Options{})
	r := get(t, hs.URL, "/resource/ijzp-q8t2.json", map[string]string{
		"$where": "date between '2017-01-01T00:00:00' and '2017-01-01T02:00:00'",
		"$order": ":id",
	})
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	rows := decodeRows(t, r.body)
	byID := map[string]map[string]json.RawMessage{}
	for _, row := range rows {
		byID[string(row["id"])] = row
	}

	// 11227508: no coordinates, zero-padded beat/district, false booleans.
	row := byID[`"11227508"`]
	if row == nil {
		t.Fatalf("row 11227508 missing from %d rows", len(rows))
	}
	want := map[string]string{
		"id": `"11227508"`, "case_number": `"JB146365"`, "date": `"2017-01-01T00:01:00.000"`,
		"block": `"027XX S WHIPPLE ST"`, "iucr": `"1754"`, "primary_type": `"OFFENSE INVOLVING CHILDREN"`,
		"description": `"AGG SEX ASSLT OF CHILD FAM MBR"`, "location_description": `"RESIDENCE"`,
		"arrest": `false`, "domestic": `false`, "beat": `"1033"`, "district": `"010"`, "ward": `"12"`,
		"community_area": `"30"`, "fbi_code": `"02"`, "year": `"2017"`, "updated_on": `"2018-02-11T15:57:41.000"`,
		standin.ComputedRegionField: `"30"`,
	}
	for k, v := range want {
		if got := string(row[k]); got != v {
			t.Errorf("11227508 %s = %s, want %s", k, got, v)
		}
	}
	for _, k := range []string{"x_coordinate", "y_coordinate", "latitude", "longitude", "location"} {
		if v, ok := row[k]; ok {
			t.Errorf("11227508 has empty field %s present as %s; empty fields must be absent", k, v)
		}
	}
	if len(row) != len(want) {
		t.Errorf("11227508 has %d fields, want %d: %v", len(row), len(want), keys(row))
	}

	// 10805378: coordinates and the location object.
	row = byID[`"10805378"`]
	if row == nil {
		t.Fatal("row 10805378 missing")
	}
	for k, v := range map[string]string{
		"district": `"002"`, "beat": `"0221"`, "x_coordinate": `"1180398"`, "y_coordinate": `"1874151"`,
		"latitude": `"41.80993288"`, "longitude": `"-87.613843427"`, "date": `"2017-01-01T02:00:00.000"`,
	} {
		if got := string(row[k]); got != v {
			t.Errorf("10805378 %s = %s, want %s", k, got, v)
		}
	}
	var loc map[string]any
	if err := json.Unmarshal(row["location"], &loc); err != nil {
		t.Fatalf("location: %v", err)
	}
	wantLoc := map[string]any{"latitude": "41.80993288", "longitude": "-87.613843427",
		"human_address": `{"address": "", "city": "", "state": "", "zip": ""}`}
	for k, v := range wantLoc {
		if loc[k] != v {
			t.Errorf("location.%s = %#v, want %#v", k, loc[k], v)
		}
	}
	if len(loc) != 3 {
		t.Errorf("location has %d keys: %v", len(loc), loc)
	}
}

func keys(m map[string]json.RawMessage) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	slices.Sort(k)
	return k
}

// Every value of a month of rows: strings, except booleans and location;
// never null, never empty.
func TestCrimeJSONTypingMonth(t *testing.T) {
	d := needData(t)
	_, hs := newServer(t, d, standin.Options{})
	r := get(t, hs.URL, "/resource/ijzp-q8t2.json", map[string]string{
		"$where": "date >= '2017-03-01T00:00:00' AND date < '2017-04-01T00:00:00'",
		"$limit": "50000",
	})
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var rows []map[string]any
	if err := json.Unmarshal(r.body, &rows); err != nil {
		t.Fatal(err)
	}
	want := expectIDs(t, func(d time.Time) bool {
		return !d.Before(ts("2017-03-01T00:00:00")) && d.Before(ts("2017-04-01T00:00:00"))
	})
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	var withLoc, arrests int
	for i, row := range rows {
		for k, v := range row {
			switch k {
			case "arrest", "domestic":
				b, ok := v.(bool)
				if !ok {
					t.Fatalf("row %d: %s = %#v, want a JSON boolean", i, k, v)
				}
				if k == "arrest" && b {
					arrests++
				}
			case "location":
				if _, ok := v.(map[string]any); !ok {
					t.Fatalf("row %d: location = %#v", i, v)
				}
				withLoc++
			default:
				s, ok := v.(string)
				if !ok || s == "" {
					t.Fatalf("row %d: %s = %#v, want a non-empty JSON string", i, k, v)
				}
			}
		}
		if _, ok := row["arrest"]; !ok {
			t.Fatalf("row %d lacks arrest", i)
		}
		if !strings.HasSuffix(row["date"].(string), ".000") || len(row["date"].(string)) != 23 {
			t.Fatalf("row %d: date %q", i, row["date"])
		}
	}
	if withLoc == 0 || withLoc == len(rows) {
		t.Errorf("%d of %d rows have a location; the file has some without", withLoc, len(rows))
	}
	if arrests == 0 {
		t.Error("no arrests in a month")
	}
}

// A file in the portal's full export layout (Year and Location present),
// with values that need escaping.
func TestSmallFileTypingAndEscaping(t *testing.T) {
	crimes := "\ufeffID,Case Number,Date,Block,Primary Type,Arrest,Domestic,District,Year,Updated On,Latitude,Longitude,Location\r\n" +
		"7,HX1,12/31/2016 11:59:59 PM,\"1 \"\"Q\"\" ST\\\",ODD\tTYPE <&>,True,FALSE,001,2016,,,,\"(41.5, -87.5)\"\r\n" +
		"5,HX2,01/01/2017 12:00:00 PM,\"multi\r\nline é\",X,false,false,,,01/02/2017 01:02:03 AM,41.9,-87.6,\r\n"
	stations := "DISTRICT,DISTRICT NAME,ADDRESS,LATITUDE,LONGITUDE\n1,Central,\"1718 S State St\n\",41.1,-87.1\n"
	d, err := standin.LoadReaders(strings.NewReader(crimes), strings.NewReader(stations))
	if err != nil {
		t.Fatal(err)
	}
	_, hs := newServer(t, d, standin.Options{})
	r := get(t, hs.URL, "/resource/ijzp-q8t2.json", nil)
	var rows []map[string]any
	if err := json.Unmarshal(r.body, &rows); err != nil {
		t.Fatalf("%v\n%s", err, r.body)
	}
	if len(rows) != 2 || rows[0]["id"] != "5" || rows[1]["id"] != "7" {
		t.Fatalf("rows not in :id order: %v", rows)
	}
	r5, r7 := rows[0], rows[1]
	if r7["block"] != `1 "Q" ST\` || r7["primary_type"] != "ODD\tTYPE <&>" {
		t.Errorf("escaping: block %q type %q", r7["block"], r7["primary_type"])
	}
	if r5["block"] != "multi\nline é" {
		t.Errorf("block %q", r5["block"])
	}
	if r7["arrest"] != true || r7["domestic"] != false || r7["year"] != "2016" || r7["date"] != "2016-12-31T23:59:59.000" {
		t.Errorf("row 7: %v", r7)
	}
	if loc, _ := r7["location"].(map[string]any); loc["latitude"] != "41.5" || loc["longitude"] != "-87.5" {
		t.Errorf("location from the Location column: %v", r7["location"])
	}
	if _, ok := r7["latitude"]; ok {
		t.Error("empty latitude present")
	}
	if r5["year"] != "2017" || r5["updated_on"] != "2017-01-02T01:02:03.000" || r5["date"] != "2017-01-01T12:00:00.000" {
		t.Errorf("row 5: %v", r5)
	}
	if _, ok := r5["district"]; ok {
		t.Error("empty district present")
	}
	if !bytes.Contains(r.body, []byte(`<&>`)) {
		t.Error("<&> should not be HTML-escaped")
	}
	r = get(t, hs.URL, "/resource/z8bn-74gv.json", nil)
	var st []map[string]any
	if err := json.Unmarshal(r.body, &st); err != nil || len(st) != 1 || st[0]["address"] != "1718 S State St\n" {
		t.Errorf("stations: %v %s", err, r.body)
	}
}

func TestWhereForms(t *testing.T) {
	d := needData(t)
	_, hs := newServer(t, d, standin.Options{})
	a, b := ts("2017-01-01T00:00:00"), ts("2017-01-01T06:00:00")
	ge := func(x time.Time) func(time.Time) bool { return func(d time.Time) bool { return !d.Before(x) } }
	gt := func(x time.Time) func(time.Time) bool { return func(d time.Time) bool { return d.After(x) } }
	lt := func(x time.Time) func(time.Time) bool { return func(d time.Time) bool { return d.Before(x) } }
	le := func(x time.Time) func(time.Time) bool { return func(d time.Time) bool { return !d.After(x) } }
	and := func(f, g func(time.Time) bool) func(time.Time) bool {
		return func(d time.Time) bool { return f(d) && g(d) }
	}
	// 2017-06-15T12:00:00 has several crimes at exactly that time, so
	// inclusive and exclusive bounds differ.
	noon := ts("2017-06-15T12:00:00")
	accepted := []struct {
		where string
		keep  func(time.Time) bool
	}{
		{"date >= '2017-01-01T00:00:00' AND date < '2017-01-01T06:00:00'", and(ge(a), lt(b))},
		{"date >= '2017-01-01T00:00:00.000' and date < '2017-01-01T06:00:00.000'", and(ge(a), lt(b))},
		{"(date >= '2017-01-01T00:00:00') AND (date < '2017-01-01T06:00:00')", and(ge(a), lt(b))},
		{"date BETWEEN '2017-01-01T00:00:00' AND '2017-01-01T06:00:00'", and(ge(a), le(b))},
		{"date between '2017-06-15T12:00:00' and '2017-06-15T12:00:00'", and(ge(noon), le(noon))},
		{"date > '2017-06-15T12:00:00' AND date <= '2017-06-15T13:00:00'", and(gt(noon), le(noon.Add(time.Hour)))},
		{"date >= '2017-06-15T12:00:00' AND date < '2017-06-15T13:00:00'", and(ge(noon), lt(noon.Add(time.Hour)))},
		{"date > '2017-12-31T23:00:00'", gt(ts("2017-12-31T23:00:00"))},
		{"date <= '2017-01-01T00:30:00'", le(ts("2017-01-01T00:30:00"))},
		{"date < '2017-01-02'", lt(ts("2017-01-02T00:00:00"))},
		{"date >= '2018-01-01T00:00:00'", ge(ts("2018-01-01T00:00:00"))},
		{"date >= '2017-02-01T00:00:00' AND date < '2017-01-01T00:00:00'", func(time.Time) bool { return false }},
	}
	for _, c := range accepted {
		r := get(t, hs.URL, "/resource/ijzp-q8t2.json", map[string]string{"$where": c.where, "$limit": "50000"})
		if r.status != 200 {
			t.Errorf("%s: status %d: %s", c.where, r.status, r.body)
			continue
		}
		got := idsOf(t, decodeRows(t, r.body))
		want := expectIDs(t, c.keep)
		if !slices.Equal(got, want) {
			t.Errorf("%s: %d ids, want %d", c.where, len(got), len(want))
		}
	}
	if n := len(expectIDs(t, and(ge(noon), le(noon)))); n < 2 {
		t.Fatalf("test premise: want several crimes at %s, have %d", noon, n)
	}

	rejected := []string{
		"",
		"date = '2017-01-01T00:00:00'",
		"date != '2017-01-01T00:00:00'",
		"date >= '2017-01-01T00:00:00' OR date < '2017-02-01T00:00:00'",
		"id > '5'",
		"primary_type = 'THEFT'",
		"date >= 2017",
		"date >= '2017-01-01T00:00:00Z'",
		"date >= '2017-13-01T00:00:00'",
		"date >= '01/01/2017'",
		"date >= '2017-01-01T00:00:00",
		"date >= '2017-01-01T00:00:00' AND",
		"date >= '2017-01-01T00:00:00' date < '2017-02-01T00:00:00'",
		"date between '2017-01-01T00:00:00'",
		"(date >= '2017-01-01T00:00:00'",
		"date >= '2017-01-01T00:00:00'; DROP TABLE crimes",
		"NOT date >= '2017-01-01T00:00:00'",
		"date_extract_y(date) = 2017",
	}
	for _, w := range rejected {
		r := get(t, hs.URL, "/resource/ijzp-q8t2.json", map[string]string{"$where": w})
		checkPortalError(t, r, 400, "query.compiler.malformed")
	}
	// Stations have no date column.
	r := get(t, hs.URL, "/resource/z8bn-74gv.json", map[string]string{"$where": "date >= '2017-01-01T00:00:00'"})
	checkPortalError(t, r, 400, "")
}

func checkPortalError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status %d, want %d: %s", r.status, status, r.body)
		return
	}
	var e struct {
		Code    string `json:"code"`
		Error   bool   `json:"error"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Errorf("error body is not JSON: %v: %s", err, r.body)
		return
	}
	if !e.Error || e.Message == "" || e.Code == "" || code != "" && e.Code != code {
		t.Errorf("error body %s, want code %q, error true and a message", r.body, code)
	}
}

func TestOrderLimitOffset(t *testing.T) {
	d := needData(t)
	_, hs := newServer(t, d, standin.Options{})
	where := "date >= '2017-01-01T00:00:00' AND date < '2017-01-02T00:00:00'"
	want := expectIDs(t, func(d time.Time) bool { return d.Before(ts("2017-01-02T00:00:00")) })

	// Default limit is the portal's 1000.
	r := get(t, hs.URL, "/resource/ijzp-q8t2.json", map[string]string{"$where": where})
	if n := len(decodeRows(t, r.body)); n != 1000 || len(want) <= 1000 {
		t.Errorf("default limit: %d rows (range has %d)", n, len(want))
	}
	// :id pages concatenate to the whole range.
	var got []int64
	for off := 0; ; off += 100 {
		r := get(t, hs.URL, "/resource/ijzp-q8t2.json", map[string]string{
			"$where": where, "$order": ":id", "$limit": "100", "$offset": strconv.Itoa(off)})
		ids := idsOf(t, decodeRows(t, r.body))
		got = append(got, ids...)
		if len(ids) < 100 {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf(":id paging: %d ids, want %d", len(got), len(want))
	}
	// Descending :id.
	r = get(t, hs.URL, "/resource/ijzp-q8t2.json", map[string]string{"$where": where, "$order": ":id DESC", "$limit": "5"})
	if ids := idsOf(t, decodeRows(t, r.body)); !slices.Equal(ids, []int64{want[len(want)-1], want[len(want)-2], want[len(want)-3], want[len(want)-4], want[len(want)-5]}) {
		t.Errorf(":id DESC = %v", ids)
	}
	// Date order is non-decreasing, whole dataset.
	for _, ord := range []string{"date", "date ASC", "date DESC"} {
		r = get(t, hs.URL, "/resource/ijzp-q8t2.json", map[string]string{"$order": ord, "$limit": "3000", "$offset": "100000"})
		var rows []struct{ Date string }
		if err := json.Unmarshal(r.body, &rows); err != nil || len(rows) != 3000 {
			t.Fatalf("%s: %v, %d rows", ord, err, len(rows))
		}
		for i := 1; i < len(rows); i++ {
			if (rows[i].Date < rows[i-1].Date) != (ord == "date DESC") && rows[i].Date != rows[i-1].Date {
				t.Fatalf("%s: row %d date %s after %s", ord, i, rows[i].Date, rows[i-1].Date)
			}
		}
	}
	// Whole-dataset :id paging end.
	r = get(t, hs.URL, "/resource/ijzp-q8t2.json", map[string]string{"$limit": "50000", "$offset": "250000"})
	if n := len(decodeRows(t, r.body)); n != 267792-250000 {
		t.Errorf("last page: %d rows", n)
	}
	r = get(t, hs.URL, "/resource/ijzp-q8t2.json", map[string]string{"$offset": "300000"})
	if string(r.body) != "[]\n" {
		t.Errorf("past the end: %q", r.body)
	}
	for _, bad := range []map[string]string{
		{"$limit": "-1"}, {"$limit": "ten"}, {"$offset": "-5"}, {"$order": "primary_type"},
		{"$order": ":id sideways"}, {"$select": "id"}, {"district": "018"}, {"$q": "theft"},
	} {
		checkPortalError(t, get(t, hs.URL, "/resource/ijzp-q8t2.json", bad), 400, "")
	}
	// Duplicate parameters are refused rather than guessed at.
	resp, err := http.Get(hs.URL + "/resource/ijzp-q8t2.json?$limit=1&$limit=2")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("duplicate $limit: %d", resp.StatusCode)
	}
}

func TestTokenAndNotFound(t *testing.T) {
	d := needData(t)
	s, hs := newServer(t, d, standin.Options{Token: "s3cret"})
	p := map[string]string{"$limit": "1"}
	checkPortalError(t, get(t, hs.URL, "/resource/ijzp-q8t2.json", p), 403, "")
	checkPortalError(t, get(t, hs.URL, "/resource/ijzp-q8t2.json", p, "X-App-Token", "wrong"), 403, "")
	if r := get(t, hs.URL, "/resource/ijzp-q8t2.json", p, "X-App-Token", "s3cret"); r.status != 200 {
		t.Errorf("right token: %d %s", r.status, r.body)
	}
	if r := get(t, hs.URL, "/resource/ijzp-q8t2.json", map[string]string{"$limit": "1", "$$app_token": "s3cret"}); r.status != 200 {
		t.Errorf("$$app_token: %d %s", r.status, r.body)
	}
	checkPortalError(t, get(t, hs.URL, "/resource/abcd-1234.json", nil, "X-App-Token", "s3cret"), 404, "")
	checkPortalError(t, get(t, hs.URL, "/resource/ijzp-q8t2.xml", nil, "X-App-Token", "s3cret"), 404, "")
	checkPortalError(t, get(t, hs.URL, "/api/views/ijzp-q8t2", nil), 404, "")
	if n := s.Requests("/resource/ijzp-q8t2.json"); n != 4 {
		t.Errorf("requests counted %d, want 4", n)
	}
	// Without an extension the portal answers JSON.
	_, open := newServer(t, d, standin.Options{})
	if r := get(t, open.URL, "/resource/z8bn-74gv", nil); r.status != 200 || len(decodeRows(t, r.body)) != 23 {
		t.Errorf("no extension: %d", r.status)
	}
}

func TestCSVOutput(t *testing.T) {
	d := needData(t)
	_, hs := newServer(t, d, standin.Options{})
	r := get(t, hs.URL, "/resource/z8bn-74gv.csv", nil)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("status %d, type %q", r.status, r.header.Get("Content-Type"))
	}
	recs, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantHead := []string{"district", "district_name", "address", "city", "state", "zip", "website", "phone", "fax", "tty",
		"x_coordinate", "y_coordinate", "latitude", "longitude", "location"}
	if !slices.Equal(recs[0], wantHead) || len(recs) != 24 {
		t.Fatalf("header %v, %d records", recs[0], len(recs))
	}
	var nearWest []string
	for _, rec := range recs[1:] {
		if rec[1] == "Near West" {
			nearWest = rec
		}
	}
	if nearWest == nil || nearWest[2] != "1412 S Blue Island Ave\n" || nearWest[14] != "(41.8629766244, -87.6569725149)" {
		t.Errorf("Near West: %q", nearWest)
	}

	// Crimes: same rows and values as JSON.
	p := map[string]string{"$where": "date >= '2017-07-04T00:00:00' AND date < '2017-07-05T00:00:00'", "$limit": "5000"}
	r = get(t, hs.URL, "/resource/ijzp-q8t2.csv", p)
	recs, err = csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(get(t, hs.URL, "/resource/ijzp-q8t2.json", p).body, &rows); err != nil {
		t.Fatal(err)
	}
	if len(recs)-1 != len(rows) || len(rows) == 0 {
		t.Fatalf("csv %d rows, json %d", len(recs)-1, len(rows))
	}
	head := recs[0]
	if head[0] != "id" || head[len(head)-1] != standin.ComputedRegionField || len(head) != 23 {
		t.Errorf("crimes header %v", head)
	}
	for i, rec := range recs[1:] {
		for j, name := range head {
			jv, ok := rows[i][name]
			switch {
			case name == "location":
				if ok != (rec[j] != "") {
					t.Fatalf("row %d location csv %q json %v", i, rec[j], jv)
				}
			case !ok:
				if rec[j] != "" {
					t.Fatalf("row %d %s: csv %q, absent from json", i, name, rec[j])
				}
			case name == "arrest" || name == "domestic":
				if rec[j] != strconv.FormatBool(jv.(bool)) {
					t.Fatalf("row %d %s: csv %q json %v", i, name, rec[j], jv)
				}
			default:
				if rec[j] != jv {
					t.Fatalf("row %d %s: csv %q json %q", i, name, rec[j], jv)
				}
			}
		}
	}
}

func TestFaultsThroughAdminEndpoint(t *testing.T) {
	d := needData(t)
	s, hs := newServer(t, d, standin.Options{})
	post := func(body string) int {
		resp, err := http.Post(hs.URL+"/_faults", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post(`[{"kind":"throttle","count":2,"retry_after":7},{"kind":"status","status":503},
		{"kind":"status","dataset":"z8bn-74gv"},{"kind":"delay","delay":"150ms"}]`); st != 200 {
		t.Fatalf("POST /_faults: %d", st)
	}
	for _, bad := range []string{`{"kind":"explode"}`, `{"kind":"status","status":200}`, `{"kind":"delay"}`, `{"kind":"throttle","bogus":1}`, `nope`} {
		if st := post(bad); st != 400 {
			t.Errorf("POST %s: %d, want 400", bad, st)
		}
	}
	p := map[string]string{"$limit": "1"}
	for i := 0; i < 2; i++ {
		r := get(t, hs.URL, "/resource/ijzp-q8t2.json", p)
		checkPortalError(t, r, 429, "")
		if ra := r.header.Get("Retry-After"); ra != "7" {
			t.Errorf("Retry-After = %q", ra)
		}
	}
	r := get(t, hs.URL, "/resource/ijzp-q8t2.json", p)
	if r.status != 503 || !bytes.Contains(r.body, []byte("<html>")) {
		t.Errorf("503 fault: %d %s", r.status, r.body)
	}
	// The stations fault waits for a stations request; the delay applies to the next crimes one.
	start := time.Now()
	if r := get(t, hs.URL, "/resource/ijzp-q8t2.json", p); r.status != 200 || time.Since(start) < 150*time.Millisecond {
		t.Errorf("delay fault: %d after %s", r.status, time.Since(start))
	}
	if pend := s.Faults(); len(pend) != 1 || pend[0].Dataset != standin.StationsID {
		t.Errorf("pending %+v", pend)
	}
	checkPortalError(t, get(t, hs.URL, "/resource/z8bn-74gv.json", nil), 500, "internal_error")
	if r := get(t, hs.URL, "/resource/z8bn-74gv.json", nil); r.status != 200 {
		t.Errorf("after faults: %d", r.status)
	}

	r = get(t, hs.URL, "/_requests", nil)
	var counts map[string]int
	if err := json.Unmarshal(r.body, &counts); err != nil {
		t.Fatal(err)
	}
	if counts["/resource/ijzp-q8t2.json"] != 4 || counts["/resource/z8bn-74gv.json"] != 2 {
		t.Errorf("counts %v", counts)
	}
	// Skip lets requests through first; DELETE clears.
	if err := s.Inject(standin.Fault{Kind: standin.FaultStatus, Status: 502, Skip: 1}); err != nil {
		t.Fatal(err)
	}
	if r := get(t, hs.URL, "/resource/ijzp-q8t2.json", p); r.status != 200 {
		t.Errorf("skipped request: %d", r.status)
	}
	if r := get(t, hs.URL, "/resource/ijzp-q8t2.json", p); r.status != 502 {
		t.Errorf("after skip: %d", r.status)
	}
	_ = s.Inject(standin.Fault{Kind: standin.FaultThrottle, Count: 5})
	req, _ := http.NewRequest(http.MethodDelete, hs.URL+"/_faults", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 204 {
		t.Fatalf("DELETE /_faults: %v", err)
	}
	if r := get(t, hs.URL, "/resource/ijzp-q8t2.json", p); r.status != 200 {
		t.Errorf("after clear: %d", r.status)
	}
}

func TestCutAndResetFaults(t *testing.T) {
	d := needData(t)
	_, hs := newServer(t, d, standin.Options{Faults: []standin.Fault{{Kind: standin.FaultCut}, {Kind: standin.FaultReset}}})
	resp, err := http.Get(hs.URL + "/resource/ijzp-q8t2.json?$limit=500")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut: read %d of %d bytes, err %v; want unexpected EOF", len(body), resp.ContentLength, err)
	}
	if resp.ContentLength <= int64(len(body)) || len(body) == 0 {
		t.Errorf("cut: Content-Length %d, got %d bytes", resp.ContentLength, len(body))
	}
	tr := &http.Transport{DisableKeepAlives: true} // no transparent retry on a reused connection
	defer tr.CloseIdleConnections()
	if resp, err := (&http.Client{Transport: tr}).Get(hs.URL + "/resource/ijzp-q8t2.json?$limit=5"); err == nil {
		resp.Body.Close()
		t.Errorf("reset: got status %d, want a connection error", resp.StatusCode)
	}
	if r := get(t, hs.URL, "/resource/ijzp-q8t2.json", map[string]string{"$limit": "500"}); r.status != 200 || len(decodeRows(t, r.body)) != 500 {
		t.Errorf("after faults: %d", r.status)
	}
}

func TestHealth(t *testing.T) {
	d := needData(t)
	_, hs := newServer(t, d, standin.Options{})
	r := get(t, hs.URL, "/healthz", nil)
	if r.status != 200 || !bytes.Contains(r.body, []byte(`"ijzp-q8t2":267792`)) {
		t.Errorf("healthz %d %s", r.status, r.body)
	}
}

// BenchmarkPage50000 serves one full page (50,000 rows, :id order, a date
// range) of the real 2017 data.
func BenchmarkPage50000(b *testing.B) {
	d := needData(b)
	s, err := standin.New(d, standin.Options{})
	if err != nil {
		b.Fatal(err)
	}
	q := url.Values{"$where": {"date >= '2017-02-01T00:00:00' AND date < '2017-12-01T00:00:00'"},
		"$order": {":id"}, "$limit": {"50000"}, "$offset": {"50000"}}
	for _, format := range []string{"json", "csv"} {
		b.Run(format, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/resource/ijzp-q8t2."+format+"?"+q.Encode(), nil)
			var n int
			for b.Loop() {
				w := &countingWriter{header: http.Header{}}
				s.ServeHTTP(w, req)
				if w.code != 200 {
					b.Fatal(w.code)
				}
				n = w.n
			}
			b.SetBytes(int64(n))
		})
	}
}

// countingWriter discards the body, so the benchmark measures the stand-in
// and not a recorder's buffer.
type countingWriter struct {
	header http.Header
	code   int
	n      int
}

func (w *countingWriter) Header() http.Header { return w.header }
func (w *countingWriter) WriteHeader(code int) {
	w.code = code
}
func (w *countingWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = 200
	}
	w.n += len(p)
	return len(p), nil
}
