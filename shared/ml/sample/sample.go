// Package sample balances a binary training set the way the seed pipeline does
// with imbalanced-learn 0.10: SMOTE over-sampling of the minority class, then
// random under-sampling of the majority class.
//
// Matrices are column-major (X[j][i] = feature j of row i), labels are 0/1.
// Class roles and output counts follow imblearn exactly (see SMOTECount and
// UnderCount); the random draws come from a PCG source seeded by the caller,
// so results are deterministic for a seed but are not imblearn's numbers.
package sample

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/arrestcast/arrestcast/shared/ml/knn"
)

// pcgStream is the second PCG word; a fixed value keeps one seed = one stream.
const pcgStream = 0x5eed_a11e_57ca_1e00

// countClasses counts the 0/1 labels; a float ratio needs both classes.
func countClasses(y []uint8) ([2]int, error) {
	var counts [2]int
	for i, v := range y {
		if v > 1 {
			return counts, fmt.Errorf("label y[%d] = %d, want 0 or 1", i, v)
		}
		counts[v]++
	}
	if counts[0] == 0 || counts[1] == 0 {
		return counts, fmt.Errorf("a float sampling ratio needs both classes, have %d zeros and %d ones", counts[0], counts[1])
	}
	return counts, nil
}

// imblearn takes max/min over the counts in label order, so on equal counts
// label 0 is the majority for over-sampling and the minority for under-sampling.
func overRoles(c [2]int) (minority, majority uint8) {
	if c[1] > c[0] {
		return 0, 1
	}
	return 1, 0
}

func underRoles(c [2]int) (minority, majority uint8) {
	if c[1] < c[0] {
		return 1, 0
	}
	return 0, 1
}

func checkRatio(ratio float64) error {
	if !(ratio > 0 && ratio <= 1) {
		return fmt.Errorf("sampling ratio %v outside (0, 1]", ratio)
	}
	return nil
}

// SMOTECount is the number of synthetic minority rows imblearn's SMOTE makes for
// a float sampling_strategy: int(ratio*nMajority - nMinority), truncated toward
// zero after the float arithmetic (imblearn's _sampling_strategy_float). It
// fails, as imblearn does, when that number is not positive.
func SMOTECount(nMajority, nMinority int, ratio float64) (int, error) {
	if err := checkRatio(ratio); err != nil {
		return 0, err
	}
	n := int(float64(nMajority)*ratio - float64(nMinority))
	if n <= 0 {
		return 0, fmt.Errorf("ratio %v asks for %d new rows (majority %d, minority %d): increase the ratio", ratio, n, nMajority, nMinority)
	}
	return n, nil
}

// UnderCount is the number of majority rows imblearn's RandomUnderSampler keeps
// for a float sampling_strategy: int(nMinority / ratio). It fails, as imblearn
// does, when that exceeds the majority rows available.
func UnderCount(nMajority, nMinority int, ratio float64) (int, error) {
	if err := checkRatio(ratio); err != nil {
		return 0, err
	}
	n := int(float64(nMinority) / ratio)
	if n > nMajority {
		return 0, fmt.Errorf("ratio %v needs %d majority rows, have %d: increase the ratio", ratio, n, nMajority)
	}
	return n, nil
}

func checkShape(X [][]float64, y []uint8) error {
	if len(X) == 0 {
		return errors.New("no feature columns")
	}
	for j, col := range X {
		if len(col) != len(y) {
			return fmt.Errorf("column %d has %d rows, labels have %d", j, len(col), len(y))
		}
	}
	return nil
}

// SMOTE over-samples the minority class like imblearn's
// SMOTE(sampling_strategy=ratio, k_neighbors=k): SMOTECount rows are made, each
// from a uniformly drawn minority row x, one of its k nearest minority
// neighbours nn (Euclidean, excluding x itself; ties as in package knn) drawn
// uniformly, and a step u uniform in [0, 1): x + u·(nn − x).
//
// It returns new columns holding the input rows followed by the synthetic ones,
// and the labels likewise. The input is not modified. Same seed, same output.
func SMOTE(X [][]float64, y []uint8, ratio float64, k int, seed uint64) ([][]float64, []uint8, error) {
	S, minority, err := Synthesize(X, y, ratio, k, seed)
	if err != nil {
		return nil, nil, err
	}
	out := make([][]float64, len(X))
	for j := range X {
		out[j] = append(slices.Clip(X[j]), S[j]...)
	}
	return out, Labels(y, minority, len(S[0])), nil
}

// Labels returns y followed by n labels of class c (SMOTE's labels for the
// rows Synthesize made).
func Labels(y []uint8, c uint8, n int) []uint8 {
	out := make([]uint8, len(y)+n)
	copy(out, y)
	for i := len(y); i < len(out); i++ {
		out[i] = c
	}
	return out
}

// Synthesize makes SMOTE's synthetic rows only (columns of SMOTECount values)
// and says which class they belong to: a caller that writes the input rows
// and the new ones out without joining them saves a copy of the input.
func Synthesize(X [][]float64, y []uint8, ratio float64, k int, seed uint64) ([][]float64, uint8, error) {
	if err := checkShape(X, y); err != nil {
		return nil, 0, fmt.Errorf("smote: %w", err)
	}
	counts, err := countClasses(y)
	if err != nil {
		return nil, 0, fmt.Errorf("smote: %w", err)
	}
	minority, majority := overRoles(counts)
	nNew, err := SMOTECount(counts[majority], counts[minority], ratio)
	if err != nil {
		return nil, 0, fmt.Errorf("smote: %w", err)
	}
	nMin := counts[minority]
	if k < 1 || k >= nMin {
		return nil, 0, fmt.Errorf("smote: k = %d neighbours need more than k minority rows, have %d", k, nMin)
	}

	rows := make([]int, 0, nMin)
	for i, v := range y {
		if v == minority {
			rows = append(rows, i)
		}
	}
	Xmin, _ := Gather(X, nil, rows)
	tree, err := knn.Build(Xmin)
	if err != nil {
		return nil, 0, fmt.Errorf("smote: minority neighbours: %w", err)
	}
	nb, err := tree.AllNeighbors(k, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("smote: minority neighbours: %w", err)
	}

	// Draw like imblearn's _make_samples: one index into the nMin×k neighbour
	// table per new row (row = base point, column = which neighbour), then the steps.
	rng := rand.New(rand.NewPCG(seed, pcgStream))
	pick := make([]int, nNew)
	for s := range pick {
		pick[s] = rng.IntN(nMin * k)
	}
	steps := make([]float64, nNew)
	for s := range steps {
		steps[s] = rng.Float64()
	}

	out := make([][]float64, len(X))
	perColumn(len(X), func(j int) {
		c := make([]float64, nNew)
		mc := Xmin[j]
		for s, p := range pick {
			base := mc[p/k]
			c[s] = base + steps[s]*(mc[nb[p]]-base)
		}
		out[j] = c
	})
	return out, minority, nil
}

// UnderSample picks rows like imblearn's RandomUnderSampler(sampling_strategy=
// ratio) without replacement: every minority row and UnderCount majority rows
// drawn uniformly. The row indices come back sorted ascending (imblearn groups
// them by class instead), so gathering them keeps the input order. Same seed,
// same rows.
func UnderSample(y []uint8, ratio float64, seed uint64) ([]int, error) {
	counts, err := countClasses(y)
	if err != nil {
		return nil, fmt.Errorf("undersample: %w", err)
	}
	minority, majority := underRoles(counts)
	keep, err := UnderCount(counts[majority], counts[minority], ratio)
	if err != nil {
		return nil, fmt.Errorf("undersample: %w", err)
	}
	maj := make([]int, 0, counts[majority])
	for i, v := range y {
		if v == majority {
			maj = append(maj, i)
		}
	}
	// Partial Fisher-Yates: the first keep entries become a uniform sample.
	rng := rand.New(rand.NewPCG(seed, pcgStream+1))
	for i := 0; i < keep; i++ {
		j := i + rng.IntN(len(maj)-i)
		maj[i], maj[j] = maj[j], maj[i]
	}
	rows := make([]int, 0, keep+counts[minority])
	rows = append(rows, maj[:keep]...)
	for i, v := range y {
		if v == minority {
			rows = append(rows, i)
		}
	}
	slices.Sort(rows)
	return rows, nil
}

// Gather returns new columns and labels holding the given rows, in that order
// (labels only when y is not nil). Columns are copied in parallel.
func Gather(X [][]float64, y []uint8, rows []int) ([][]float64, []uint8) {
	out := make([][]float64, len(X))
	perColumn(len(X), func(j int) {
		col := X[j]
		c := make([]float64, len(rows))
		for p, i := range rows {
			c[p] = col[i]
		}
		out[j] = c
	})
	if y == nil {
		return out, nil
	}
	yOut := make([]uint8, len(rows))
	for p, i := range rows {
		yOut[p] = y[i]
	}
	return out, yOut
}

// perColumn runs f for every column index on up to GOMAXPROCS goroutines.
func perColumn(n int, f func(j int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := int(next.Add(1)) - 1; j < n; j = int(next.Add(1)) - 1 {
				f(j)
			}
		}()
	}
	wg.Wait()
}
