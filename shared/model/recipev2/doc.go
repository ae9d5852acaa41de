// Package recipev2 is the model's second recipe: report-time fields only,
// target-encoded out of fold, gradient-boosted trees stopped early on an
// out-of-time slice, probabilities calibrated on it (issue 19).
//
// # Features
//
// Numeric: the seed's x, y, distance to the nearest station and day of week,
// the report's hour and minute, whether the minute is 0 (round hour) and its
// roundness (60, 30, 15, 10, 5 or 1: reports written after the fact carry
// round times), domestic as 0/1. Categorical: fields and crosses of fields
// (IUCR × domestic, IUCR × round hour, IUCR × location, …), each
// target-encoded by shared/ml/target with m-estimate smoothing — out of fold
// on the training rows (K seeded folds), by the encoder fitted on all
// training rows everywhere else; unseen categories encode to the prior,
// missing values are a category of their own. Nothing derived from arrest
// enters but these encodings; updated_on, id and case_number never do.
//
// # Fit
//
// Fit takes two enriched tables (the enrich step's records): train, and
// valid — newer rows, out of time. Boosting watches valid's log loss and
// keeps the trees up to its best round; the model's margins on valid choose
// and fit the calibration (none, Platt or isotonic, by cross-validated log
// loss: shared/ml/calibrate) and, if asked, the MCC-optimal threshold (else
// 0.5). No resampling.
//
//	f, err := recipev2.Fit(ctx, train, valid, recipev2.Options{Seed: seed, Deadline: fitBy})
//	proba, report, err := f.Evaluate(test, threads) // rows no step saw
//	a := model.FromV2(f)                              // + run date, stations, metrics, …
//	p, err := model.New(a)
//	skew, err := p.CheckReplay(test, proba)           // raw records → same probabilities
//
// # Serving replays training
//
// Every row Fit or Evaluate scores outside the training folds goes through
// Scorer.Proba, which is what predict runs on a raw record once enriched:
// Reader (table) and model.Predictor.EnrichV2 (raw record) fill the same
// Record, Recipe.Vector makes the features, the trees give a margin and the
// Calibrator maps it. Vector and Proba do not allocate.
package recipev2
