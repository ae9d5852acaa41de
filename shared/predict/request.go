// Package serve is predict's HTTP surface: it parses raw crime records as
// the portal's API gives them, checks them, and answers with the champion
// model's probabilities; it also keeps the champion loaded, swapping in a new
// one without a restart.
package predict

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/geo"
	"github.com/arrestcast/arrestcast/shared/model"
)

// Limits of one request.
const (
	MaxBody    = 8 << 20
	MaxRecords = 10_000
)

// Raw is one checked, normalised crime of a request.
type Raw = model.Raw

// InputError is a request refused with 400: the field (and, for arrays, the
// index of the record) and why.
type InputError struct {
	Index   int // -1 for a single record or the whole body
	Field   string
	Message string
}

func (e *InputError) Error() string {
	if e.Index >= 0 {
		return fmt.Sprintf("record %d: %s: %s", e.Index, e.Field, e.Message)
	}
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// flex is a JSON value that may come as a string, a number or a boolean.
type flex struct {
	set  bool
	null bool
	str  string
	num  float64
	kind byte // 's', 'n', 'b', or 'x' for an object or array (refused by check, naming the field)
	b    bool
}

// UnmarshalJSON never fails on a well-formed value: the field's check
// refuses what it cannot take, so the error names the field.
func (f *flex) UnmarshalJSON(data []byte) error {
	f.set = true
	switch {
	case len(data) == 0:
		f.kind = 'x'
	case data[0] == '"':
		f.kind = 's'
		return json.Unmarshal(data, &f.str)
	case string(data) == "null":
		f.null = true
	case string(data) == "true" || string(data) == "false":
		f.kind, f.b = 'b', data[0] == 't'
	case data[0] == '-' || (data[0] >= '0' && data[0] <= '9'):
		v, err := strconv.ParseFloat(string(data), 64)
		if err != nil || math.IsInf(v, 0) {
			f.kind = 'x'
			return nil
		}
		f.kind, f.num = 'n', v
	default:
		f.kind = 'x'
	}
	return nil
}

// inRecord is the portal API's record (snake_case); other fields are ignored.
type inRecord struct {
	Date          flex `json:"date"`
	IUCR          flex `json:"iucr"`
	PrimaryType   flex `json:"primary_type"`
	Location      flex `json:"location_description"`
	Description   flex `json:"description"`
	Domestic      flex `json:"domestic"`
	Beat          flex `json:"beat"`
	District      flex `json:"district"`
	Ward          flex `json:"ward"`
	CommunityArea flex `json:"community_area"`
	FBICode       flex `json:"fbi_code"`
	X             flex `json:"x_coordinate"`
	Y             flex `json:"y_coordinate"`
	Lat           flex `json:"latitude"`
	Lon           flex `json:"longitude"`
}

// ParseRequest reads one record or an array of records. array reports which.
func ParseRequest(body []byte) (recs []Raw, array bool, err error) {
	if len(body) > MaxBody {
		return nil, false, &InputError{Index: -1, Field: "body", Message: fmt.Sprintf("larger than %d bytes", MaxBody)}
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, false, &InputError{Index: -1, Field: "body", Message: "empty: send a crime record or an array of them"}
	}
	var ins []inRecord
	switch trimmed[0] {
	case '{':
		var one inRecord
		if err := json.Unmarshal(trimmed, &one); err != nil {
			return nil, false, jsonError(-1, err)
		}
		ins = []inRecord{one}
	case '[':
		array = true
		var raw []json.RawMessage
		if err := json.Unmarshal(trimmed, &raw); err != nil {
			return nil, true, &InputError{Index: -1, Field: "body", Message: "invalid JSON array"}
		}
		if len(raw) > MaxRecords {
			return nil, true, &InputError{Index: -1, Field: "body", Message: fmt.Sprintf("%d records, at most %d per request", len(raw), MaxRecords)}
		}
		if len(raw) == 0 {
			return nil, true, &InputError{Index: -1, Field: "body", Message: "empty array"}
		}
		ins = make([]inRecord, len(raw))
		for i, r := range raw {
			if err := json.Unmarshal(r, &ins[i]); err != nil {
				return nil, true, jsonError(i, err)
			}
		}
	default:
		return nil, false, &InputError{Index: -1, Field: "body", Message: "invalid JSON: want an object or an array"}
	}
	recs = make([]Raw, len(ins))
	idx := func(i int) int {
		if array {
			return i
		}
		return -1
	}
	for i := range ins {
		if err := ins[i].check(idx(i), &recs[i]); err != nil {
			return nil, array, err
		}
	}
	return recs, array, nil
}

// jsonError names the field of a decoding error when encoding/json says it.
func jsonError(index int, err error) *InputError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		f := te.Field
		if f == "" {
			f = "body"
		}
		return &InputError{Index: index, Field: f, Message: "want a JSON object with the portal's fields"}
	}
	msg := err.Error()
	// encoding/json reports errors from a field's UnmarshalJSON as
	// "json: cannot unmarshal ... into Go struct field inRecord.<field> ...".
	if i := strings.Index(msg, "inRecord."); i >= 0 {
		rest := msg[i+len("inRecord."):]
		if j := strings.IndexAny(rest, " "); j >= 0 {
			rest = rest[:j]
		}
		return &InputError{Index: index, Field: rest, Message: "want a string, number or boolean"}
	}
	return &InputError{Index: index, Field: "body", Message: "invalid JSON"}
}

// code normalises a code given as a string or a number, zero-padded to the
// portal's width (beat "0631", district "006", iucr "0486", fbi_code "06").
func code(f flex, width int, field string, index int) (string, error) {
	if !f.set || f.null {
		return "", nil
	}
	var s string
	switch f.kind {
	case 's':
		s = strings.TrimSpace(f.str)
	case 'n':
		if f.num != math.Trunc(f.num) || f.num < 0 || f.num > 1e9 {
			return "", &InputError{Index: index, Field: field, Message: "want a code such as \"0631\" or 631"}
		}
		s = strconv.FormatInt(int64(f.num), 10)
	default:
		return "", &InputError{Index: index, Field: field, Message: "want a string or a number"}
	}
	if width > 0 && len(s) < width && isDigits(s) {
		s = strings.Repeat("0", width-len(s)) + s
	}
	return s, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func text(f flex, field string, index int) (string, error) {
	if !f.set || f.null {
		return "", nil
	}
	if f.kind != 's' {
		return "", &InputError{Index: index, Field: field, Message: "want a string"}
	}
	return strings.ToUpper(strings.TrimSpace(f.str)), nil
}

func number(f flex, field string, index int) (float64, error) {
	if !f.set || f.null {
		return math.NaN(), nil
	}
	switch f.kind {
	case 'n':
		return f.num, nil
	case 's':
		s := strings.TrimSpace(f.str)
		if s == "" {
			return math.NaN(), nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err == nil && !math.IsInf(v, 0) && !math.IsNaN(v) {
			return v, nil
		}
	}
	return 0, &InputError{Index: index, Field: field, Message: "want a number"}
}

func boolean(f flex, field string, index int) (bool, error) {
	if !f.set || f.null {
		return false, nil
	}
	switch {
	case f.kind == 'b':
		return f.b, nil
	case f.kind == 's' && strings.EqualFold(strings.TrimSpace(f.str), "true"):
		return true, nil
	case f.kind == 's' && strings.EqualFold(strings.TrimSpace(f.str), "false"):
		return false, nil
	}
	return false, &InputError{Index: index, Field: field, Message: `want true, false, "true" or "false"`}
}

// check validates one record into r.
func (in *inRecord) check(index int, r *Raw) error {
	if !in.Date.set || in.Date.null {
		return &InputError{Index: index, Field: "date", Message: "required, like 2018-03-04T13:00:00"}
	}
	if in.Date.kind != 's' {
		return &InputError{Index: index, Field: "date", Message: "want a string like 2018-03-04T13:00:00"}
	}
	d, err := crime.ParseDate(strings.TrimSpace(in.Date.str))
	if err != nil {
		return &InputError{Index: index, Field: "date", Message: "unparseable: want 2018-03-04T13:00:00 (optionally .000)"}
	}
	r.Date = d
	type spec struct {
		f     flex
		dst   *string
		name  string
		width int // -1: free text
	}
	for _, s := range []spec{
		{in.IUCR, &r.IUCR, "iucr", 4},
		{in.PrimaryType, &r.PrimaryType, "primary_type", -1},
		{in.Location, &r.Location, "location_description", -1},
		{in.Description, &r.Description, "description", -1},
		{in.Beat, &r.Beat, "beat", 4},
		{in.District, &r.District, "district", 3},
		{in.Ward, &r.Ward, "ward", 0},
		{in.CommunityArea, &r.CommunityArea, "community_area", 0},
		{in.FBICode, &r.FBICode, "fbi_code", 2},
	} {
		var v string
		var err error
		if s.width < 0 {
			v, err = text(s.f, s.name, index)
		} else {
			v, err = code(s.f, s.width, s.name, index)
		}
		if err != nil {
			return err
		}
		*s.dst = v
	}
	if r.Domestic, err = boolean(in.Domestic, "domestic", index); err != nil {
		return err
	}
	for _, s := range []struct {
		f    flex
		dst  *float64
		name string
	}{{in.X, &r.X, "x_coordinate"}, {in.Y, &r.Y, "y_coordinate"}, {in.Lat, &r.Lat, "latitude"}, {in.Lon, &r.Lon, "longitude"}} {
		if *s.dst, err = number(s.f, s.name, index); err != nil {
			return err
		}
	}
	hasXY := !math.IsNaN(r.X) || !math.IsNaN(r.Y)
	hasLL := !math.IsNaN(r.Lat) || !math.IsNaN(r.Lon)
	switch {
	case hasXY:
		if !geo.InChicagoXY(r.X, r.Y) {
			return &InputError{Index: index, Field: "x_coordinate", Message: "x/y outside the City of Chicago (EPSG:3435 feet)"}
		}
	case hasLL:
		if !geo.InChicagoLatLon(r.Lat, r.Lon) {
			return &InputError{Index: index, Field: "latitude", Message: "latitude/longitude outside the City of Chicago"}
		}
	default:
		return &InputError{Index: index, Field: "x_coordinate", Message: "required: x_coordinate/y_coordinate or latitude/longitude"}
	}
	return nil
}
