package linear

import (
	"errors"
	"fmt"
)

// ErrNoMeans is Contributions' error for a model fitted before it kept its training means.
var ErrNoMeans = errors.New("logreg: the model carries no training means (fitted before explanations)")

// Contributions fills phi (len(Coef) values) with each feature's contribution to row's margin
// (log-odds), w_j·(x_j − mean_j) — the exact Shapley values of a linear margin with independent
// features — and returns the bias, the margin at the training means: bias + Σ phi = the margin. The
// model takes its inputs as the recipe hands them (the recipe scales), so this is in the model's input
// space. It does not allocate.
func (m *Model) Contributions(row, phi []float64) (float64, error) {
	if len(m.Means) != len(m.Coef) {
		return 0, ErrNoMeans
	}
	if len(row) < len(m.Coef) || len(phi) < len(m.Coef) {
		return 0, fmt.Errorf("logreg: row of %d and phi of %d values, model needs %d", len(row), len(phi), len(m.Coef))
	}
	bias := m.Intercept
	for j, w := range m.Coef {
		bias += w * m.Means[j]
		phi[j] = w * (row[j] - m.Means[j])
	}
	return bias, nil
}

// Margin is the log-odds PredictProba's probability is the sigmoid of.
func (m *Model) Margin(row []float64) float64 {
	z := m.Intercept
	for j, w := range m.Coef {
		z += w * row[j]
	}
	return z
}
