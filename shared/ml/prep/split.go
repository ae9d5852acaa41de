package prep

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/arrestcast/arrestcast/shared/ml/internal/pairwise"

	"github.com/arrestcast/arrestcast/shared/ml/nprand"
)

// StratifiedSplit splits the rows 0..len(y)-1 into a train and a test set
// with the class proportions of y, exactly as scikit-learn 1.2's
// train_test_split(..., test_size=testSize, stratify=y, random_state=seed)
// (StratifiedShuffleSplit with one split) does: same per-class counts, same
// rows, same order.
//
// Counts: n_test = ceil(testSize·n), n_train = n − n_test; per-class train
// counts are _approximate_mode(class_counts, n_train) and per-class test
// counts _approximate_mode(class_counts − train_counts, n_test). The
// approximate mode floors class_count/n·draws and hands the missing draws to
// the classes with the largest remainders; remainders that tie exactly are
// broken at random with the same RandomState draws numpy makes
// (rng.choice without replacement). Rows: each class's row indices are
// permuted (rng.permutation), the first train-count go to train, the next
// test-count to test; finally train and test are each permuted. The returned
// index order is therefore shuffled, NOT sorted — it is sklearn's order, so
// X.iloc[train] in Python and Select(train) in Go give the same table.
//
// The random stream is numpy's legacy MT19937 seeded with seed, which must
// fit in 32 bits (RandomState's rule). Classes are the distinct values of y
// in ascending order; every class needs at least 2 rows, and both splits at
// least one row per class.
func StratifiedSplit(y []uint8, testSize float64, seed uint64) (train, test []int, err error) {
	n := len(y)
	if !(testSize > 0 && testSize < 1) {
		return nil, nil, fmt.Errorf("stratified split: test size %v outside (0, 1)", testSize)
	}
	if seed > math.MaxUint32 {
		return nil, nil, fmt.Errorf("stratified split: seed %d does not fit in 32 bits", seed)
	}
	nTest := int(math.Ceil(testSize * float64(n)))
	nTrain := n - nTest
	if nTrain <= 0 {
		return nil, nil, fmt.Errorf("stratified split: %d rows leave an empty train set at test size %v", n, testSize)
	}

	// Classes in ascending order and the rows of each, ascending (np.unique
	// + a stable argsort, as sklearn does).
	var counts [256]int
	for _, v := range y {
		counts[v]++
	}
	var classes []uint8
	var classCounts []int
	for c, k := range counts {
		if k > 0 {
			classes = append(classes, uint8(c))
			classCounts = append(classCounts, k)
		}
	}
	if slices.Min(classCounts) < 2 {
		return nil, nil, errors.New("stratified split: the least populated class in y has only 1 member; every class needs at least 2")
	}
	if nTrain < len(classes) || nTest < len(classes) {
		return nil, nil, fmt.Errorf("stratified split: train size %d and test size %d must each be at least the number of classes %d", nTrain, nTest, len(classes))
	}
	var slot [256]int
	for i, c := range classes {
		slot[c] = i
	}
	rows := make([][]int, len(classes))
	for i, k := range classCounts {
		rows[i] = make([]int, 0, k)
	}
	for i, v := range y {
		s := slot[v]
		rows[s] = append(rows[s], i)
	}

	rng := nprand.New(uint32(seed))
	trainCounts := approximateMode(classCounts, nTrain, rng)
	rest := make([]int, len(classCounts))
	for i := range rest {
		rest[i] = classCounts[i] - trainCounts[i]
	}
	testCounts := approximateMode(rest, nTest, rng)

	train = make([]int, 0, nTrain)
	test = make([]int, 0, nTest)
	for i := range classes {
		perm := rng.Permutation(classCounts[i])
		for k, p := range perm[:trainCounts[i]+testCounts[i]] {
			if k < trainCounts[i] {
				train = append(train, rows[i][p])
			} else {
				test = append(test, rows[i][p])
			}
		}
	}
	rng.Shuffle(train)
	rng.Shuffle(test)
	return train, test, nil
}

// approximateMode is sklearn.utils._approximate_mode: the per-class counts of
// drawing draws rows from a population with classCounts, floored, then the
// leftover draws given by decreasing remainder; among classes with exactly
// equal remainders, rng.choice picks which ones get one (numpy's draw order).
func approximateMode(classCounts []int, draws int, rng *nprand.RandomState) []int {
	total := 0
	for _, k := range classCounts {
		total += k
	}
	cont := make([]float64, len(classCounts))
	floored := make([]float64, len(classCounts))
	rem := make([]float64, len(classCounts))
	for i, k := range classCounts {
		cont[i] = float64(k) / float64(total) * float64(draws)
		floored[i] = math.Floor(cont[i])
		rem[i] = cont[i] - floored[i]
	}
	out := make([]int, len(classCounts))
	for i, f := range floored {
		out[i] = int(f)
	}
	need := int(float64(draws) - pairwise.Sum(floored))
	if need <= 0 {
		return out
	}
	values := slices.Clone(rem)
	slices.Sort(values)
	values = slices.Compact(values)
	slices.Reverse(values)
	for _, v := range values {
		var inds []int
		for i, r := range rem {
			if r == v {
				inds = append(inds, i)
			}
		}
		add := min(len(inds), need)
		perm := rng.Permutation(len(inds)) // rng.choice(inds, add, replace=False)
		for _, p := range perm[:add] {
			out[inds[p]]++
		}
		need -= add
		if need == 0 {
			break
		}
	}
	return out
}
