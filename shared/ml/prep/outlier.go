package prep

import (
	"encoding/json"
	"fmt"
	"math"
)

// OutlierBounds is the seed's outlier rule fitted on the train split: a value
// is kept when Lower <= v <= Upper with Lower = Mean − K·Std and
// Upper = Mean + K·Std (both ends inclusive; NaN is never kept).
//
// Mean and Std are pandas' Series.mean() and Series.std() of the train
// column: Std is the SAMPLE standard deviation (ddof = 1), NaN values are
// skipped, and both sums are numpy's pairwise sums, i.e. the bits pandas
// gives without bottleneck. (With python3-bottleneck installed, as on
// Debian, pandas' std uses bottleneck's naive summation and can differ in
// the last bit or two; see the golden file.)
type OutlierBounds struct {
	K     float64 `json:"k"`
	N     int     `json:"n"`    // non-NaN train values
	Mean  float64 `json:"mean"` // pandas mean
	Std   float64 `json:"std"`  // pandas std, ddof = 1
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
}

// FitOutlierBounds fits the bounds mean ± k·std on the train values x.
func FitOutlierBounds(x []float64, k float64) (*OutlierBounds, error) {
	if !(k > 0) || math.IsInf(k, 0) {
		return nil, fmt.Errorf("fit outlier bounds: k = %v must be positive and finite", k)
	}
	scratch := make([]float64, len(x))
	n, mean, _, sq := moments(x, scratch)
	if n < 2 {
		return nil, fmt.Errorf("fit outlier bounds: %d non-missing values, need at least 2 for a sample std", n)
	}
	if math.IsInf(mean, 0) || math.IsInf(sq, 0) || math.IsNaN(sq) {
		return nil, fmt.Errorf("fit outlier bounds: non-finite mean or variance (infinite input?)")
	}
	std := math.Sqrt(sq / float64(n-1))
	b := &OutlierBounds{K: k, N: n, Mean: mean, Std: std,
		Lower: mean - k*std, Upper: mean + k*std}
	return b, nil
}

// Keep reports whether v lies inside the bounds. It does not allocate.
func (b *OutlierBounds) Keep(v float64) bool {
	return v >= b.Lower && v <= b.Upper
}

// KeepRows appends to dst the indices i of col whose value Keep accepts, in
// increasing order, and returns it.
func (b *OutlierBounds) KeepRows(col []float64, dst []int) []int {
	for i, v := range col {
		if b.Keep(v) {
			dst = append(dst, i)
		}
	}
	return dst
}

// UnmarshalJSON loads bounds and checks they are usable.
func (b *OutlierBounds) UnmarshalJSON(data []byte) error {
	type plain OutlierBounds
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Errorf("load outlier bounds: %w", err)
	}
	if !(p.Lower <= p.Upper) || math.IsInf(p.Lower, 0) || math.IsInf(p.Upper, 0) {
		return fmt.Errorf("load outlier bounds: bad bounds [%v, %v]", p.Lower, p.Upper)
	}
	*b = OutlierBounds(p)
	return nil
}
