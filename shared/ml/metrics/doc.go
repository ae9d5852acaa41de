// Package metrics evaluates a binary classifier like scikit-learn 1.2 does:
// ROC-AUC, average precision, log loss, Brier score, accuracy, precision,
// recall, F1 and MCC at a threshold, the confusion matrix, the ROC and
// precision-recall curves and the calibration curve; and Report, all of them
// at once from one sort, for the model registry.
//
// Labels are []uint8 (0/1), scores []float64. Results are bit-identical to
// scikit-learn on the golden cases in testdata/ (written by
// bench/reference/golden_prep_metrics.py), except log loss, which goes
// through Go's math.Log instead of libm's log and can differ in the last
// bit; every value is within 1e-9.
//
// # Conventions (those of scikit-learn 1.2)
//
//   - Ranking metrics group tied scores into one step of the curve; a tie
//     between a positive and a negative counts one half in ROC-AUC.
//   - The ROC curve drops collinear intermediate points
//     (drop_intermediate=True) and starts at threshold max(score)+1.
//   - Average precision is the step-wise Σ (Rₙ − Rₙ₋₁)·Pₙ, not interpolated.
//   - Log loss clips probabilities to [ε, 1−ε] with ε = 2⁻⁵² (scikit-learn
//     1.2's eps="auto"; 1e-15 was the default before 1.2, see LogLossEps).
//   - At a threshold t, a score >= t is predicted positive. Undefined
//     precision, recall, F1 or MCC (a zero denominator) is 0.
//   - Calibration uses uniform bins with np.searchsorted's edge rule.
//
// # Errors
//
// Every function validates its input: equal lengths (ErrLength), at least
// one row (ErrEmpty), labels 0/1 (ErrLabel), finite scores (ErrNonFinite,
// NaN and ±Inf), probabilities within [0, 1] where a probability is meant
// (ErrProbability: log loss, Brier, calibration, Report). ROC-AUC, average
// precision, the curves and Report need both classes (ErrSingleClass).
//
// # Cost
//
// The ranking metrics sort once with an LSD radix sort on the scores' bits
// (O(n), skipping the byte positions all scores share), then walk the
// distinct scores. Report allocates about 27 bytes per row.
package metrics
