// Package target holds target encoding for a binary label: a category
// becomes the smoothed share of positive labels among the rows holding it,
//
//	value(c) = (positives(c) + m·prior) / (rows(c) + m),   prior = positives / rows
//
// (the m-estimate: a category seen in few rows is pulled towards the prior;
// m = 0 is the plain share). A category unseen in fitting encodes to the
// prior. The missing value (the empty string, a negative code) is a category
// of its own.
//
// Encoding training rows with statistics that include their own label leaks
// the label into the feature, so OutOfFold encodes each training row with an
// Encoder fitted on the other folds only (each fold's own prior included),
// while the Encoder fitted on all training rows encodes every other row and
// is what a model artifact keeps. Folds are scikit-learn's
// KFold(n_splits=k, shuffle=True, random_state=seed), replayed exactly
// (numpy's legacy MT19937 stream through shared/ml/nprand).
//
// The arithmetic is the formula above in float64, so values equal the
// numpy reference bit for bit (golden file in internal/testdata/target,
// written by bench/reference/golden_target_calibrate.py). Value does not
// allocate; an Encoder marshals its counts, not its values, and recomputes
// them on load with the same expression.
package target

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/arrestcast/arrestcast/shared/ml/nprand"
)

// Stat is a category's rows and positive labels; JSON [rows, positives]
// (an encoder of the places of a year holds about 100,000 of them).
type Stat struct {
	Rows      int
	Positives int
}

// MarshalJSON writes [rows, positives].
func (s Stat) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 16)
	b = append(b, '[')
	b = strconv.AppendInt(b, int64(s.Rows), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(s.Positives), 10)
	return append(b, ']'), nil
}

// UnmarshalJSON reads [rows, positives].
func (s *Stat) UnmarshalJSON(b []byte) error {
	var v []int
	if err := json.Unmarshal(b, &v); err != nil || len(v) != 2 {
		return fmt.Errorf("target encoder count %s: want [rows, positives]", b)
	}
	s.Rows, s.Positives = v[0], v[1]
	return nil
}

// Encoder is a fitted target encoding.
type Encoder struct {
	Smoothing float64         `json:"smoothing"` // m
	Rows      int             `json:"rows"`      // rows fitted on
	Positives int             `json:"positives"` // of which positive
	Counts    map[string]Stat `json:"counts"`    // per category ("" = missing): [rows, positives]

	prior  float64
	values map[string]float64
}

// Fit fits an encoder on categories given as codes into dict (distinct,
// non-empty strings; a negative code is missing) and labels y (0/1), with
// smoothing m >= 0.
func Fit(codes []int32, dict []string, y []uint8, m float64) (*Encoder, error) {
	if len(codes) != len(y) {
		return nil, fmt.Errorf("target encoder: %d codes, %d labels", len(codes), len(y))
	}
	s, err := count(codes, dict, y, nil, -1)
	if err != nil {
		return nil, err
	}
	return s.encoder(dict, m)
}

// stats are per-code counts of one fitting set; slot len(dict) is missing.
type stats struct {
	n, pos       []int
	rows, posAll int
}

// count tallies codes and labels over the rows whose fold is not skip (all
// rows when folds is nil).
func count(codes []int32, dict []string, y []uint8, folds []int, skip int) (*stats, error) {
	s := &stats{n: make([]int, len(dict)+1), pos: make([]int, len(dict)+1)}
	miss := len(dict)
	for i, k := range codes {
		if folds != nil && folds[i] == skip {
			continue
		}
		if int(k) >= len(dict) {
			return nil, fmt.Errorf("target encoder: row %d: code %d outside a dictionary of %d", i, k, len(dict))
		}
		if y[i] > 1 {
			return nil, fmt.Errorf("target encoder: row %d: label %d is not 0/1", i, y[i])
		}
		j := int(k)
		if k < 0 {
			j = miss
		}
		s.n[j]++
		s.pos[j] += int(y[i])
		s.rows++
		s.posAll += int(y[i])
	}
	return s, nil
}

func (s *stats) encoder(dict []string, m float64) (*Encoder, error) {
	e := &Encoder{Smoothing: m, Rows: s.rows, Positives: s.posAll, Counts: make(map[string]Stat)}
	for j, n := range s.n {
		if n == 0 {
			continue
		}
		key := ""
		if j < len(dict) {
			key = dict[j]
		}
		if _, dup := e.Counts[key]; dup {
			return nil, fmt.Errorf("target encoder: the dictionary holds %q twice (\"\" is the missing value)", key)
		}
		e.Counts[key] = Stat{Rows: n, Positives: s.pos[j]}
	}
	if err := e.index(); err != nil {
		return nil, err
	}
	return e, nil
}

// prior is positives/rows in float64.
func prior(pos, rows int) float64 { return float64(pos) / float64(rows) }

// smoothed is the encoding of a category with n rows and pos positives.
func smoothed(pos, n int, m, prior float64) float64 {
	return (float64(pos) + m*prior) / (float64(n) + m)
}

func (e *Encoder) index() error {
	if !(e.Smoothing >= 0) || math.IsInf(e.Smoothing, 0) {
		return fmt.Errorf("target encoder: smoothing %v, want a finite value >= 0", e.Smoothing)
	}
	if e.Rows <= 0 || e.Positives < 0 || e.Positives > e.Rows {
		return fmt.Errorf("target encoder: %d positives of %d rows", e.Positives, e.Rows)
	}
	e.prior = prior(e.Positives, e.Rows)
	e.values = make(map[string]float64, len(e.Counts))
	rows, pos := 0, 0
	for c, st := range e.Counts {
		if st.Rows <= 0 || st.Positives < 0 || st.Positives > st.Rows {
			return fmt.Errorf("target encoder: category %q has %d positives of %d rows", c, st.Positives, st.Rows)
		}
		rows += st.Rows
		pos += st.Positives
		e.values[c] = smoothed(st.Positives, st.Rows, e.Smoothing, e.prior)
	}
	if rows != e.Rows || pos != e.Positives {
		return fmt.Errorf("target encoder: categories add up to %d positives of %d rows, not %d of %d", pos, rows, e.Positives, e.Rows)
	}
	return nil
}

// Prior is the share of positive labels among the rows fitted on: the
// value of a category never seen.
func (e *Encoder) Prior() float64 { return e.prior }

// Value is the encoding of a category ("" = missing). It does not allocate.
func (e *Encoder) Value(category string) float64 {
	if v, ok := e.values[category]; ok {
		return v
	}
	return e.prior
}

// ValueBytes is Value of a category held in a byte slice (a key assembled
// in a scratch buffer); it does not allocate.
func (e *Encoder) ValueBytes(category []byte) float64 {
	if v, ok := e.values[string(category)]; ok {
		return v
	}
	return e.prior
}

// Categories lists the categories seen in fitting, sorted.
func (e *Encoder) Categories() []string {
	out := make([]string, 0, len(e.Counts))
	for c := range e.Counts {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// UnmarshalJSON loads an encoder and recomputes its values.
func (e *Encoder) UnmarshalJSON(b []byte) error {
	type plain Encoder
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("load target encoder: %w", err)
	}
	*e = Encoder(p)
	if err := e.index(); err != nil {
		return fmt.Errorf("load %w", err)
	}
	return nil
}

// Folds assigns each of n rows to one of k folds as scikit-learn's
// KFold(n_splits=k, shuffle=True, random_state=seed): the rows are shuffled
// by numpy's RandomState(seed).shuffle, and fold f is the f-th run of the
// shuffled rows, the first n mod k runs one row longer.
func Folds(n, k int, seed uint32) ([]int, error) {
	if k < 2 || k > n {
		return nil, fmt.Errorf("folds: %d folds of %d rows, want 2 <= k <= n", k, n)
	}
	perm := nprand.New(seed).Permutation(n)
	fold := make([]int, n)
	at := 0
	for f := range k {
		size := n / k
		if f < n%k {
			size++
		}
		for _, i := range perm[at : at+size] {
			fold[i] = f
		}
		at += size
	}
	return fold, nil
}

// OutOfFold encodes every row with an encoder fitted on the rows of the
// other folds (folds[i] in [0, k), as Folds gives), into out (resized), and
// returns it with the encoder fitted on all rows, which encodes any other
// row. Each fold's rows are encoded with that fold's own prior when their
// category is absent from the other folds.
func OutOfFold(codes []int32, dict []string, y []uint8, folds []int, k int, m float64, out []float64) ([]float64, *Encoder, error) {
	if len(codes) != len(y) || len(folds) != len(y) {
		return nil, nil, fmt.Errorf("target encoder: %d codes, %d labels, %d folds", len(codes), len(y), len(folds))
	}
	for i, f := range folds {
		if f < 0 || f >= k {
			return nil, nil, fmt.Errorf("target encoder: row %d in fold %d of %d", i, f, k)
		}
	}
	all, err := count(codes, dict, y, nil, -1)
	if err != nil {
		return nil, nil, err
	}
	full, err := all.encoder(dict, m)
	if err != nil {
		return nil, nil, err
	}
	// A fold's statistics are all rows' minus the fold's own.
	own := make([]stats, k)
	for f := range own {
		own[f] = stats{n: make([]int, len(dict)+1), pos: make([]int, len(dict)+1)}
	}
	miss := len(dict)
	for i, c := range codes {
		j := int(c)
		if c < 0 {
			j = miss
		}
		s := &own[folds[i]]
		s.n[j]++
		s.pos[j] += int(y[i])
		s.rows++
		s.posAll += int(y[i])
	}
	if cap(out) < len(codes) {
		out = make([]float64, len(codes))
	}
	out = out[:len(codes)]
	priors := make([]float64, k)
	for f := range own {
		rest := all.rows - own[f].rows
		if rest == 0 {
			return nil, nil, fmt.Errorf("target encoder: fold %d holds every row", f)
		}
		priors[f] = prior(all.posAll-own[f].posAll, rest)
	}
	for i, c := range codes {
		j := int(c)
		if c < 0 {
			j = miss
		}
		f := folds[i]
		n := all.n[j] - own[f].n[j]
		if n == 0 {
			out[i] = priors[f]
			continue
		}
		out[i] = smoothed(all.pos[j]-own[f].pos[j], n, m, priors[f])
	}
	return out, full, nil
}
