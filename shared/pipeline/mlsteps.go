package pipeline

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/mi"
	"github.com/arrestcast/arrestcast/shared/ml/sample"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
)

// The seed's balancing and selection settings.
const (
	SMOTERatio      = 0.5
	SMOTENeighbours = 5
	UnderRatio      = 0.8
	BalanceSeed     = 42
	MINeighbours    = 3
	MISeed          = 42
	MIThreshold     = 0.05
)

// Correlated are the encoded columns the seed drops before selection.
var Correlated = []string{
	recipe.FreqName(recipe.ColBeat), recipe.FreqName(recipe.ColWard), recipe.FreqName(recipe.ColCommunityArea),
	recipe.FreqName(recipe.ColStationName), recipe.FreqName(recipe.ColFBICode),
}

func init() {
	Register("balance", Balance)
	Register("features", Features)
}

// MLReadyKey is features' output for a run date ("train.csv" or "test.csv").
func MLReadyKey(d time.Time, name string) string { return StepDir("features", d) + name }

// matrix returns t's columns other than arrest as a column-major matrix, and the labels.
func matrix(t *table.Table) (names []string, X [][]float64, y []uint8, err error) {
	y, err = recipe.Labels(t)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, c := range t.Columns() {
		if c.Name == recipe.ColArrest {
			continue
		}
		if c.Kind != table.Numeric {
			return nil, nil, nil, fmt.Errorf("column %s is %v, want numeric", c.Name, c.Kind)
		}
		names = append(names, c.Name)
		X = append(X, c.Nums)
	}
	return names, X, y, nil
}

// Balance oversamples arrests with SMOTE (ratio 0.5, k = 5) and then
// undersamples non-arrests (ratio 0.8), on train only; test is passed on
// untouched (its key goes into the manifest).
func Balance(ctx context.Context, r *Run) error {
	trainKey, err := r.prevOutput("/train" + BinaryExt)
	if err != nil {
		return err
	}
	testKey, err := r.prevOutput("/test" + BinaryExt)
	if err != nil {
		return err
	}
	train, err := r.GetTable(ctx, trainKey)
	if err != nil {
		return err
	}
	r.Count(int64(train.Len()), 0, 0)
	names, X, y, err := matrix(train)
	if err != nil {
		return &Permanent{err}
	}
	// The output is the input rows and SMOTE's new ones, undersampled; it is
	// made from both while it is uploaded, so neither is copied.
	S, minority, err := sample.Synthesize(X, y, SMOTERatio, SMOTENeighbours, BalanceSeed)
	if err != nil {
		return &Permanent{fmt.Errorf("smote: %w", err)}
	}
	n := len(y)
	y = sample.Labels(y, minority, len(S[0]))
	r.Note("after_smote", len(y))
	keep, err := sample.UnderSample(y, UnderRatio, BalanceSeed)
	if err != nil {
		return &Permanent{fmt.Errorf("undersample: %w", err)}
	}
	fill := func(lo int, g *table.Table) error {
		cols, rows := g.Columns(), keep[lo:lo+g.Len()]
		for j := range names {
			x, s, out := X[j], S[j], cols[j].Nums
			for i, k := range rows {
				if k < n {
					out[i] = x[k]
				} else {
					out[i] = s[k-n]
				}
			}
		}
		for i, k := range rows {
			cols[len(names)].Bools[i] = int8(y[k])
		}
		return nil
	}
	if _, err := r.PutGroups(ctx, TrainKey("balance", r.Date), recipe.LabelledSchema(names), len(keep), fill); err != nil {
		return err
	}
	pos := 0
	for _, k := range keep {
		pos += int(y[k])
	}
	r.Count(0, int64(len(keep)), 0)
	r.Note("test", testKey)
	r.Note("arrest_share", float64(pos)/float64(len(keep)))
	return nil
}

// FeatureState is features' fitted state: the selection and its scores.
type FeatureState struct {
	Features  []string           `json:"features"`
	MI        map[string]float64 `json:"mutual_information"`
	Threshold float64            `json:"threshold"`
	Dropped   []string           `json:"dropped_as_correlated"`
}

// Features drops the seed's correlated columns, scores the rest by mutual
// information with arrest on the balanced train set (kNN estimator, k = 3),
// keeps those above 0.05 and writes the ML-ready train and test sets.
func Features(ctx context.Context, r *Run) error {
	trainKey, err := r.prevOutput("/train" + BinaryExt)
	if err != nil {
		return err
	}
	testKey, _ := r.Prev.Notes["test"].(string)
	if testKey == "" {
		return Permanentf("balance's manifest does not name the test set")
	}
	// The correlated columns are never read. The estimator scales train's
	// columns where they are (a scaled copy of every column was the step's
	// largest allocation), so the kept columns are read again afterwards,
	// with test: the scores' memory is gone by then.
	train, err := r.GetTable(ctx, trainKey, Correlated...)
	if err != nil {
		return err
	}
	names, X, y, err := matrix(train)
	if err != nil {
		return &Permanent{err}
	}
	scores, err := mi.Classif(X, y, mi.Options{K: MINeighbours, Seed: MISeed, InPlace: true})
	if err != nil {
		return &Permanent{fmt.Errorf("mutual information: %w", err)}
	}
	st := FeatureState{MI: map[string]float64{}, Threshold: MIThreshold, Dropped: Correlated}
	for j, n := range names {
		st.MI[n] = scores[j]
		if scores[j] > MIThreshold {
			st.Features = append(st.Features, n)
		}
	}
	if len(st.Features) == 0 {
		return Permanentf("no feature has mutual information above %v", MIThreshold)
	}
	var unused []string
	for _, n := range names {
		if !slices.Contains(st.Features, n) {
			unused = append(unused, n)
		}
	}
	unused = append(unused, Correlated...)
	if train, err = r.GetTable(ctx, trainKey, unused...); err != nil {
		return err
	}
	test, err := r.GetTable(ctx, testKey, unused...)
	if err != nil {
		return err
	}
	r.Count(int64(train.Len()+test.Len()), 0, 0)
	keep := append(slices.Clone(st.Features), recipe.ColArrest)
	if train, err = train.Keep(keep...); err != nil {
		return &Permanent{err}
	}
	if test, err = test.Keep(keep...); err != nil {
		return &Permanent{fmt.Errorf("test set: %w", err)}
	}
	if err := r.writeSplit(ctx, train, test, st); err != nil {
		return err
	}
	r.Note("features", st.Features)
	return nil
}
