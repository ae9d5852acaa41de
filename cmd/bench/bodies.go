package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/arrestcast/arrestcast/shared/data/crime"
)

// portalRecord is a crime as the portal's JSON API sends it (and predict
// takes it): every value a string, booleans as JSON booleans, empty fields
// left out.
type portalRecord struct {
	Date                string `json:"date"`
	PrimaryType         string `json:"primary_type,omitempty"`
	IUCR                string `json:"iucr,omitempty"`
	LocationDescription string `json:"location_description,omitempty"`
	Domestic            bool   `json:"domestic"`
	Beat                string `json:"beat,omitempty"`
	District            string `json:"district,omitempty"`
	Ward                string `json:"ward,omitempty"`
	CommunityArea       string `json:"community_area,omitempty"`
	FBICode             string `json:"fbi_code,omitempty"`
	X                   string `json:"x_coordinate,omitempty"`
	Y                   string `json:"y_coordinate,omitempty"`
	Latitude            string `json:"latitude,omitempty"`
	Longitude           string `json:"longitude,omitempty"`
}

// crimeBodies turns n rows of the portal CSV export, spread evenly over the
// file's rows with coordinates, into predict request bodies. It reads the
// file twice (count, then pick) rather than holding it.
func crimeBodies(ctx context.Context, path string, n int) ([][]byte, error) {
	usable := func(r map[string]string) bool {
		return r[crime.ColX] != "" && r[crime.ColY] != "" && r[crime.ColLatitude] != ""
	}
	total := 0
	if err := scanPortal(ctx, path, func(r map[string]string) error {
		if usable(r) {
			total++
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if total == 0 {
		return nil, fmt.Errorf("%s: no row with coordinates", path)
	}
	n = min(n, total)
	bodies := make([][]byte, 0, n)
	seen := 0
	err := scanPortal(ctx, path, func(r map[string]string) error {
		if !usable(r) {
			return nil
		}
		i := seen
		seen++
		// Row i is picked when it is the first usable row of its n-th of the file.
		if len(bodies) >= n || i != len(bodies)*total/n {
			return nil
		}
		rec, err := toPortalRecord(r)
		if err != nil {
			return err
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		bodies = append(bodies, b)
		return nil
	})
	return bodies, err
}

func toPortalRecord(r map[string]string) (portalRecord, error) {
	t, err := time.Parse("01/02/2006 03:04:05 PM", r[crime.ColDate])
	if err != nil {
		return portalRecord{}, fmt.Errorf("date %q: %w", r[crime.ColDate], err)
	}
	return portalRecord{
		Date:                t.Format("2006-01-02T15:04:05.000"),
		PrimaryType:         r[crime.ColPrimaryType],
		IUCR:                r[crime.ColIUCR],
		LocationDescription: r[crime.ColLocationDescription],
		Domestic:            strings.EqualFold(r[crime.ColDomestic], "true"),
		Beat:                r[crime.ColBeat],
		District:            r[crime.ColDistrict],
		Ward:                r[crime.ColWard],
		CommunityArea:       r[crime.ColCommunityArea],
		FBICode:             r[crime.ColFBICode],
		X:                   r[crime.ColX],
		Y:                   r[crime.ColY],
		Latitude:            r[crime.ColLatitude],
		Longitude:           r[crime.ColLongitude],
	}, nil
}

// scanPortal calls fn with each row of a (gzipped) portal CSV, keyed by
// snake_case column names (the map is reused between calls).
func scanPortal(ctx context.Context, path string, fn func(map[string]string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open crimes: %w", err)
	}
	defer f.Close()
	var r io.Reader = bufio.NewReaderSize(f, 1<<20)
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("open crimes %s: %w", path, err)
		}
		r = zr
	}
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return fmt.Errorf("read crimes header: %w", err)
	}
	head = slices.Clone(head)
	for i := range head {
		head[i] = crime.SnakeCase(strings.TrimPrefix(head[i], "\ufeff"))
	}
	m := make(map[string]string, len(head))
	for i := 0; ; i++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read crimes row %d: %w", i+1, err)
		}
		if i%16384 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		for j, v := range rec {
			if j < len(head) {
				m[head[j]] = v
			}
		}
		if err := fn(m); err != nil {
			return fmt.Errorf("crimes row %d: %w", i+1, err)
		}
	}
}

// featureBodies turns the first n rows of seed_recipe.py's ml-ready test.csv
// into FastAPI request bodies: the encoded features by name, without arrest.
func featureBodies(path string, n int) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open ml-ready test set: %w", err)
	}
	defer f.Close()
	cr := csv.NewReader(bufio.NewReader(f))
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read %s header: %w", path, err)
	}
	var bodies [][]byte
	for len(bodies) < n {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		obj := map[string]float64{}
		for j, name := range head {
			if name == "arrest" || j >= len(rec) {
				continue
			}
			v, err := strconv.ParseFloat(rec[j], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: column %s: %w", path, name, err)
			}
			obj[name] = v
		}
		b, err := json.Marshal(obj)
		if err != nil {
			return nil, err
		}
		bodies = append(bodies, b)
	}
	if len(bodies) == 0 {
		return nil, fmt.Errorf("%s: no rows", path)
	}
	return bodies, nil
}
