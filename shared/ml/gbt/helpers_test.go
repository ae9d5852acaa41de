package gbt

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
)

// readLabelledCSV reads a CSV with a header whose label column is named label (0/1) and every other
// column a float feature (empty or "nan" = NaN). It returns column-major features.
func readLabelledCSV(path, label string) (X [][]float64, y []uint8, names []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	Xs, ys, names, err := readLabelled(f, label, "")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return Xs[""], ys[""], names, nil
}

// readLabelled is readLabelledCSV over a reader; when split names a column, rows are grouped by its value.
func readLabelled(rd io.Reader, label, split string) (X map[string][][]float64, y map[string][]uint8, names []string, err error) {
	r := csv.NewReader(rd)
	r.ReuseRecord = true
	head, err := r.Read()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read header: %w", err)
	}
	li, si := -1, -1
	var cols []int
	for i, h := range head {
		switch h {
		case label:
			li = i
		case split:
			si = i
		default:
			cols = append(cols, i)
			names = append(names, h)
		}
	}
	if li < 0 || (split != "" && si < 0) {
		return nil, nil, nil, fmt.Errorf("no %q or %q column", label, split)
	}
	X = map[string][][]float64{}
	y = map[string][]uint8{}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("line %d: %w", line, err)
		}
		key := ""
		if si >= 0 {
			key = rec[si]
		}
		if X[key] == nil {
			X[key] = make([][]float64, len(cols))
		}
		for k, c := range cols {
			v := math.NaN()
			if s := rec[c]; s != "" && s != "nan" && s != "NaN" {
				v, err = strconv.ParseFloat(s, 64)
				if err != nil {
					return nil, nil, nil, fmt.Errorf("line %d column %s: %w", line, head[c], err)
				}
			}
			X[key][k] = append(X[key][k], v)
		}
		// The Go pipeline writes the label as true/false, the Python reference as 0/1.
		lv, err := 0.0, error(nil)
		switch rec[li] {
		case "true", "True":
			lv = 1
		case "false", "False":
		default:
			lv, err = strconv.ParseFloat(rec[li], 64)
		}
		if err != nil || (lv != 0 && lv != 1) {
			return nil, nil, nil, fmt.Errorf("line %d: label %q", line, rec[li])
		}
		y[key] = append(y[key], uint8(lv))
	}
	return X, y, names, nil
}

// rocAUC is the Mann-Whitney AUC with ties counted half.
func rocAUC(y []uint8, p []float64) float64 {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	var rankSum float64
	var pos int
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && p[idx[j]] == p[idx[i]] {
			j++
		}
		r := float64(i+j+1) / 2 // average 1-based rank
		for k := i; k < j; k++ {
			if y[idx[k]] == 1 {
				rankSum += r
				pos++
			}
		}
		i = j
	}
	neg := len(y) - pos
	return (rankSum - float64(pos)*float64(pos+1)/2) / (float64(pos) * float64(neg))
}

// averagePrecision as scikit-learn computes it (step function over distinct thresholds).
func averagePrecision(y []uint8, p []float64) float64 {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return p[idx[a]] > p[idx[b]] })
	pos := 0
	for _, v := range y {
		pos += int(v)
	}
	var tp, fp int
	var ap, prevRecall float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && p[idx[j]] == p[idx[i]] {
			if y[idx[j]] == 1 {
				tp++
			} else {
				fp++
			}
			j++
		}
		recall := float64(tp) / float64(pos)
		ap += (recall - prevRecall) * float64(tp) / float64(tp+fp)
		prevRecall = recall
		i = j
	}
	return ap
}

// mlReady loads the ml-ready train/test CSVs written by bench/reference/seed_recipe.py from the directory
// named by ARRESTCAST_MLREADY (or skips, naming the variable and files).
func mlReady(t testing.TB) (Xtr [][]float64, ytr []uint8, Xte [][]float64, yte []uint8) {
	t.Helper()
	dir := os.Getenv("ARRESTCAST_MLREADY")
	if dir == "" {
		t.Skip("ARRESTCAST_MLREADY not set: point it at the --out dir of bench/reference/seed_recipe.py (train.csv, test.csv)")
	}
	var err error
	if Xtr, ytr, _, err = readLabelledCSV(filepath.Join(dir, "train.csv"), "arrest"); err != nil {
		t.Fatal(err)
	}
	if Xte, yte, _, err = readLabelledCSV(filepath.Join(dir, "test.csv"), "arrest"); err != nil {
		t.Fatal(err)
	}
	return
}
