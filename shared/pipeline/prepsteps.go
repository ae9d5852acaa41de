package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/prep"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
)

// The seed's settings.
const (
	TestSize     = 0.2
	SplitSeed    = 42
	OutlierSigma = 3.0
)

func init() {
	Register("split", Split)
	Register("outliers", Outliers)
	Register("encode", Encode)
	Register("scale", Scale)
}

// StateKey is where a step keeps its fitted state for a run date.
func StateKey(step string, d time.Time) string { return StepDir(step, d) + "state.json" }

// TrainKey and TestKey are a step's two outputs for a run date: CSV for
// features (the ML-ready files people and other tools read), the binary
// table format between our own steps (see GetTable).
func TrainKey(step string, d time.Time) string { return StepDir(step, d) + "train" + tableExt(step) }
func TestKey(step string, d time.Time) string  { return StepDir(step, d) + "test" + tableExt(step) }

func tableExt(step string) string {
	if step == "features" {
		return ".csv"
	}
	return BinaryExt
}

// readSplit reads the previous step's train and test tables.
func (r *Run) readSplit(ctx context.Context) (train, test *table.Table, err error) {
	trainKey, err := r.prevOutput("/train" + BinaryExt)
	if err != nil {
		return nil, nil, err
	}
	testKey, err := r.prevOutput("/test" + BinaryExt)
	if err != nil {
		return nil, nil, err
	}
	if train, err = r.GetTable(ctx, trainKey); err != nil {
		return nil, nil, err
	}
	if test, err = r.GetTable(ctx, testKey); err != nil {
		return nil, nil, err
	}
	r.Count(int64(train.Len()+test.Len()), 0, 0)
	return train, test, nil
}

// writeSplit writes train, test and the fitted state, and counts rows out.
func (r *Run) writeSplit(ctx context.Context, train, test *table.Table, state any) error {
	if _, err := r.PutTable(ctx, TrainKey(r.Step, r.Date), train); err != nil {
		return err
	}
	if _, err := r.PutTable(ctx, TestKey(r.Step, r.Date), test); err != nil {
		return err
	}
	return r.splitWritten(ctx, train.Len(), test.Len(), state)
}

// splitWritten writes the fitted state of a step whose train and test are
// written, and counts rows out.
func (r *Run) splitWritten(ctx context.Context, trainRows, testRows int, state any) error {
	if state != nil {
		if _, err := r.PutJSON(ctx, "", StateKey(r.Step, r.Date), state); err != nil {
			return err
		}
	}
	r.Count(0, int64(trainRows+testRows), 0)
	r.Note("train_rows", trainRows)
	r.Note("test_rows", testRows)
	return nil
}

// Split drops duplicate rows, splits 80/20 stratified on arrest (seed 42,
// scikit-learn's exact rows), fits the fill values on train and applies them
// to both, and drops date and description.
func Split(ctx context.Context, r *Run) error {
	key, err := r.prevOutput(EnrichedKey(r.Date))
	if err != nil {
		return err
	}
	t, err := r.GetTable(ctx, key)
	if err != nil {
		return err
	}
	r.Count(int64(t.Len()), 0, 0)
	// Row numbers, not tables, until the split: one copy of the year, not two.
	distinct := distinctRows(t)
	r.Note("duplicates_dropped", r.m.RowsIn-int64(len(distinct)))
	all, err := recipe.Labels(t)
	if err != nil {
		return &Permanent{err}
	}
	y := make([]uint8, len(distinct))
	for k, i := range distinct {
		y[k] = all[i]
	}
	trainIdx, testIdx, err := prep.StratifiedSplit(y, TestSize, SplitSeed)
	if err != nil {
		return &Permanent{fmt.Errorf("split: %w", err)}
	}
	for _, idx := range [][]int{trainIdx, testIdx} {
		for k, i := range idx {
			idx[k] = distinct[i]
		}
	}
	// date stays until encode: train compares models on the rows a champion never saw.
	t.Drop(recipe.ColDescription)
	// test is copied out; train is made of t's own columns, reordered in
	// place: the year is held about 1.2 times, not twice.
	test := t.Select(testIdx)
	if err := t.Reorder(trainIdx); err != nil {
		return fmt.Errorf("split: %w", err)
	}
	train := t
	fill, err := recipe.FitFill(train)
	if err != nil {
		return &Permanent{err}
	}
	if err := fill.Table(train); err != nil {
		return &Permanent{err}
	}
	if err := fill.Table(test); err != nil {
		return &Permanent{err}
	}
	return r.writeSplit(ctx, train, test, fill)
}

// Outliers keeps the rows whose distance to the station lies within the
// train mean ± 3σ (train statistics), in train and test.
func Outliers(ctx context.Context, r *Run) error {
	train, test, err := r.readSplit(ctx)
	if err != nil {
		return err
	}
	d, err := train.Lookup(recipe.ColDistance, table.Numeric)
	if err != nil {
		return &Permanent{err}
	}
	b, err := prep.FitOutlierBounds(d.Nums, OutlierSigma)
	if err != nil {
		return &Permanent{fmt.Errorf("fit outlier bounds: %w", err)}
	}
	keep := func(t *table.Table) (*table.Table, error) {
		c, err := t.Lookup(recipe.ColDistance, table.Numeric)
		if err != nil {
			return nil, &Permanent{err}
		}
		return t.Select(b.KeepRows(c.Nums, nil)), nil
	}
	if train, err = keep(train); err != nil {
		return err
	}
	if test, err = keep(test); err != nil {
		return err
	}
	return r.writeSplit(ctx, train, test, b)
}

// Encode fits the encoders on train and encodes train and test. The encoded
// tables (about twice the input: every value a float) are made a group of
// rows at a time while they are uploaded, never held whole.
func Encode(ctx context.Context, r *Run) error {
	train, test, err := r.readSplit(ctx)
	if err != nil {
		return err
	}
	enc, err := recipe.FitEncoder(train)
	if err != nil {
		return &Permanent{err}
	}
	put := func(key string, t *table.Table) error {
		fill, err := enc.Filler(t)
		if err != nil {
			return &Permanent{fmt.Errorf("encode %s: %w", key, err)}
		}
		_, err = r.PutGroups(ctx, key, enc.Schema(), t.Len(), fill)
		return err
	}
	trainRows, testRows := train.Len(), test.Len()
	if err := put(TrainKey(r.Step, r.Date), train); err != nil {
		return err
	}
	if err := put(TestKey(r.Step, r.Date), test); err != nil {
		return err
	}
	return r.splitWritten(ctx, trainRows, testRows, enc)
}

// Scale fits a StandardScaler on train's x, y and distance and applies it.
func Scale(ctx context.Context, r *Run) error {
	train, test, err := r.readSplit(ctx)
	if err != nil {
		return err
	}
	X := make([][]float64, len(recipe.ScaledColumns))
	for j, name := range recipe.ScaledColumns {
		c, err := train.Lookup(name, table.Numeric)
		if err != nil {
			return &Permanent{err}
		}
		X[j] = c.Nums
	}
	s, err := prep.FitScaler(recipe.ScaledColumns, X)
	if err != nil {
		return &Permanent{fmt.Errorf("fit scaler: %w", err)}
	}
	for _, t := range []*table.Table{train, test} {
		for j, name := range recipe.ScaledColumns {
			c := t.Col(name)
			if c == nil || c.Kind != table.Numeric {
				return Permanentf("column %s missing or not numeric", name)
			}
			// In place: the tables were read by this step and are its own.
			s.TransformColumn(j, c.Nums, c.Nums)
		}
	}
	return r.writeSplit(ctx, train, test, s)
}
