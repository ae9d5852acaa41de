package geo

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Station is one police station of the stations dataset.
type Station struct {
	District string // "1" … "25", or "Headquarters", as given
	Name     string // district name ("Central")
	Address  string // trimmed (one address in the data ends in a newline)
	X, Y     float64
	Lat, Lon float64
}

// ReadStationsCSV reads the stations CSV. Columns are taken by name in any
// case and spelling the portal uses ("X COORDINATE", "x_coordinate"); every
// station needs a district, a name and X/Y or latitude/longitude (X/Y are
// projected from latitude/longitude when absent).
func ReadStationsCSV(ctx context.Context, r io.Reader) ([]Station, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read stations csv: %w", err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("read stations csv: no header")
	}
	header := make([]string, len(recs[0]))
	for i, h := range recs[0] {
		header[i] = key(strings.TrimPrefix(h, "\uFEFF"))
	}
	var out []Station
	for n, rec := range recs[1:] {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read stations csv: %w", err)
		}
		if len(rec) != len(header) {
			return nil, fmt.Errorf("read stations csv: record %d has %d fields, header %d", n+1, len(rec), len(header))
		}
		fields := map[string]string{}
		for i, v := range rec {
			fields[header[i]] = v
		}
		s, err := station(fields)
		if err != nil {
			return nil, fmt.Errorf("read stations csv: record %d: %w", n+1, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// ReadStationsJSON reads the stations from the portal API's JSON (an array
// of objects with snake_case names and string values).
func ReadStationsJSON(ctx context.Context, r io.Reader) ([]Station, error) {
	var objs []map[string]json.RawMessage
	if err := json.NewDecoder(r).Decode(&objs); err != nil {
		return nil, fmt.Errorf("read stations json: %w", err)
	}
	var out []Station
	for n, o := range objs {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read stations json: %w", err)
		}
		fields := map[string]string{}
		for k, raw := range o {
			var s string
			var num json.Number
			if json.Unmarshal(raw, &s) == nil {
				fields[key(k)] = s
			} else if json.Unmarshal(raw, &num) == nil {
				fields[key(k)] = num.String()
			}
		}
		s, err := station(fields)
		if err != nil {
			return nil, fmt.Errorf("read stations json: object %d: %w", n+1, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func key(h string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(h)), " ", "_")
}

// station builds a station from its fields by snake_case name.
func station(f map[string]string) (Station, error) {
	s := Station{
		District: strings.TrimSpace(f["district"]),
		Name:     strings.TrimSpace(f["district_name"]),
		Address:  strings.TrimSpace(f["address"]),
	}
	if s.District == "" || s.Name == "" {
		return s, fmt.Errorf("no district or district name")
	}
	var err error
	num := func(name string) float64 {
		v := strings.TrimSpace(f[name])
		if v == "" {
			return math.NaN()
		}
		x, e := strconv.ParseFloat(v, 64)
		if e != nil && err == nil {
			err = fmt.Errorf("district %s: bad %s %q", s.District, name, v)
		}
		return x
	}
	s.X, s.Y = num("x_coordinate"), num("y_coordinate")
	s.Lat, s.Lon = num("latitude"), num("longitude")
	if err != nil {
		return s, err
	}
	if math.IsNaN(s.X) || math.IsNaN(s.Y) {
		if math.IsNaN(s.Lat) || math.IsNaN(s.Lon) {
			return s, fmt.Errorf("district %s: no coordinates", s.District)
		}
		s.X, s.Y = ToStatePlane(s.Lat, s.Lon)
	}
	if !InChicagoXY(s.X, s.Y) {
		return s, fmt.Errorf("district %s: X/Y %.0f, %.0f outside Chicago", s.District, s.X, s.Y)
	}
	return s, nil
}

// StationsCSV writes stations as CSV with the portal API's snake_case names,
// which ReadStationsCSV reads back.
func StationsCSV(stations []Station) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	_ = w.Write([]string{"district", "district_name", "address", "x_coordinate", "y_coordinate", "latitude", "longitude"})
	for _, s := range stations {
		_ = w.Write([]string{s.District, s.Name, strings.TrimSpace(s.Address), f(s.X), f(s.Y), f(s.Lat), f(s.Lon)})
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}
