package prep

import (
	"encoding/json"
	"fmt"
	"math"
)

// Scaler is scikit-learn 1.2's StandardScaler (with_mean, with_std) fitted on
// columns: Apply(j, v) = (v − Mean[j]) / Scale[j].
//
// Fit reproduces sklearn's arithmetic on a column-major (Fortran-ordered)
// float64 matrix: mean = pairwise sum / n; Var = (Σ(x−T)² − (Σ(x−T))²/n)/n
// with T = mean (the corrected two-pass algorithm), i.e. the POPULATION
// variance; Scale = sqrt(Var), replaced by 1 when the feature is constant by
// sklearn's test (Var <= n·ε·Var + (n·Mean·ε)², ε = 2⁻⁵²), which also
// catches near-constant features whose variance is only rounding noise.
// NaN values are ignored in the fit and stay NaN in Apply, as in sklearn.
type Scaler struct {
	Features []string  `json:"features"`
	N        []int     `json:"n"` // non-NaN train values per feature
	Mean     []float64 `json:"mean"`
	Var      []float64 `json:"var"`
	Scale    []float64 `json:"scale"`
}

// FitScaler fits on X column-major: X[j] holds feature j (named features[j]).
func FitScaler(features []string, X [][]float64) (*Scaler, error) {
	if len(features) != len(X) {
		return nil, fmt.Errorf("fit scaler: %d names for %d columns", len(features), len(X))
	}
	s := &Scaler{
		Features: append([]string(nil), features...),
		N:        make([]int, len(X)),
		Mean:     make([]float64, len(X)),
		Var:      make([]float64, len(X)),
		Scale:    make([]float64, len(X)),
	}
	var scratch []float64
	for j, col := range X {
		if j > 0 && len(col) != len(X[0]) {
			return nil, fmt.Errorf("fit scaler: column %q has %d rows, %q has %d", features[j], len(col), features[0], len(X[0]))
		}
		scratch = grow(scratch, len(col))
		n, mean, dev, sq := moments(col, scratch)
		if n == 0 {
			return nil, fmt.Errorf("fit scaler: column %q has no non-missing value", features[j])
		}
		nf := float64(n)
		v := (sq - dev*dev/nf) / nf
		if math.IsInf(mean, 0) || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("fit scaler: column %q: non-finite mean or variance", features[j])
		}
		s.N[j], s.Mean[j], s.Var[j] = n, mean, v
		s.Scale[j] = scaleOf(v, mean, n)
	}
	return s, nil
}

// scaleOf is sqrt(var), or 1 for a constant feature (sklearn's
// _is_constant_feature + _handle_zeros_in_scale).
func scaleOf(v, mean float64, n int) float64 {
	const eps = 0x1p-52
	nf := float64(n)
	t := nf * mean * eps
	if v <= nf*eps*v+t*t {
		return 1
	}
	return math.Sqrt(v)
}

// Apply standardises value v of feature j. It does not allocate.
func (s *Scaler) Apply(j int, v float64) float64 {
	return (v - s.Mean[j]) / s.Scale[j]
}

// TransformColumn applies Apply(j, ·) to col into dst (resized, may alias
// col) and returns dst.
func (s *Scaler) TransformColumn(j int, col, dst []float64) []float64 {
	dst = grow(dst, len(col))
	for i, v := range col {
		dst[i] = s.Apply(j, v)
	}
	return dst
}

// Transform standardises every column of X in place.
func (s *Scaler) Transform(X [][]float64) error {
	if len(X) != len(s.Mean) {
		return fmt.Errorf("scaler: %d columns, fitted on %d", len(X), len(s.Mean))
	}
	for j, col := range X {
		s.TransformColumn(j, col, col)
	}
	return nil
}

// Index returns the position of the named feature, or -1.
func (s *Scaler) Index(feature string) int {
	for j, f := range s.Features {
		if f == feature {
			return j
		}
	}
	return -1
}

// UnmarshalJSON loads a scaler and checks its shape and values.
func (s *Scaler) UnmarshalJSON(data []byte) error {
	type plain Scaler
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Errorf("load scaler: %w", err)
	}
	k := len(p.Features)
	if len(p.N) != k || len(p.Mean) != k || len(p.Var) != k || len(p.Scale) != k {
		return fmt.Errorf("load scaler: %d features but %d/%d/%d/%d n/mean/var/scale", k, len(p.N), len(p.Mean), len(p.Var), len(p.Scale))
	}
	for j, sc := range p.Scale {
		if !(sc > 0) || math.IsInf(sc, 0) {
			return fmt.Errorf("load scaler: feature %q has scale %v", p.Features[j], sc)
		}
	}
	*s = Scaler(p)
	return nil
}
