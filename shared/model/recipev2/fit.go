package recipev2

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/calibrate"
	"github.com/arrestcast/arrestcast/shared/ml/gbt"
	"github.com/arrestcast/arrestcast/shared/ml/metrics"
	"github.com/arrestcast/arrestcast/shared/ml/target"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
)

// DefaultNumeric are the numeric features: the seed's place and time
// (x, y, distance to the nearest station, day of week), the report's hour,
// minute, round-hour flag and minute roundness, and domestic.
var DefaultNumeric = []string{NumX, NumY, NumDistance, NumDayOfWeek, NumHour, NumMinute, NumRoundHour, NumRoundness, NumDomestic}

// DefaultEncodings are the target-encoded fields and crosses. First what
// carried the gain in the XGBoost study: IUCR, and IUCR crossed with
// domestic, with the round hour and with the location; the description.
// Then the other report-time categories, the place (x/y), IUCR with the
// minute's roundness (and domestic), and a few crosses of place, time and
// type. How each was chosen, and what it gained: bench/notes/recipe-v2.md.
var DefaultEncodings = [][]string{
	{FieldIUCR},
	{FieldIUCR, FieldDomestic},
	{FieldIUCR, FieldRoundHour},
	{FieldIUCR, FieldLocation},
	{FieldDescription},
	{FieldLocation},
	{FieldPrimaryType},
	{FieldFBICode},
	{FieldBeat},
	{FieldDistrict},
	{FieldWard},
	{FieldCommunityArea},
	{FieldStationDistrict},
	{FieldXY},
	{FieldIUCR, FieldRoundness},
	{FieldIUCR, FieldDomestic, FieldRoundness},
	{FieldLocation, FieldHour},
	{FieldBeat, FieldIUCR},
	{FieldBeat, FieldPrimaryType},
	{FieldDescription, FieldLocation, FieldDomestic},
}

// Defaults of Options' zero values.
const (
	DefaultFolds            = 5
	DefaultSmoothing        = 5
	DefaultCalibrationFolds = 5
	// DefaultCalibrationGain is the cross-validated log loss a calibration
	// must save over the model's own probabilities to be used.
	DefaultCalibrationGain = 1e-4
	DefaultThreshold       = 0.5
)

// DefaultParams are the trees v2 boosts: gbt's defaults with leaves of at
// most 63 and a minimum child weight of 20 (larger trees overfit out of time
// sooner for no gain), up to 400 rounds, stopped 40 rounds after the
// validation loss last improved (about 250 on the 2017 year).
func DefaultParams() gbt.Params {
	p := gbt.DefaultParams()
	p.MaxLeaves = 63
	p.MinChildWeight = 20
	p.NumTrees = 400
	p.EarlyStoppingRounds = 40
	return p
}

// Options are Fit's settings; the zero value is the defaults.
type Options struct {
	Numeric   []string   // nil: DefaultNumeric
	Encodings [][]string // nil: DefaultEncodings
	// Folds of the out-of-fold target encoding of training rows (0: DefaultFolds).
	Folds int
	// Smoothing is the m of the target encodings (0: DefaultSmoothing; negative: none).
	Smoothing float64
	// Params of the trees (nil: DefaultParams()); ValidationFraction must
	// be 0: the validation table is the held-out set.
	Params *gbt.Params
	// Deadline, when set, stops boosting when the next round would end after it.
	Deadline time.Time
	// Calibration forces a method; "" chooses on the validation rows.
	Calibration      calibrate.Method
	CalibrationFolds int     // 0: DefaultCalibrationFolds
	CalibrationGain  float64 // 0: DefaultCalibrationGain
	// ThresholdMCC picks the threshold that maximises MCC on the validation
	// rows instead of DefaultThreshold.
	ThresholdMCC bool
	// Search, when set, picks the trees' parameters before the fit (train
	// passes tune.Local): its trials fit every third training row and are
	// judged by the validation rows' log loss; the parameters it returns
	// are then fitted on every row.
	Search  Search
	Seed    uint64
	Threads int // 0: the trees' Params.Threads (GOMAXPROCS)
}

// Fitted is a fitted recipe with its model and how it was fitted.
type Fitted struct {
	Recipe *Recipe
	Model  *gbt.Model
	Scorer *Scorer

	// ValidProba are the calibrated probabilities of the validation rows
	// (the table path), Valid their report at the threshold. The rows
	// chose the trees' count and fitted the calibration: Evaluate rows no
	// step saw for an unbiased figure.
	ValidProba  []float64
	Valid       *metrics.Report
	Calibration *calibrate.Choice // nil when Options.Calibration forced one
	Importance  map[string]float64

	TrainRows, ValidRows int
	Trees                int // kept (early stopping)
	Rounds               int // boosted, the kept and the ones after
	StoppedAtDeadline    bool
	Params               gbt.Params // the trees' parameters (the search's, when it ran)
	Seconds              Timing
}

// Search picks the trees' parameters given an evaluation of them: eval fits
// parameters, boosting until by at most (zero: Options.Deadline), and
// returns their validation log loss and the trees early stopping kept. Its
// error wraps ErrCut when the time limit, not early stopping, ended the
// boosting: that loss is not comparable with the others.
type Search func(ctx context.Context, eval func(ctx context.Context, p gbt.Params, by time.Time) (loss float64, trees int, err error)) (gbt.Params, error)

// ErrCut is what a search trial's error wraps when it ran out of time.
var ErrCut = errors.New("recipe v2: trial stopped at its time limit")

// Timing is where Fit's time went, in seconds.
type Timing struct {
	Encode, Search, Boost, Calibrate, Total float64
}

// Fit fits v2 on the train rows (enriched records, the label arrest) and
// uses the valid rows (newer ones, out of time) to stop boosting, to fit
// and choose the calibration and to pick the threshold. Target encodings
// of training rows are out of fold; every other row, validation rows
// included, is encoded by the encoders fitted on all training rows —
// through Scorer's per-record code, as predict does.
func Fit(ctx context.Context, train, valid *table.Table, opts Options) (*Fitted, error) {
	start := time.Now()
	o, p, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	yT, err := recipe.Labels(train)
	if err != nil {
		return nil, fmt.Errorf("recipe v2: train: %w", err)
	}
	yV, err := recipe.Labels(valid)
	if err != nil {
		return nil, fmt.Errorf("recipe v2: valid: %w", err)
	}
	nT, nV := len(yT), len(yV)
	if nT < 2*o.Folds || nV < 2*o.CalibrationFolds {
		return nil, fmt.Errorf("recipe v2: %d train and %d validation rows: too few", nT, nV)
	}
	rdT, err := NewReader(train)
	if err != nil {
		return nil, fmt.Errorf("recipe v2: train: %w", err)
	}
	rdV, err := NewReader(valid)
	if err != nil {
		return nil, fmt.Errorf("recipe v2: valid: %w", err)
	}

	rc := &Recipe{Numeric: slices.Clone(o.Numeric), Calibration: &calibrate.Calibrator{Method: calibrate.None}, Threshold: DefaultThreshold}
	for _, fs := range o.Encodings {
		rc.Encodings = append(rc.Encodings, &Encoding{Fields: slices.Clone(fs), Encoder: &target.Encoder{}})
	}
	if err := rc.Prepare(); err != nil {
		return nil, err
	}
	nNum, w := len(rc.Numeric), rc.Width()
	X := make([][]float64, w)
	for j := range X {
		X[j] = make([]float64, nT+nV)
	}

	// Training rows: numeric features, and each encoding's key as a code.
	codes := make([][]int32, len(rc.Encodings))
	builders := make([]*table.CatBuilder, len(rc.Encodings))
	for e := range codes {
		codes[e] = make([]int32, nT)
		builders[e] = table.NewCatBuilder()
	}
	var r Record
	var key []byte
	for i := range nT {
		if i%16384 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("recipe v2: %w", err)
			}
		}
		rdT.Read(i, &r)
		for j, n := range rc.nums {
			X[j][i] = numericValue(&r, n)
		}
		for e, enc := range rc.Encodings {
			key = appendKey(key[:0], &r, enc.fs)
			codes[e][i] = builders[e].CodeBytes(key)
		}
	}
	folds, err := target.Folds(nT, o.Folds, uint32(o.Seed))
	if err != nil {
		return nil, fmt.Errorf("recipe v2: %w", err)
	}
	for e, enc := range rc.Encodings {
		_, full, err := target.OutOfFold(codes[e], builders[e].Dict(), yT, folds, o.Folds, o.Smoothing, X[nNum+e][:nT])
		if err != nil {
			return nil, fmt.Errorf("recipe v2: encode %v: %w", enc.Fields, err)
		}
		enc.Encoder = full
	}
	codes, builders = nil, nil
	// Validation rows: the record path.
	row := make([]float64, w)
	for i := range nV {
		rdV.Read(i, &r)
		key = rc.Vector(&r, key, row)
		for j, v := range row {
			X[j][nT+i] = v
		}
	}
	encoded := time.Now()

	y := append(slices.Clip(yT), yV...)
	if o.Search != nil {
		if p, err = searchParams(ctx, X, y, nT, o.Search, o.Deadline); err != nil {
			return nil, err
		}
	}
	searched := time.Now()
	m, rounds, err := boost(ctx, X, y, nT, p, o.Deadline)
	if err != nil {
		return nil, err
	}
	boosted := time.Now()

	margin := make([]float64, nV)
	for i := range nV {
		for j := range row {
			row[j] = X[j][nT+i]
		}
		margin[i] = m.PredictMargin(row)
	}
	X = nil
	f := &Fitted{Recipe: rc, Model: m, TrainRows: nT, ValidRows: nV, Trees: m.NumTrees(), Rounds: rounds,
		StoppedAtDeadline: m.StoppedAtDeadline(), Params: p}
	if o.Calibration == "" {
		rc.Calibration, f.Calibration, err = calibrate.Choose(margin, yV, o.CalibrationFolds, uint32(o.Seed)+1, o.CalibrationGain)
	} else {
		rc.Calibration, err = calibrate.Fit(o.Calibration, margin, yV)
	}
	if err != nil {
		return nil, fmt.Errorf("recipe v2: calibrate: %w", err)
	}
	f.ValidProba = make([]float64, nV)
	for i, s := range margin {
		f.ValidProba[i] = rc.Calibration.Apply(s)
	}
	if o.ThresholdMCC {
		if rc.Threshold, _, err = calibrate.MCCThreshold(yV, f.ValidProba); err != nil {
			return nil, fmt.Errorf("recipe v2: threshold: %w", err)
		}
	}
	if f.Valid, err = metrics.NewReport(yV, f.ValidProba, rc.Threshold); err != nil {
		return nil, fmt.Errorf("recipe v2: validation report: %w", err)
	}
	if f.Scorer, err = NewScorer(rc, m); err != nil {
		return nil, err
	}
	imp := m.FeatureImportance()
	f.Importance = map[string]float64{}
	for j, name := range rc.Features() {
		if j < len(imp.Gain) {
			f.Importance[name] = imp.Gain[j]
		}
	}
	end := time.Now()
	f.Seconds = Timing{Encode: encoded.Sub(start).Seconds(), Search: searched.Sub(encoded).Seconds(),
		Boost: boosted.Sub(searched).Seconds(), Calibrate: end.Sub(boosted).Seconds(), Total: end.Sub(start).Seconds()}
	return f, nil
}

// searchParams runs the search on every third training row (the first nT
// of X) and every validation row: a trial costs about a third of the fit.
func searchParams(ctx context.Context, X [][]float64, y []uint8, nT int, search Search, deadline time.Time) (gbt.Params, error) {
	var rows []int
	for i := 0; i < nT; i += 3 {
		rows = append(rows, i)
	}
	nS := len(rows)
	for i := nT; i < len(y); i++ {
		rows = append(rows, i)
	}
	Xs := make([][]float64, len(X))
	for j, c := range X {
		Xs[j] = make([]float64, len(rows))
		for k, i := range rows {
			Xs[j][k] = c[i]
		}
	}
	ys := make([]uint8, len(rows))
	for k, i := range rows {
		ys[k] = y[i]
	}
	eval := func(ctx context.Context, q gbt.Params, by time.Time) (float64, int, error) {
		if by.IsZero() || (!deadline.IsZero() && deadline.Before(by)) {
			by = deadline
		}
		m, _, err := boost(ctx, Xs, ys, nS, q, by)
		if err != nil {
			return 0, 0, err
		}
		loss := slices.Min(m.ValidationLoss())
		if m.StoppedAtDeadline() {
			return loss, m.NumTrees(), fmt.Errorf("%d trees: %w", m.NumTrees(), ErrCut)
		}
		return loss, m.NumTrees(), nil
	}
	p, err := search(ctx, eval)
	if err != nil {
		return p, fmt.Errorf("recipe v2: search: %w", err)
	}
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("recipe v2: the search's parameters: %w", err)
	}
	return p, nil
}

// boost fits the trees on rows [0, nT) of X, watching the log loss of the
// rows after them, and keeps the trees up to the best round: boosting stops
// p.EarlyStoppingRounds rounds after the loss last improved. rounds is how
// many were boosted.
func boost(ctx context.Context, X [][]float64, y []uint8, nT int, p gbt.Params, deadline time.Time) (*gbt.Model, int, error) {
	val := make([]int, len(y)-nT)
	for k := range val {
		val[k] = nT + k
	}
	m, err := gbt.FitWith(ctx, X, y, p, gbt.Options{Deadline: deadline, Validation: val})
	if err != nil {
		return nil, 0, fmt.Errorf("recipe v2: boost: %w", err)
	}
	return m, len(m.ValidationLoss()), nil
}

func (opts Options) resolve() (Options, gbt.Params, error) {
	o := opts
	if o.Numeric == nil {
		o.Numeric = DefaultNumeric
	}
	if o.Encodings == nil {
		o.Encodings = DefaultEncodings
	}
	if o.Folds == 0 {
		o.Folds = DefaultFolds
	}
	switch {
	case o.Smoothing == 0:
		o.Smoothing = DefaultSmoothing
	case o.Smoothing < 0:
		o.Smoothing = 0
	}
	if o.CalibrationFolds == 0 {
		o.CalibrationFolds = DefaultCalibrationFolds
	}
	if o.CalibrationGain == 0 {
		o.CalibrationGain = DefaultCalibrationGain
	}
	p := DefaultParams()
	if o.Params != nil {
		p = *o.Params
	}
	p.Seed = o.Seed + 1
	if o.Threads > 0 {
		p.Threads = o.Threads
	}
	if p.ValidationFraction != 0 {
		return o, p, errors.New("recipe v2: params' validation_fraction must be 0: the validation table is the held-out set")
	}
	if o.Folds < 2 || o.CalibrationFolds < 2 {
		return o, p, fmt.Errorf("recipe v2: %d encoding folds, %d calibration folds: want at least 2", o.Folds, o.CalibrationFolds)
	}
	return o, p, nil
}

// Evaluate scores an enriched table through the scorer (the path predict
// takes, record by record) and reports the probabilities at the recipe's
// threshold.
func (f *Fitted) Evaluate(t *table.Table, threads int) ([]float64, *metrics.Report, error) {
	y, err := recipe.Labels(t)
	if err != nil {
		return nil, nil, fmt.Errorf("recipe v2: evaluate: %w", err)
	}
	proba, err := f.Scorer.Table(t, threads)
	if err != nil {
		return nil, nil, err
	}
	rep, err := metrics.NewReport(y, proba, f.Recipe.Threshold)
	if err != nil {
		return nil, nil, fmt.Errorf("recipe v2: evaluate: %w", err)
	}
	return proba, rep, nil
}
