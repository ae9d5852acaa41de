// Package drift compares a month of data with a reference fitted on the
// training data: the population stability index (PSI) of binned shares, the
// two-sample Kolmogorov–Smirnov statistic, the share of missing values, and
// for categories the shares that moved by a factor. The reference is small
// (a few kB a field), so it is stored with the model and monitoring never
// reads training data again.
//
// # Numeric fields (Numeric)
//
//   - Missing values (NaN) are left out of the bins and counted apart
//     (Missing, the share of all values).
//   - Bin edges are the reference's quantiles at k/Bins, k = 1…Bins−1, by
//     numpy.quantile's method "lower" (the order statistic ⌊(n−1)·q⌋, a value
//     of the data), duplicates dropped: a field with few distinct values (a
//     0/1 input, the day of the week) gets one bin per value rather than
//     empty bins between them.
//   - Bin i holds e[i−1] < x ≤ e[i] (numpy.searchsorted(edges, x,
//     side="left")); the first bin is open below, the last open above, so
//     values outside the training range still land in a bin.
//   - The KS statistic compares the month's values with Grid quantiles of
//     the reference at i/(Grid−1), i = 0…Grid−1 (method "lower" again: Grid
//     of its order statistics, from its minimum to its maximum),
//     as scipy.stats.ks_2samp(month, grid) would: sup |F_month − F_grid|.
//     Against the full reference it differs by at most 1/(Grid−1).
//
// # Categorical fields (Categorical)
//
//   - The empty string is missing, counted apart as for numbers.
//   - The reference keeps its TopK most frequent categories (ties by name)
//     and one "other" bin for every other category, including those the
//     reference never saw.
//
// # PSI
//
// PSI = Σᵢ (cᵢ − rᵢ)·ln(cᵢ/rᵢ) over the bins, r the reference's shares and c
// the month's, both of the non-missing values. A share below Floor (1e-4)
// is taken as Floor on either side, so an empty bin contributes a large
// but finite term instead of an infinite one; shares are not renormalised
// after the floor. With no non-missing value on a side PSI and KS are
// undefined (NaN): the missing share says what happened.
package drift
