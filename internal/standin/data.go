package standin

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Dataset ids served by the stand-in.
const (
	CrimesID   = "ijzp-q8t2"
	StationsID = "z8bn-74gv"
)

// ComputedRegionField is a computed-region column like the portal's; clients
// must ignore it.
const ComputedRegionField = ":@computed_region_awaf_s7ux"

// Data is the immutable content served by one or more Servers.
type Data struct {
	sets map[string]*dataset
}

// Load reads the crimes and police-stations CSV files (the portal's CSV
// export; plain or gzip, detected from the content). An empty path gives an
// empty dataset.
func Load(crimesPath, stationsPath string) (*Data, error) {
	open := func(path string, read func(io.Reader) (*dataset, error)) (*dataset, error) {
		if path == "" {
			return read(nil)
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return read(f)
	}
	crimes, err := open(crimesPath, readCrimes)
	if err != nil {
		return nil, fmt.Errorf("load crimes %s: %w", crimesPath, err)
	}
	stations, err := open(stationsPath, readStations)
	if err != nil {
		return nil, fmt.Errorf("load stations %s: %w", stationsPath, err)
	}
	return &Data{sets: map[string]*dataset{CrimesID: crimes, StationsID: stations}}, nil
}

// LoadReaders is Load from readers; a nil reader gives an empty dataset.
func LoadReaders(crimes, stations io.Reader) (*Data, error) {
	c, err := readCrimes(crimes)
	if err != nil {
		return nil, fmt.Errorf("load crimes: %w", err)
	}
	s, err := readStations(stations)
	if err != nil {
		return nil, fmt.Errorf("load stations: %w", err)
	}
	return &Data{sets: map[string]*dataset{CrimesID: c, StationsID: s}}, nil
}

// Rows reports how many rows a dataset holds (0 for an unknown id).
func (d *Data) Rows(dataset string) int {
	if s := d.sets[dataset]; s != nil {
		return s.n
	}
	return 0
}

type kind uint8

const (
	kText     kind = iota // JSON string
	kBool                 // JSON boolean
	kLocation             // {"latitude","longitude","human_address"} from two slots
)

type field struct {
	name string
	key  []byte // `"name":`, pre-rendered
	kind kind
	slot int // stored value; kLocation uses slot (lat) and slot+1 (lon)
}

func mkFields(specs ...field) []field {
	for i := range specs {
		specs[i].key = append(appendString(nil, specs[i].name), ':')
	}
	return specs
}

// dataset stores each row's values concatenated in one string; ends[r*nslots+v]
// is where value v of row r ends in it (values start where the previous one
// ends). One allocation per row keeps the 267k-row year compact and quick to load.
type dataset struct {
	id     string
	fields []field
	nslots int
	n      int
	rows   []string
	ends   []uint16

	hasDate     bool
	byID        []int32 // rows in :id order
	rank        []int32 // row -> position in byID
	byDate      []int32 // rows in (date, :id) order
	sortedDates []int64 // date (ms of the floating wall clock) of byDate[k]

	cacheMu sync.Mutex
	cache   []rankCache // :id-ordered ranks of recent date ranges (paging repeats them)

	perRow [2]atomic.Int64 // largest bytes per rendered row seen, [json, csv]
}

// estimate guesses a page's size so its buffer is allocated once.
func (d *dataset) estimate(csv bool, rows int) int {
	i := 0
	if csv {
		i = 1
	}
	per := d.perRow[i].Load()
	if per == 0 {
		per = 1024
	}
	return 4096 + rows*int(per+per/16)
}

func (d *dataset) observe(csv bool, rows, size int) {
	if rows == 0 {
		return
	}
	i := 0
	if csv {
		i = 1
	}
	per := int64(size / rows)
	for {
		old := d.perRow[i].Load()
		if per <= old || d.perRow[i].CompareAndSwap(old, per) {
			return
		}
	}
}

type rankCache struct {
	lo, hi int
	ranks  []int32
}

func (d *dataset) val(row, slot int) string {
	i := row*d.nslots + slot
	start := uint16(0)
	if slot > 0 {
		start = d.ends[i-1]
	}
	return d.rows[row][start:d.ends[i]]
}

// Crime value slots.
const (
	cID = iota
	cCase
	cDate
	cBlock
	cIUCR
	cType
	cDesc
	cLocDesc
	cArrest
	cDomestic
	cBeat
	cDistrict
	cWard
	cCommunity
	cFBI
	cX
	cY
	cYear
	cUpdated
	cLat
	cLon
	cLocLat
	cLocLon
	cRegion
	nCrimeSlots
)

var crimeFields = mkFields(
	field{name: "id", slot: cID},
	field{name: "case_number", slot: cCase},
	field{name: "date", slot: cDate},
	field{name: "block", slot: cBlock},
	field{name: "iucr", slot: cIUCR},
	field{name: "primary_type", slot: cType},
	field{name: "description", slot: cDesc},
	field{name: "location_description", slot: cLocDesc},
	field{name: "arrest", slot: cArrest, kind: kBool},
	field{name: "domestic", slot: cDomestic, kind: kBool},
	field{name: "beat", slot: cBeat},
	field{name: "district", slot: cDistrict},
	field{name: "ward", slot: cWard},
	field{name: "community_area", slot: cCommunity},
	field{name: "fbi_code", slot: cFBI},
	field{name: "x_coordinate", slot: cX},
	field{name: "y_coordinate", slot: cY},
	field{name: "year", slot: cYear},
	field{name: "updated_on", slot: cUpdated},
	field{name: "latitude", slot: cLat},
	field{name: "longitude", slot: cLon},
	field{name: "location", slot: cLocLat, kind: kLocation},
	field{name: ComputedRegionField, slot: cRegion},
)

// Station value slots.
const (
	sDistrict = iota
	sName
	sAddress
	sCity
	sState
	sZip
	sWebsite
	sPhone
	sFax
	sTTY
	sX
	sY
	sLat
	sLon
	sLocLat
	sLocLon
	nStationSlots
)

var stationFields = mkFields(
	field{name: "district", slot: sDistrict},
	field{name: "district_name", slot: sName},
	field{name: "address", slot: sAddress},
	field{name: "city", slot: sCity},
	field{name: "state", slot: sState},
	field{name: "zip", slot: sZip},
	field{name: "website", slot: sWebsite},
	field{name: "phone", slot: sPhone},
	field{name: "fax", slot: sFax},
	field{name: "tty", slot: sTTY},
	field{name: "x_coordinate", slot: sX},
	field{name: "y_coordinate", slot: sY},
	field{name: "latitude", slot: sLat},
	field{name: "longitude", slot: sLon},
	field{name: "location", slot: sLocLat, kind: kLocation},
)

// csvTable reads a CSV with a header row; columns are found by normalized
// name ("Case Number", "CASE NUMBER" and "case_number" are the same).
type csvTable struct {
	r   *csv.Reader
	col map[string]int
}

func openCSV(r io.Reader) (*csvTable, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	var src io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gunzip: %w", err)
		}
		src = zr
	}
	cr := csv.NewReader(src)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	t := &csvTable{r: cr, col: make(map[string]int, len(head))}
	for i, h := range head {
		t.col[normalize(h)] = i
	}
	return t, nil
}

func normalize(h string) string {
	h = strings.TrimPrefix(h, "\ufeff")
	h = strings.ToLower(strings.TrimSpace(h))
	return strings.ReplaceAll(h, " ", "_")
}

// index returns the column of name, or -1.
func (t *csvTable) index(name string) int {
	if i, ok := t.col[name]; ok {
		return i
	}
	return -1
}

func get(rec []string, i int) string {
	if i < 0 {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

// builder collects rows.
type builder struct {
	rows []string
	ends []uint16
	buf  []byte
}

func (b *builder) add(vals []string) error {
	b.buf = b.buf[:0]
	for _, v := range vals {
		b.buf = append(b.buf, v...)
		if len(b.buf) > math.MaxUint16 {
			return fmt.Errorf("row %d: more than %d bytes of values", len(b.rows)+1, math.MaxUint16)
		}
		b.ends = append(b.ends, uint16(len(b.buf)))
	}
	b.rows = append(b.rows, string(b.buf))
	return nil
}

func readCrimes(r io.Reader) (*dataset, error) {
	d := &dataset{id: CrimesID, fields: crimeFields, nslots: nCrimeSlots, hasDate: true}
	if r == nil {
		return d.finish(nil, nil, nil)
	}
	t, err := openCSV(r)
	if err != nil {
		return nil, err
	}
	src := [nCrimeSlots]int{}
	for slot, name := range map[int]string{
		cID: "id", cCase: "case_number", cDate: "date", cBlock: "block", cIUCR: "iucr",
		cType: "primary_type", cDesc: "description", cLocDesc: "location_description",
		cArrest: "arrest", cDomestic: "domestic", cBeat: "beat", cDistrict: "district",
		cWard: "ward", cCommunity: "community_area", cFBI: "fbi_code", cX: "x_coordinate",
		cY: "y_coordinate", cYear: "year", cUpdated: "updated_on", cLat: "latitude",
		cLon: "longitude", cRegion: ComputedRegionField,
	} {
		src[slot] = t.index(name)
	}
	src[cLocLat], src[cLocLon] = -1, -1
	locCol := t.index("location")
	if src[cID] < 0 || src[cDate] < 0 {
		return nil, errors.New(`header lacks "ID" or "Date"`)
	}

	var (
		b     builder
		ids   []int64
		dates []int64
		vals  [nCrimeSlots]string
	)
	for {
		rec, err := t.r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		line, _ := t.r.FieldPos(0)
		for slot, i := range src {
			vals[slot] = get(rec, i)
		}
		id, err := strconv.ParseInt(vals[cID], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: id %q: %w", line, vals[cID], err)
		}
		ms, iso, err := parseDate(vals[cDate])
		if err != nil {
			return nil, fmt.Errorf("line %d: date: %w", line, err)
		}
		vals[cDate] = iso
		if vals[cUpdated] != "" {
			if _, vals[cUpdated], err = parseDate(vals[cUpdated]); err != nil {
				return nil, fmt.Errorf("line %d: updated on: %w", line, err)
			}
		}
		for _, s := range []int{cArrest, cDomestic} {
			if vals[s], err = normBool(vals[s]); err != nil {
				return nil, fmt.Errorf("line %d: %s: %w", line, crimeFields[s].name, err)
			}
		}
		if vals[cYear] == "" {
			vals[cYear] = iso[:4]
		}
		vals[cLocLat], vals[cLocLon] = location(vals[cLat], vals[cLon], get(rec, locCol))
		if src[cRegion] < 0 {
			vals[cRegion] = vals[cCommunity] // any stable value will do
		}
		if err := b.add(vals[:]); err != nil {
			return nil, err
		}
		ids = append(ids, id)
		dates = append(dates, ms)
	}
	return d.finish(&b, ids, dates)
}

func readStations(r io.Reader) (*dataset, error) {
	d := &dataset{id: StationsID, fields: stationFields, nslots: nStationSlots}
	if r == nil {
		return d.finish(nil, nil, nil)
	}
	t, err := openCSV(r)
	if err != nil {
		return nil, err
	}
	var src [nStationSlots]int
	for _, f := range stationFields {
		if f.kind != kLocation {
			src[f.slot] = t.index(f.name)
		}
	}
	src[sLocLat], src[sLocLon] = -1, -1
	if src[sDistrict] < 0 {
		return nil, errors.New(`header lacks "DISTRICT"`)
	}
	locCol := t.index("location")
	var (
		b    builder
		vals [nStationSlots]string
	)
	for {
		rec, err := t.r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		for slot, i := range src {
			if i >= 0 {
				vals[slot] = rec[i] // values as exported (the address with a newline stays so)
			} else {
				vals[slot] = ""
			}
		}
		// The LOCATION column carries more digits than LATITUDE/LONGITUDE.
		vals[sLocLat], vals[sLocLon] = location("", "", get(rec, locCol))
		if vals[sLocLat] == "" {
			vals[sLocLat], vals[sLocLon] = location(vals[sLat], vals[sLon], "")
		}
		if err := b.add(vals[:]); err != nil {
			return nil, err
		}
	}
	return d.finish(&b, nil, nil)
}

// finish builds the indexes. ids/dates are nil for datasets without them,
// whose :id order is file order.
func (d *dataset) finish(b *builder, ids, dates []int64) (*dataset, error) {
	if b == nil {
		b = &builder{}
	}
	d.n = len(b.rows)
	d.rows, d.ends = b.rows, b.ends
	d.byID = make([]int32, d.n)
	for i := range d.byID {
		d.byID[i] = int32(i)
	}
	if ids != nil {
		// Ties (duplicate ids) keep file order: a total order keeps paging stable.
		slices.SortFunc(d.byID, func(a, b int32) int {
			if c := cmp64(ids[a], ids[b]); c != 0 {
				return c
			}
			return int(a - b)
		})
	}
	d.rank = make([]int32, d.n)
	for k, row := range d.byID {
		d.rank[row] = int32(k)
	}
	if d.hasDate {
		d.byDate = slices.Clone(d.byID)
		slices.SortFunc(d.byDate, func(a, b int32) int {
			if c := cmp64(dates[a], dates[b]); c != 0 {
				return c
			}
			return int(d.rank[a] - d.rank[b])
		})
		d.sortedDates = make([]int64, d.n)
		for k, row := range d.byDate {
			d.sortedDates[k] = dates[row]
		}
	}
	return d, nil
}

func cmp64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func normBool(s string) (string, error) {
	switch {
	case s == "":
		return "", nil
	case strings.EqualFold(s, "true"):
		return "true", nil
	case strings.EqualFold(s, "false"):
		return "false", nil
	}
	return "", fmt.Errorf("not a boolean: %q", s)
}

// location picks the point for the location object: latitude/longitude, or
// else the export's "(lat, lon)" column.
func location(lat, lon, loc string) (string, string) {
	if lat != "" && lon != "" {
		return lat, lon
	}
	loc = strings.TrimSpace(loc)
	if !strings.HasPrefix(loc, "(") || !strings.HasSuffix(loc, ")") {
		return "", ""
	}
	a, b, ok := strings.Cut(loc[1:len(loc)-1], ",")
	if !ok {
		return "", ""
	}
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if _, err := strconv.ParseFloat(a, 64); err != nil {
		return "", ""
	}
	if _, err := strconv.ParseFloat(b, 64); err != nil {
		return "", ""
	}
	return a, b
}

// parseDate reads the export's "01/02/2006 03:04:05 PM" (fast path) or an
// ISO floating timestamp, returning the wall clock in ms (as if UTC) and the
// portal's JSON form "2006-01-02T15:04:05.000".
func parseDate(s string) (int64, string, error) {
	var t time.Time
	if len(s) == 22 && s[2] == '/' && s[5] == '/' && s[10] == ' ' && s[13] == ':' && s[16] == ':' && s[19] == ' ' {
		mo, ok1 := atoi(s[0:2])
		dd, ok2 := atoi(s[3:5])
		yy, ok3 := atoi(s[6:10])
		hh, ok4 := atoi(s[11:13])
		mi, ok5 := atoi(s[14:16])
		ss, ok6 := atoi(s[17:19])
		pm := s[20:22] == "PM"
		if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || hh < 1 || hh > 12 || mi > 59 || ss > 59 ||
			!pm && s[20:22] != "AM" {
			return 0, "", fmt.Errorf("bad date %q", s)
		}
		hh %= 12
		if pm {
			hh += 12
		}
		t = time.Date(yy, time.Month(mo), dd, hh, mi, ss, 0, time.UTC)
		if int(t.Month()) != mo || t.Day() != dd {
			return 0, "", fmt.Errorf("bad date %q", s)
		}
	} else {
		var err error
		if t, err = parseFloating(s); err != nil {
			return 0, "", err
		}
	}
	return t.UnixMilli(), t.Format("2006-01-02T15:04:05.000"), nil
}

func atoi(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// parseFloating reads a SoQL floating timestamp: 2006-01-02, 2006-01-02T15:04:05
// with optional fraction (a space instead of T is tolerated in files).
func parseFloating(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02", "01/02/2006 03:04:05 PM"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad floating timestamp %q", s)
}
