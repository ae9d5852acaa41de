// Package gbt holds gradient-boosted decision trees for binary classification (log loss), trained with
// the histogram method and predicted from a flat, allocation-free node layout.
//
// Feature matrices are column-major ([][]float64, X[j][i] = feature j of row i), labels []uint8 (0/1),
// probabilities []float64. NaN means "missing": it gets its own histogram bin and every split learns
// which side missing values take (the heavier side when none reached the node in training).
//
// # Training
//
//   - Binning: at most 255 bins per feature from quantiles of (a sample of) the training rows; a value
//     heavier than a bin's share gets its own bin; bounds sit between neighbouring values, rounded to
//     float32 so prediction can keep 4-byte thresholds that agree exactly with the training bins.
//   - Growth: depth-wise (a whole level at a time, XGBoost's default) or leaf-wise (best gain first,
//     LightGBM's policy), bounded by MaxDepth and/or MaxLeaves. Leaf-wise with 255 leaves is the default:
//     it gave the best ROC-AUC and AP for the time on the 2017 data (see DefaultParams).
//   - Splits: XGBoost's gain GL²/(HL+λ) + GR²/(HR+λ) − G²/(H+λ), kept when above Gamma with at least
//     MinChildWeight hessian on each side; leaf values −G/(H+λ)·LearningRate.
//   - Row subsampling (Bernoulli per row) and column subsampling per tree; early stopping on a
//     stratified validation share of the training rows, with patience; importance by total gain and
//     split count.
//   - Memory layout: every row is a 24-byte record (gradient and hessian as float32 — as XGBoost stores
//     them, histograms sum in float64 —, margin as float32, label, bins). A node's rows are one
//     contiguous run of records, so building a histogram streams memory; nodes are partitioned in
//     place (Hoare, scanned in branch-free blocks: only misplaced records move), large ones by chunks in
//     parallel whose misplaced records then trade places once (bench/notes/gbt-speed.md). Only the smaller child's histogram is built; the larger one is the parent's
//     minus it. One parallel pass per tree adds the leaf values to the margins and refreshes the
//     gradients.
//   - Parallelism: histograms and partitions of large nodes are cut into fixed row chunks; small nodes
//     of a depth-wise level run side by side. Chunk boundaries depend on the data only and partial
//     histograms are merged in chunk order, so a model is the same to the bit for any thread count.
//
// Float32 against float64 gradients: with float64 pairs (16-byte gradient words) the test ROC-AUC on the
// 2017 data moved by 0.0006, the size of seed-to-seed variation; float32 keeps records at 24 bytes
// instead of 32, a quarter less memory traffic in every histogram and partition pass.
//
// # Prediction
//
// Nodes are 8 bytes (float32 threshold; child offset, feature and default direction in 32 bits): the
// default 250 trees of up to 255 leaves (~127k nodes) take ~1 MB. A leaf points to itself with threshold +Inf, so every tree is walked
// for its full depth with no data-dependent branch, eight trees side by side to overlap their latencies;
// rows without NaN skip the missing-value test. PredictProba does not allocate (about 2.5 µs of CPU per
// row for 200 depth-8 trees, 75k nodes, on the project's 2-core machine while it was shared);
// PredictProbaBatch runs row blocks in parallel. A model marshals to JSON and loads back predicting the
// same bits.
//
// Deterministic for a given Params (Seed included) and data.
package gbt
