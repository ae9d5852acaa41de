package drift

import (
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/repo"
)

// The golden file is written by bench/reference/golden_drift.py from numpy
// 1.24 and scipy 1.10 on the real 2017 crimes.
var goldenPath = repo.Path("internal/testdata/drift/golden_drift.json")

type selection struct {
	Months []int `json:"months"`
	Every  int   `json:"every"`
}

type goldenCase struct {
	Name   string    `json:"name"`
	Field  string    `json:"field"`
	Kind   string    `json:"kind"`
	Ref    selection `json:"ref"`
	Cur    selection `json:"cur"`
	Change struct {
		ShiftSD        float64 `json:"shift_sd"`
		DropEveryOther string  `json:"drop_every_other"`
	} `json:"change"`
	Edges      []float64 `json:"edges"`
	Top        []string  `json:"top"`
	RefShares  []float64 `json:"ref_shares"`
	CurShares  []float64 `json:"cur_shares"`
	RefMissing float64   `json:"ref_missing"`
	CurMissing float64   `json:"cur_missing"`
	CurRows    int       `json:"cur_rows"`
	Grid       []float64 `json:"grid"`
	PSI        float64   `json:"psi"`
	KS         *float64  `json:"ks"`
	KSFull     *float64  `json:"ks_full"`
}

// crimes holds the fields the golden cases use, in file order.
type crimes struct {
	month []int
	num   map[string][]float64
	cat   map[string][]string
	once  sync.Once
	err   error
}

var data crimes

func load(t *testing.T) *crimes {
	t.Helper()
	path := repo.Path(repo.Crimes2017)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("the real data %s is absent: %v", path, err)
	}
	data.once.Do(func() {
		f, err := os.Open(path)
		if err != nil {
			data.err = err
			return
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			data.err = err
			return
		}
		recs, err := csv.NewReader(zr).ReadAll()
		if err != nil {
			data.err = err
			return
		}
		col := map[string]int{}
		for i, h := range recs[0] {
			col[h] = i
		}
		data.num = map[string][]float64{}
		data.cat = map[string][]string{}
		num := func(s string) float64 {
			if s == "" {
				return math.NaN()
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				data.err = err
			}
			return v
		}
		for _, r := range recs[1:] {
			d, err := time.Parse("01/02/2006 03:04:05 PM", r[col["Date"]])
			if err != nil {
				data.err = err
				return
			}
			data.month = append(data.month, int(d.Month()))
			data.num["hour"] = append(data.num["hour"], float64(d.Hour()))
			data.num["x_coordinate"] = append(data.num["x_coordinate"], num(r[col["X Coordinate"]]))
			data.num["latitude"] = append(data.num["latitude"], num(r[col["Latitude"]]))
			data.num["ward"] = append(data.num["ward"], num(r[col["Ward"]]))
			data.cat["primary_type"] = append(data.cat["primary_type"], r[col["Primary Type"]])
			data.cat["location_description"] = append(data.cat["location_description"], r[col["Location Description"]])
		}
	})
	if data.err != nil {
		t.Fatal(data.err)
	}
	return &data
}

// rows are the row numbers a selection draws, in file order.
func (c *crimes) rows(s selection) []int {
	in := map[int]bool{}
	for _, m := range s.Months {
		in[m] = true
	}
	var all, out []int
	for i, m := range c.month {
		if in[m] {
			all = append(all, i)
		}
	}
	for k := 0; k < len(all); k += s.Every {
		out = append(out, all[k])
	}
	return out
}

func pickNum(v []float64, rows []int) []float64 {
	out := make([]float64, len(rows))
	for k, i := range rows {
		out[k] = v[i]
	}
	return out
}

func pickCat(v []string, rows []int) []string {
	out := make([]string, len(rows))
	for k, i := range rows {
		out[k] = v[i]
	}
	return out
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

// TestGolden: edges, shares and the KS statistic are numpy's and scipy's to
// the bit; PSI within 1e-12 (Go's math.Log and numpy's pairwise sum may
// differ in the last bits).
func TestGolden(t *testing.T) {
	b, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Bins, Grid int
		TopK       int `json:"top_k"`
		Floor      float64
		Cases      []goldenCase
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if g.Bins != DefaultBins || g.Grid != DefaultGrid || g.TopK != DefaultTopK || g.Floor != Floor {
		t.Fatalf("golden file made with bins %d grid %d top %d floor %g", g.Bins, g.Grid, g.TopK, g.Floor)
	}
	c := load(t)
	for _, gc := range g.Cases {
		t.Run(gc.Name, func(t *testing.T) {
			if gc.Kind == "numeric" {
				ref, cur := pickNum(c.num[gc.Field], c.rows(gc.Ref)), pickNum(c.num[gc.Field], c.rows(gc.Cur))
				n := FitNumeric(ref, Options{})
				if gc.Change.ShiftSD != 0 {
					for i := range cur {
						cur[i] += gc.Change.ShiftSD * n.Std
					}
				}
				cmp := n.Compare(cur)
				equalFloats(t, "edges", n.Edges, gc.Edges, 0)
				equalFloats(t, "reference shares", n.Shares, gc.RefShares, 0)
				equalFloats(t, "month shares", cmp.Shares, gc.CurShares, 0)
				equalFloats(t, "grid", n.Grid, gc.Grid, 0)
				if n.Missing != gc.RefMissing || cmp.Missing != gc.CurMissing {
					t.Errorf("missing %v/%v, want %v/%v", n.Missing, cmp.Missing, gc.RefMissing, gc.CurMissing)
				}
				if cmp.KS != *gc.KS {
					t.Errorf("KS %v, scipy %v", cmp.KS, *gc.KS)
				}
				if math.Abs(cmp.KS-*gc.KSFull) > 1/float64(DefaultGrid-1) {
					t.Errorf("KS against the grid %v, against the whole reference %v: more than 1/%d apart", cmp.KS, *gc.KSFull, DefaultGrid-1)
				}
				if !near(cmp.PSI, gc.PSI, 1e-12) {
					t.Errorf("PSI %v, numpy %v", cmp.PSI, gc.PSI)
				}
				return
			}
			ref, cur := pickCat(c.cat[gc.Field], c.rows(gc.Ref)), pickCat(c.cat[gc.Field], c.rows(gc.Cur))
			if v := gc.Change.DropEveryOther; v != "" {
				var kept []string
				seen := 0
				for _, s := range cur {
					if s == v {
						seen++
						if seen%2 == 0 {
							continue
						}
					}
					kept = append(kept, s)
				}
				cur = kept
			}
			if len(cur) != gc.CurRows {
				t.Fatalf("month has %d rows, numpy %d", len(cur), gc.CurRows)
			}
			rc, rm := Counts(ref)
			cc, cm := Counts(cur)
			cat := FitCategorical(rc, rm, Options{})
			cmp := cat.Compare(cc, cm)
			if len(cat.Top) != len(gc.Top) {
				t.Fatalf("top %v, want %v", cat.Top, gc.Top)
			}
			for i := range gc.Top {
				if cat.Top[i] != gc.Top[i] {
					t.Errorf("top[%d] %q, want %q", i, cat.Top[i], gc.Top[i])
				}
			}
			equalFloats(t, "reference shares", cat.Shares, gc.RefShares, 0)
			equalFloats(t, "month shares", cmp.Shares, gc.CurShares, 0)
			if cat.Missing != gc.RefMissing || cmp.Missing != gc.CurMissing {
				t.Errorf("missing %v/%v, want %v/%v", cat.Missing, cmp.Missing, gc.RefMissing, gc.CurMissing)
			}
			if !near(cmp.PSI, gc.PSI, 1e-12) {
				t.Errorf("PSI %v, numpy %v", cmp.PSI, gc.PSI)
			}
		})
	}
}

func equalFloats(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", what, len(got), len(want))
		return
	}
	for i := range want {
		if !near(got[i], want[i], tol) {
			t.Errorf("%s[%d] = %v, want %v", what, i, got[i], want[i])
			return
		}
	}
}
