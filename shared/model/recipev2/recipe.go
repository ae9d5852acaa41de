package recipev2

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/calibrate"
	"github.com/arrestcast/arrestcast/shared/ml/gbt"
	"github.com/arrestcast/arrestcast/shared/ml/target"
)

// Name is the recipe's name in artifacts and the registry.
const Name = "v2"

// Encoding is one target-encoded feature: a field, or a cross of fields
// (their values joined), and its encoder fitted on all training rows.
type Encoding struct {
	Fields  []string        `json:"fields"`
	Encoder *target.Encoder `json:"encoder"`

	fs []field
}

// FeatureName is the model's name of the encoding of fields.
func FeatureName(fields []string) string { return "te_" + strings.Join(fields, "_x_") }

// Recipe is v2's whole fitted preprocessing and calibration: the numeric
// features, the target encodings, the calibration of the model's margin
// and the decision threshold. The model itself (gbt) sits beside it in the
// artifact.
type Recipe struct {
	Numeric     []string              `json:"numeric"`
	Encodings   []*Encoding           `json:"encodings"`
	Calibration *calibrate.Calibrator `json:"calibration"`
	Threshold   float64               `json:"threshold"`

	nums []numeric
}

// Prepare resolves the feature names; call it once after fitting or loading.
func (rc *Recipe) Prepare() error {
	if len(rc.Numeric)+len(rc.Encodings) == 0 {
		return errors.New("recipe v2: no features")
	}
	rc.nums = rc.nums[:0]
	for _, n := range rc.Numeric {
		v, ok := numericByName[n]
		if !ok {
			return fmt.Errorf("recipe v2: unknown numeric feature %q", n)
		}
		rc.nums = append(rc.nums, v)
	}
	for _, e := range rc.Encodings {
		if e.Encoder == nil || len(e.Fields) == 0 {
			return fmt.Errorf("recipe v2: encoding %v without fields or encoder", e.Fields)
		}
		e.fs = e.fs[:0]
		for _, f := range e.Fields {
			v, ok := fieldByName[f]
			if !ok {
				return fmt.Errorf("recipe v2: encoding %v: unknown field %q", e.Fields, f)
			}
			e.fs = append(e.fs, v)
		}
	}
	if rc.Calibration == nil {
		return errors.New("recipe v2: no calibration")
	}
	if err := rc.Calibration.Validate(); err != nil {
		return fmt.Errorf("recipe v2: %w", err)
	}
	if math.IsNaN(rc.Threshold) || rc.Threshold < 0 || rc.Threshold > 1 {
		return fmt.Errorf("recipe v2: threshold %v", rc.Threshold)
	}
	return nil
}

// Features are the model's feature names, in Vector's order.
func (rc *Recipe) Features() []string {
	out := append([]string(nil), rc.Numeric...)
	for _, e := range rc.Encodings {
		out = append(out, FeatureName(e.Fields))
	}
	return out
}

// Width is the number of features.
func (rc *Recipe) Width() int { return len(rc.Numeric) + len(rc.Encodings) }

// Vector writes r's features into out (Width values), building crossed keys
// in key, which it returns for reuse. It does not allocate once key has
// grown to the longest key.
func (rc *Recipe) Vector(r *Record, key []byte, out []float64) []byte {
	for j, n := range rc.nums {
		out[j] = numericValue(r, n)
	}
	off := len(rc.nums)
	for j, e := range rc.Encodings {
		key = appendKey(key[:0], r, e.fs)
		out[off+j] = e.Encoder.ValueBytes(key)
	}
	return key
}

// Scorer is a prepared recipe with its model: it turns records into
// probabilities, one at a time (predict) or a whole table (training's
// evaluation), through the same code. Safe for concurrent use.
type Scorer struct {
	rc      *Recipe
	m       *gbt.Model
	scratch sync.Pool // *buffers
}

type buffers struct {
	key []byte
	x   []float64
}

// NewScorer prepares rc and checks that m takes its features.
func NewScorer(rc *Recipe, m *gbt.Model) (*Scorer, error) {
	if rc == nil || m == nil {
		return nil, errors.New("recipe v2: recipe and model are required")
	}
	if err := rc.Prepare(); err != nil {
		return nil, err
	}
	if m.NumFeatures() != rc.Width() {
		return nil, fmt.Errorf("recipe v2: model has %d features, recipe makes %d", m.NumFeatures(), rc.Width())
	}
	s := &Scorer{rc: rc, m: m}
	w := rc.Width()
	s.scratch.New = func() any { return &buffers{key: make([]byte, 0, 128), x: make([]float64, w)} }
	return s, nil
}

// Recipe is the scorer's recipe.
func (s *Scorer) Recipe() *Recipe { return s.rc }

// Model is the scorer's model.
func (s *Scorer) Model() *gbt.Model { return s.m }

// Proba is the calibrated probability of an arrest for r. It does not allocate.
func (s *Scorer) Proba(r *Record) float64 {
	b := s.scratch.Get().(*buffers)
	b.key = s.rc.Vector(r, b.key, b.x)
	p := s.rc.Calibration.Apply(s.m.PredictMargin(b.x))
	s.scratch.Put(b)
	return p
}

// ProbaInputs is Proba that also gives the model's inputs for r: x (Width
// values) is filled with them. It does not allocate.
func (s *Scorer) ProbaInputs(r *Record, x []float64) float64 {
	b := s.scratch.Get().(*buffers)
	b.key = s.rc.Vector(r, b.key, x)
	s.scratch.Put(b)
	return s.rc.Calibration.Apply(s.m.PredictMargin(x))
}

// Table scores every row of an enriched table (Proba of each row's
// Record), on threads goroutines (0: 1).
func (s *Scorer) Table(t *table.Table, threads int) ([]float64, error) {
	rd, err := NewReader(t)
	if err != nil {
		return nil, err
	}
	out := make([]float64, t.Len())
	parallel(len(out), threads, func(lo, hi int) {
		var r Record
		for i := lo; i < hi; i++ {
			rd.Read(i, &r)
			out[i] = s.Proba(&r)
		}
	})
	return out, nil
}

// parallel runs fn over [0, n) cut into threads contiguous parts.
func parallel(n, threads int, fn func(lo, hi int)) {
	threads = max(1, min(threads, n/1024))
	var wg sync.WaitGroup
	for k := range threads {
		lo, hi := n*k/threads, n*(k+1)/threads
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}
