package recipe

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/arrestcast/arrestcast/shared/data/table"
)

// FitFill's median from counts per code equals the median of the sorted
// values (odd and even counts, missing and non-numeric codes, ties).
func TestFitFillMedian(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		dict := []string{"x"} // not a number: never a candidate
		for range 1 + rng.IntN(12) {
			dict = append(dict, strconv.Itoa(rng.IntN(30)))
		}
		n := 1 + rng.IntN(40)
		var cols []*table.Column
		var vals []float64
		for _, col := range FillMedian {
			codes := make([]int32, n)
			for i := range codes {
				codes[i] = int32(rng.IntN(len(dict)+1)) - 1 // -1 missing
			}
			codes[0] = 1 // at least one numeric value
			if col == FillMedian[0] {
				for _, c := range codes {
					if c > 0 {
						v, _ := strconv.ParseFloat(dict[c], 64)
						vals = append(vals, v)
					}
				}
			}
			cols = append(cols, table.NewCategorical(col, codes, dict))
		}
		tb, err := table.New(cols...)
		if err != nil {
			t.Fatal(err)
		}
		f, err := FitFill(tb)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(vals)
		med := vals[len(vals)/2]
		if len(vals)%2 == 0 {
			med = (vals[len(vals)/2-1] + vals[len(vals)/2]) / 2
		}
		// The fill is the dictionary entry closest to the median (ties: smallest string).
		best, bestD := "", 1e300
		for _, s := range dict[1:] {
			v, _ := strconv.ParseFloat(s, 64)
			d := v - med
			if d < 0 {
				d = -d
			}
			if d < bestD || (d == bestD && s < best) {
				best, bestD = s, d
			}
		}
		if got := f.Median[FillMedian[0]]; got != best {
			t.Fatalf("trial %d: fill %q, want %q (median %v of %v)", trial, got, best, med, vals)
		}
	}
}
