// Package prep holds the pipeline's fitted preprocessing (the seed's steps
// 5–8): the stratified train/test split, the outlier bounds, log1p, cyclical
// encoding, one-hot and frequency encoding, and the standard scaler.
//
// # Same numbers as the Python reference
//
// Every fit reproduces the arithmetic of scikit-learn 1.2 / pandas 1.5 /
// numpy 1.24, so fitted parameters are bit-identical to theirs (golden
// files in testdata/, written by bench/reference/golden_prep_metrics.py):
//
//   - StratifiedSplit is train_test_split(stratify=y, random_state=seed):
//     same per-class counts, same rows, same (shuffled) order — numpy's
//     legacy MT19937 stream is replayed, including the random tie-breaking
//     of _approximate_mode. On the 2017 data it selects exactly the rows the
//     seed's split selects.
//   - Sums are numpy's pairwise summation in blocks of 8192 (np.sum,
//     pandas mean/std, StandardScaler), not naive loops.
//   - OutlierBounds uses the SAMPLE standard deviation (ddof = 1, pandas'
//     Series.std()), bounds mean ± k·std inclusive; the seed uses k = 3.
//   - Scaler uses the POPULATION variance (ddof = 0, StandardScaler), with
//     sklearn's near-constant-feature rule (scale 1).
//   - log1p, sin and cos are Go's math functions: within 1e-12 of numpy's
//     (libm) results, most of them bit-identical.
//
// # Missing values
//
// Categorical values are strings (or codes into a dictionary, as in
// shared/table); the empty string is missing. FreqEncoder follows pandas'
// value_counts(normalize=True): missing is not counted, shares are over
// non-missing train rows, and missing or unseen values encode to 0.
// OneHot follows sklearn: missing seen in train is a category of its own,
// last, named "<feature>_nan"; unseen values encode to all zeros. Numeric
// NaN is skipped by the fits and never kept by OutlierBounds; the scaler
// maps NaN to NaN.
//
// # Serving replays training
//
// Each transform has a per-value method that does not allocate (Keep,
// Log1p, Cyclical.Sin, DayOfWeek, OneHot.Column/Apply, FreqEncoder.Value,
// Scaler.Apply) and column methods that are loops over it, so prediction and
// training run the same code. Fitted transforms are plain JSON
// (encoding/json writes float64 in shortest round-trip form) and load back
// bit-identically; UnmarshalJSON rebuilds lookup tables and rejects
// inconsistent files.
package prep
