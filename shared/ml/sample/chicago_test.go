package sample

import (
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/repo"
)

var (
	crimesFile   = repo.Path(repo.Crimes2017)
	stationsFile = repo.Path(repo.Stations)
)

// train2017 is the 2017 training table encoded close to the seed's steps 4-8
// (enrich, dedupe, 80/20 stratified split, distance outliers, frequency and
// one-hot encoding, scaling): 21 feature columns and the arrest label. It is a
// benchmark fixture with the real data's shape and structure, not the
// production encoder (differences: a PCG split instead of scikit-learn's, ward,
// beat and community area left as categories instead of median-filled).
type train2017 struct {
	X [][]float64
	y []uint8
}

var (
	trainOnce sync.Once
	trainData train2017
	trainErr  error
)

// loadTrain2017 builds the fixture once per test binary; it skips when the
// real data file is absent (as in a function's build context).
func loadTrain2017(tb testing.TB) train2017 {
	tb.Helper()
	if _, err := os.Stat(crimesFile); errors.Is(err, fs.ErrNotExist) {
		tb.Skipf("real data %s not present", crimesFile)
	}
	trainOnce.Do(func() { trainData, trainErr = buildTrain2017() })
	if trainErr != nil {
		tb.Fatal(trainErr)
	}
	return trainData
}

type station struct {
	district, name string
	x, y           float64
}

func readStations() ([]station, error) {
	f, err := os.Open(stationsFile)
	if err != nil {
		return nil, fmt.Errorf("read stations: %w", err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read stations: %w", err)
	}
	col := columnIndex(recs[0])
	var out []station
	for _, r := range recs[1:] {
		x, err1 := strconv.ParseFloat(r[col["X COORDINATE"]], 64)
		y, err2 := strconv.ParseFloat(r[col["Y COORDINATE"]], 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("read stations: %w", err)
		}
		out = append(out, station{r[col["DISTRICT"]], r[col["DISTRICT NAME"]], x, y})
	}
	return out, nil
}

func columnIndex(header []string) map[string]int {
	m := make(map[string]int, len(header))
	for i, h := range header {
		m[h] = i
	}
	return m
}

type crimeRow struct {
	cat              [10]string // frequency-encoded categories
	x, y, dist       float64
	dow, month, hour int
	domestic, arrest bool
}

func buildTrain2017() (train2017, error) {
	stations, err := readStations()
	if err != nil {
		return train2017{}, err
	}
	f, err := os.Open(crimesFile)
	if err != nil {
		return train2017{}, fmt.Errorf("read crimes: %w", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return train2017{}, fmt.Errorf("read crimes: %w", err)
	}
	r := csv.NewReader(gz)
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return train2017{}, fmt.Errorf("read crimes header: %w", err)
	}
	col := columnIndex(header)
	get := func(rec []string, name string) string { return rec[col[name]] }
	orUnknown := func(s string) string {
		if s == "" {
			return "UNKNOWN"
		}
		return s
	}

	seen := make(map[string]bool)
	var rows []crimeRow
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return train2017{}, fmt.Errorf("read crimes: %w", err)
		}
		xs, ys := get(rec, "X Coordinate"), get(rec, "Y Coordinate")
		if xs == "" || ys == "" {
			continue
		}
		// Duplicates over the kept columns (the seed drops them before splitting).
		key := strings.Join([]string{get(rec, "Date"), get(rec, "IUCR"), get(rec, "Description"),
			get(rec, "Location Description"), get(rec, "Arrest"), get(rec, "Domestic"), get(rec, "Beat"),
			get(rec, "Ward"), get(rec, "Community Area"), xs, ys}, "|")
		if seen[key] {
			continue
		}
		seen[key] = true
		x, err1 := strconv.ParseFloat(xs, 64)
		y, err2 := strconv.ParseFloat(ys, 64)
		when, err3 := time.Parse("01/02/2006 03:04:05 PM", get(rec, "Date"))
		if err := errors.Join(err1, err2, err3); err != nil {
			return train2017{}, fmt.Errorf("read crimes: %w", err)
		}
		best, bd := 0, math.Inf(1)
		for s, st := range stations {
			if d := math.Hypot(x-st.x, y-st.y); d < bd {
				best, bd = s, d
			}
		}
		rows = append(rows, crimeRow{
			cat: [10]string{get(rec, "IUCR"), get(rec, "Primary Type"), orUnknown(get(rec, "Location Description")),
				get(rec, "FBI Code"), orUnknown(get(rec, "District")), stations[best].district, stations[best].name,
				get(rec, "Beat"), orUnknown(get(rec, "Ward")), orUnknown(get(rec, "Community Area"))},
			x: x, y: y, dist: bd,
			dow: int(when.Weekday()) + 1, month: int(when.Month()), hour: when.Hour(),
			domestic: get(rec, "Domestic") == "true", arrest: get(rec, "Arrest") == "true",
		})
	}

	// Stratified 80/20 split.
	rng := rand.New(rand.NewPCG(42, 0))
	var byClass [2][]int
	for i, row := range rows {
		c := 0
		if row.arrest {
			c = 1
		}
		byClass[c] = append(byClass[c], i)
	}
	var train []int
	for _, ids := range byClass {
		rng.Shuffle(len(ids), func(a, b int) { ids[a], ids[b] = ids[b], ids[a] })
		nTest := int(math.Ceil(0.2 * float64(len(ids))))
		train = append(train, ids[nTest:]...)
	}

	// Outliers on the distance, train mean ± 3 sample standard deviations.
	var sum, sq float64
	for _, i := range train {
		sum += rows[i].dist
	}
	mean := sum / float64(len(train))
	for _, i := range train {
		sq += (rows[i].dist - mean) * (rows[i].dist - mean)
	}
	sd := math.Sqrt(sq / float64(len(train)-1))
	kept := train[:0]
	for _, i := range train {
		if math.Abs(rows[i].dist-mean) <= 3*sd {
			kept = append(kept, i)
		}
	}
	train = kept
	n := len(train)

	X := make([][]float64, 21)
	for j := range X {
		X[j] = make([]float64, n)
	}
	y := make([]uint8, n)
	for c := 0; c < 10; c++ {
		freq := make(map[string]float64)
		for _, i := range train {
			freq[rows[i].cat[c]]++
		}
		for p, i := range train {
			X[c][p] = freq[rows[i].cat[c]] / float64(n)
		}
	}
	for p, i := range train {
		row := rows[i]
		X[10][p], X[11][p], X[12][p] = row.x, row.y, math.Log1p(row.dist)
		X[13][p] = math.Sin(2 * math.Pi * float64(row.dow) / 7)
		switch row.month {
		case 3, 4, 5:
			X[14][p] = 1 // Spring (Autumn is the dropped first level)
		case 6, 7, 8:
			X[15][p] = 1 // Summer
		case 12, 1, 2:
			X[16][p] = 1 // Winter
		}
		switch {
		case row.hour < 6:
			X[17][p] = 1 // Early Morning (Afternoon is dropped)
		case row.hour < 12:
			X[18][p] = 1 // Morning
		case row.hour >= 18:
			X[19][p] = 1 // Night
		}
		if row.domestic {
			X[20][p] = 1
		}
		if row.arrest {
			y[p] = 1
		}
	}
	for _, j := range []int{10, 11, 12} { // StandardScaler, population std
		var s, s2 float64
		for _, v := range X[j] {
			s += v
		}
		m := s / float64(n)
		for _, v := range X[j] {
			s2 += (v - m) * (v - m)
		}
		sd := math.Sqrt(s2 / float64(n))
		for p := range X[j] {
			X[j][p] = (X[j][p] - m) / sd
		}
	}
	return train2017{X: X, y: y}, nil
}
