package drift

import (
	"math"
	"sort"
)

// Other labels the bin of every category a reference does not keep.
const Other = "(other)"

// Categorical is the reference of a categorical field.
type Categorical struct {
	N       int       `json:"n"`       // values fitted on, missing included
	Missing float64   `json:"missing"` // share of them missing
	Top     []string  `json:"top"`     // the most frequent categories, most frequent first
	Shares  []float64 `json:"shares"`  // the share of each of Top, then of Other (len(Top)+1)
}

// Counts counts values ("" is missing).
func Counts(values []string) (counts map[string]int, missing int) {
	counts = map[string]int{}
	for _, v := range values {
		if v == "" {
			missing++
			continue
		}
		counts[v]++
	}
	return counts, missing
}

// FitCategorical fits the reference of a field whose present values have
// counts, missing values missing.
func FitCategorical(counts map[string]int, missing int, o Options) *Categorical {
	cats := make([]string, 0, len(counts))
	present := 0
	for k, n := range counts {
		if n > 0 {
			cats = append(cats, k)
			present += n
		}
	}
	sort.Slice(cats, func(i, j int) bool {
		if counts[cats[i]] != counts[cats[j]] {
			return counts[cats[i]] > counts[cats[j]]
		}
		return cats[i] < cats[j]
	})
	if len(cats) > o.topK() {
		cats = cats[:o.topK()]
	}
	c := &Categorical{N: present + missing, Missing: share(missing, present+missing), Top: cats}
	if present > 0 {
		c.Shares = c.shares(counts, present)
	}
	return c
}

func (c *Categorical) shares(counts map[string]int, present int) []float64 {
	out := make([]float64, len(c.Top)+1)
	kept := 0
	for i, k := range c.Top {
		out[i] = share(counts[k], present)
		kept += counts[k]
	}
	out[len(c.Top)] = share(present-kept, present)
	return out
}

// Labels name the bins: the kept categories, then Other.
func (c *Categorical) Labels() []string { return append(append([]string(nil), c.Top...), Other) }

// Compare compares the month's counts with the reference.
func (c *Categorical) Compare(counts map[string]int, missing int) Comparison {
	present := 0
	for _, n := range counts {
		present += n
	}
	cmp := Comparison{N: present + missing, Missing: share(missing, present+missing), PSI: math.NaN(), KS: math.NaN(), Mean: math.NaN()}
	if present == 0 || len(c.Shares) == 0 {
		return cmp
	}
	cmp.Shares = c.shares(counts, present)
	cmp.PSI = PSI(c.Shares, cmp.Shares)
	return cmp
}

// Shift is one bin whose share moved by a factor.
type Shift struct {
	Label    string
	Ref, Cur float64
}

// Shifts are the bins of cmp whose share is at most 1/ratio or at least
// ratio times the reference's, among bins holding at least minShare of
// either side, and moved by at least minShare: a category halved or
// doubled, which PSI barely sees when it is small (4 % halved is 0.015).
func (c *Categorical) Shifts(cmp Comparison, ratio, minShare float64) []Shift {
	if len(cmp.Shares) != len(c.Shares) || ratio <= 1 {
		return nil
	}
	var out []Shift
	labels := c.Labels()
	for i, r := range c.Shares {
		cur := cmp.Shares[i]
		if max(r, cur) < minShare || math.Abs(cur-r) < minShare {
			continue
		}
		if cur >= r*ratio || cur*ratio <= r {
			out = append(out, Shift{Label: labels[i], Ref: r, Cur: cur})
		}
	}
	return out
}
