package train

import (
	"fmt"
	"math"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/metrics"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
	"github.com/arrestcast/arrestcast/shared/platform/registry"
	"github.com/arrestcast/arrestcast/shared/runner"
)

// MinFairRows is the least number of rows (with both classes) a comparison
// needs; with fewer, the whole test set is used.
const MinFairRows = 500

// Comparison is the rows of the run's test records every candidate (and the
// champion) is scored on: test rows no candidate trained on, the newest
// month of them when it has enough (out of time, as the model will serve).
type Comparison struct {
	Rows  []int   // into the test records
	Y     []uint8 // every test record's label
	What  string  // for the record
	Since time.Time
}

// compareRows picks the comparison rows of the run dated d.
func compareRows(records *table.Table, d time.Time) (Comparison, error) {
	y, err := recipe.Labels(records)
	if err != nil {
		return Comparison{}, &runner.Permanent{Err: err}
	}
	since := chain.MonthOf(d).Prev().Time
	rows, what := UnseenRows(records, y, since)
	return Comparison{Rows: rows, Y: y, What: what, Since: since}, nil
}

// scores are a candidate's scores on the comparison rows.
type scores struct {
	registry.Scores
	Brier, LogLoss float64
}

func (c Comparison) score(k *Candidate) scores {
	p := make([]float64, len(c.Rows))
	for j, i := range c.Rows {
		p[j] = k.Proba[i]
	}
	s, err := scoreRows(c.Y, c.Rows, p)
	if err != nil {
		return scores{Scores: registry.Scores{ROCAUC: math.NaN(), AveragePrecision: math.NaN()}}
	}
	return s
}

// scoreRows are ROC-AUC, average precision, Brier and log loss of p on the
// rows of y.
func scoreRows(y []uint8, rows []int, p []float64) (scores, error) {
	ys := make([]uint8, len(rows))
	for k, i := range rows {
		ys[k] = y[i]
	}
	auc, err := metrics.ROCAUC(ys, p)
	if err != nil {
		return scores{}, err
	}
	ap, err := metrics.AveragePrecision(ys, p)
	if err != nil {
		return scores{}, err
	}
	brier, err := metrics.Brier(ys, p)
	if err != nil {
		return scores{}, err
	}
	ll, err := metrics.LogLoss(ys, p)
	return scores{Scores: registry.Scores{ROCAUC: auc, AveragePrecision: ap}, Brier: brier, LogLoss: ll}, err
}

// choose is the best candidate on the comparison rows: the higher ROC-AUC,
// ties by average precision, then the earlier candidate.
func choose(cands []*Candidate, c Comparison) *Candidate {
	best, bs := cands[0], c.score(cands[0])
	for _, k := range cands[1:] {
		s := c.score(k)
		if s.ROCAUC > bs.ROCAUC || s.ROCAUC == bs.ROCAUC && s.AveragePrecision > bs.AveragePrecision {
			best, bs = k, s
		}
	}
	return best
}

// candidates is the record of every candidate's scores for the decision.
func (c Comparison) candidates(cands []*Candidate, chosen *Candidate) []registry.Candidate {
	var out []registry.Candidate
	for _, k := range cands {
		s := c.score(k)
		out = append(out, registry.Candidate{Recipe: k.Recipe, Algorithm: k.Algorithm, Scores: s.Scores,
			Brier: s.Brier, LogLoss: s.LogLoss, Chosen: k == chosen})
	}
	return out
}

// UnseenRows returns the rows dated on or after since, or every row when
// they are too few (or of one class) to compare on.
func UnseenRows(t *table.Table, y []uint8, since time.Time) ([]int, string) {
	dates := t.Col(crime.ColDate)
	if dates == nil || dates.Kind != table.Time {
		return allRows(len(y)), fmt.Sprintf("all %d rows: no dates", len(y))
	}
	rows := table.RowsDated(dates, since, time.Time{})
	pos := 0
	for _, i := range rows {
		pos += int(y[i])
	}
	if len(rows) < MinFairRows || pos == 0 || pos == len(rows) {
		return allRows(len(y)), fmt.Sprintf("all %d test rows: only %d dated from %s", len(y), len(rows), chain.Day(since))
	}
	return rows, fmt.Sprintf("%d test rows dated from %s", len(rows), chain.Day(since))
}

func allRows(n int) []int {
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	return all
}
