package metrics

import (
	"errors"
	"fmt"
	"math"
)

// Errors returned (wrapped, with the row or counts) by every metric.
var (
	ErrLength      = errors.New("labels and scores differ in length")
	ErrEmpty       = errors.New("no rows")
	ErrLabel       = errors.New("label is not 0 or 1")
	ErrNonFinite   = errors.New("score is NaN or infinite")
	ErrProbability = errors.New("probability outside [0, 1]")
	ErrSingleClass = errors.New("only one class present in labels")
)

// check validates labels and scores and counts the positives. With prob set
// the scores must be probabilities in [0, 1].
func check(y []uint8, s []float64, prob bool) (pos int, err error) {
	if len(y) != len(s) {
		return 0, fmt.Errorf("%w: %d labels, %d scores", ErrLength, len(y), len(s))
	}
	if len(y) == 0 {
		return 0, ErrEmpty
	}
	for i, v := range y {
		if v > 1 {
			return 0, fmt.Errorf("%w: row %d has %d", ErrLabel, i, v)
		}
		pos += int(v)
	}
	for i, v := range s {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("%w: row %d has %v", ErrNonFinite, i, v)
		}
		if prob && (v < 0 || v > 1) {
			return 0, fmt.Errorf("%w: row %d has %v", ErrProbability, i, v)
		}
	}
	return pos, nil
}

func bothClasses(pos, n int) error {
	if pos == 0 || pos == n {
		return fmt.Errorf("%w: %d positives among %d rows", ErrSingleClass, pos, n)
	}
	return nil
}
