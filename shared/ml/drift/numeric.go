package drift

import (
	"math"
	"sort"
	"strconv"
)

// Defaults of Options.
const (
	DefaultBins = 10
	DefaultGrid = 501
	DefaultTopK = 20
)

// Options shape a reference.
type Options struct {
	Bins int // numeric: quantile bins wanted (0: DefaultBins); duplicate edges are dropped
	Grid int // numeric: reference quantiles kept for KS (0: DefaultGrid)
	TopK int // categorical: categories kept apart from "other" (0: DefaultTopK)
}

func (o Options) bins() int { return positive(o.Bins, DefaultBins) }
func (o Options) grid() int { return max(positive(o.Grid, DefaultGrid), 2) }
func (o Options) topK() int { return positive(o.TopK, DefaultTopK) }

func positive(v, fallback int) int {
	if v > 0 {
		return v
	}
	return fallback
}

// Numeric is the reference of a numeric field.
type Numeric struct {
	N       int       `json:"n"`       // values fitted on, missing included
	Missing float64   `json:"missing"` // share of them missing
	Edges   []float64 `json:"edges"`   // bin edges, strictly increasing
	Shares  []float64 `json:"shares"`  // the reference's share of each bin (len(Edges)+1)
	Grid    []float64 `json:"grid"`    // quantiles at i/(len−1): the reference KS compares with
	Mean    float64   `json:"mean"`
	Std     float64   `json:"std"` // population standard deviation
}

// FitNumeric fits the reference of values (NaN: missing; not modified).
// With no value present the reference has no bins and every comparison is
// undefined but for the missing share.
func FitNumeric(values []float64, o Options) *Numeric {
	s, missing := sorted(values)
	n := &Numeric{N: len(values), Missing: share(missing, len(values))}
	if len(s) == 0 {
		return n
	}
	bins := o.bins()
	for k := 1; k < bins; k++ {
		e := Quantile(s, float64(k)/float64(bins))
		if len(n.Edges) == 0 || e > n.Edges[len(n.Edges)-1] {
			n.Edges = append(n.Edges, e)
		}
	}
	n.Shares = n.shares(s)
	g := o.grid()
	n.Grid = make([]float64, g)
	for i := range n.Grid {
		n.Grid[i] = Quantile(s, float64(i)/float64(g-1))
	}
	var sum float64
	for _, x := range s {
		sum += x
	}
	n.Mean = sum / float64(len(s))
	var ss float64
	for _, x := range s {
		ss += (x - n.Mean) * (x - n.Mean)
	}
	n.Std = math.Sqrt(ss / float64(len(s)))
	return n
}

// Bin is the bin of x: the number of edges below it.
func (n *Numeric) Bin(x float64) int {
	return sort.Search(len(n.Edges), func(i int) bool { return n.Edges[i] >= x })
}

// shares are the share of each bin among sorted values.
func (n *Numeric) shares(s []float64) []float64 {
	counts := make([]int, len(n.Edges)+1)
	for _, x := range s {
		counts[n.Bin(x)]++
	}
	out := make([]float64, len(counts))
	for i, c := range counts {
		out[i] = share(c, len(s))
	}
	return out
}

// Labels name the bins: "≤ e0", "(e0, e1]", …, "> e_last".
func (n *Numeric) Labels() []string {
	if len(n.Edges) == 0 {
		return nil
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }
	out := make([]string, 0, len(n.Edges)+1)
	out = append(out, "≤ "+f(n.Edges[0]))
	for i := 1; i < len(n.Edges); i++ {
		out = append(out, "("+f(n.Edges[i-1])+", "+f(n.Edges[i])+"]")
	}
	return append(out, "> "+f(n.Edges[len(n.Edges)-1]))
}

// Comparison is a month's field against its reference.
type Comparison struct {
	N       int       // values of the month, missing included
	Missing float64   // share of them missing
	Shares  []float64 // the month's share of each reference bin (nil: no value present)
	PSI     float64   // NaN when undefined
	KS      float64   // numeric only; NaN when undefined (and for categories)
	Mean    float64   // numeric: the month's mean (NaN without a value)
}

// Compare compares the month's values (NaN: missing; not modified).
func (n *Numeric) Compare(values []float64) Comparison {
	s, missing := sorted(values)
	c := Comparison{N: len(values), Missing: share(missing, len(values)), PSI: math.NaN(), KS: math.NaN(), Mean: math.NaN()}
	if len(s) == 0 || len(n.Shares) == 0 {
		return c
	}
	c.Shares = n.shares(s)
	c.PSI = PSI(n.Shares, c.Shares)
	c.KS = KS(s, n.Grid)
	var sum float64
	for _, x := range s {
		sum += x
	}
	c.Mean = sum / float64(len(s))
	return c
}
