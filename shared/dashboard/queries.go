package dashboard

// Every SQL statement the dashboard runs on the run-tracking and registry
// tables is in this file (the monitor's table is in monitor.go), so a change
// of schema lands here. Tables: pipeline_runs and step_runs
// (shared/platform/runs/migrations), models and promotions
// (shared/platform/registry/migrations). All run inside one read-only
// transaction per page (see Dashboard.read).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/ml/metrics"
	"github.com/arrestcast/arrestcast/shared/platform/registry"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
)

// Querier is what the queries need: the page's read-only transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// errNotFound: the run or model a page names does not exist.
var errNotFound = errors.New("not found")

// RunRow is one pipeline run (pipeline_runs).
type RunRow struct {
	RunDate    Date       `json:"run_date"`
	Status     string     `json:"status"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// StepRow is one attempt of a step (step_runs). Nullable counts are nil
// while the attempt runs.
type StepRow struct {
	ID          int64      `json:"id"`
	RunDate     Date       `json:"run_date"`
	Step        string     `json:"step"`
	Status      string     `json:"status"`
	Attempt     int        `json:"attempt"`
	Attempts    int        `json:"attempts"` // attempts of this step in this run
	StartedAt   time.Time  `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
	DurationMS  *int64     `json:"duration_ms,omitempty"`
	RowsIn      *int64     `json:"rows_in,omitempty"`
	RowsOut     *int64     `json:"rows_out,omitempty"`
	Rejects     *int64     `json:"rejects,omitempty"`
	Inputs      []runs.Ref `json:"inputs"`
	Outputs     []runs.Ref `json:"outputs"`
	Error       string     `json:"error,omitempty"`
	Permanent   bool       `json:"permanent,omitempty"`
	CodeVersion string     `json:"code_version"`
	LeaseUntil  *time.Time `json:"lease_until,omitempty"`
}

const runCols = `run_date, status, started_at, finished_at`

func scanRun(row pgx.Row) (RunRow, error) {
	var r RunRow
	var d time.Time
	err := row.Scan(&d, &r.Status, &r.StartedAt, &r.FinishedAt)
	r.RunDate = Date(chain.RunDate(d))
	return r, err
}

// stepCols ends with the number of attempts of the step in its run: window
// functions run before DISTINCT ON, so it counts every attempt.
const stepCols = `id, run_date, step, status, attempt, count(*) OVER (PARTITION BY run_date, step),
	started_at, finished_at, duration_ms, rows_in, rows_out, rejects, input_keys, output_keys,
	coalesce(error, ''), permanent, code_version, lease_until`

func scanStep(row pgx.Row) (StepRow, error) {
	var s StepRow
	var d time.Time
	err := row.Scan(&s.ID, &d, &s.Step, &s.Status, &s.Attempt, &s.Attempts, &s.StartedAt, &s.FinishedAt,
		&s.DurationMS, &s.RowsIn, &s.RowsOut, &s.Rejects, &s.Inputs, &s.Outputs, &s.Error, &s.Permanent,
		&s.CodeVersion, &s.LeaseUntil)
	s.RunDate = Date(chain.RunDate(d))
	s.Error = redact(s.Error)
	return s, err
}

func collect[T any](rows pgx.Rows, err error, scan func(pgx.Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// queryRuns returns the newest limit runs, newest first.
func queryRuns(ctx context.Context, q Querier, limit int) ([]RunRow, error) {
	rows, err := q.Query(ctx, `SELECT `+runCols+` FROM pipeline_runs ORDER BY run_date DESC LIMIT $1`, limit)
	out, err := collect(rows, err, scanRun)
	if err != nil {
		return nil, fmt.Errorf("read runs: %w", err)
	}
	return out, nil
}

// queryRun returns one run, or errNotFound.
func queryRun(ctx context.Context, q Querier, d time.Time) (RunRow, error) {
	r, err := scanRun(q.QueryRow(ctx, `SELECT `+runCols+` FROM pipeline_runs WHERE run_date = $1`, d))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, errNotFound
	}
	if err != nil {
		return r, fmt.Errorf("read run: %w", err)
	}
	return r, nil
}

// queryLatestSteps returns the latest attempt of each step of the runs of
// dates, with its number of attempts, by run date and step.
func queryLatestSteps(ctx context.Context, q Querier, dates []time.Time) ([]StepRow, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT ON (run_date, step) `+stepCols+`
		FROM step_runs WHERE run_date = ANY($1) ORDER BY run_date, step, id DESC`, dates)
	out, err := collect(rows, err, scanStep)
	if err != nil {
		return nil, fmt.Errorf("read steps: %w", err)
	}
	return out, nil
}

// queryAttempts returns every attempt of every step of one run, oldest first.
func queryAttempts(ctx context.Context, q Querier, d time.Time) ([]StepRow, error) {
	rows, err := q.Query(ctx, `SELECT `+stepCols+` FROM step_runs WHERE run_date = $1 ORDER BY id`, d)
	out, err := collect(rows, err, scanStep)
	if err != nil {
		return nil, fmt.Errorf("read attempts: %w", err)
	}
	return out, nil
}

// queryRecentFailures returns the newest limit failed attempts.
func queryRecentFailures(ctx context.Context, q Querier, limit int) ([]StepRow, error) {
	rows, err := q.Query(ctx, `SELECT `+stepCols+` FROM step_runs WHERE status = 'failed' ORDER BY id DESC LIMIT $1`, limit)
	out, err := collect(rows, err, scanStep)
	if err != nil {
		return nil, fmt.Errorf("read failures: %w", err)
	}
	return out, nil
}

// RunCounts summarises pipeline_runs.
type RunCounts struct {
	Runs    int `json:"runs"`
	Failed  int `json:"failed"`
	Running int `json:"running"`
}

func queryRunCounts(ctx context.Context, q Querier) (RunCounts, error) {
	var c RunCounts
	err := q.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status = 'failed'),
		count(*) FILTER (WHERE status = 'running') FROM pipeline_runs`).Scan(&c.Runs, &c.Failed, &c.Running)
	if err != nil {
		return c, fmt.Errorf("count runs: %w", err)
	}
	return c, nil
}

// ModelRow is one registered model (models). Summary rows (queryModels)
// carry the metrics without their curves and no feature list.
type ModelRow struct {
	Version           int                `json:"version"`
	RunDate           Date               `json:"run_date"`
	Source            string             `json:"source"`
	Algorithm         string             `json:"algorithm"`
	Params            json.RawMessage    `json:"params"`
	TrainRows         int64              `json:"train_rows"`
	TestRows          int64              `json:"test_rows"`
	Metrics           *metrics.Report    `json:"metrics"`
	FeatureImportance map[string]float64 `json:"feature_importance,omitempty"`
	Features          []string           `json:"features,omitempty"`
	FeatureCount      int                `json:"feature_count"`
	Lineage           []runs.Ref         `json:"lineage,omitempty"`
	Artifact          runs.Ref           `json:"artifact"`
	DurationMS        int64              `json:"duration_ms"`
	CodeVersion       string             `json:"code_version"`
	Role              string             `json:"role"`
	Decision          *registry.Decision `json:"decision,omitempty"`
	CreatedAt         time.Time          `json:"created_at"`
	PromotedAt        *time.Time         `json:"promoted_at,omitempty"`
	ReplacedBy        *int               `json:"replaced_by,omitempty"`
}

// modelSummaryCols leave out what only a model's own page shows: the
// curves (most of the metrics' bytes), importance, features and lineage.
const modelSummaryCols = `version, run_date, source, algorithm, params, train_rows, test_rows,
	metrics - 'roc' - 'pr' - 'calibration', '{}'::jsonb, '[]'::jsonb, jsonb_array_length(features), '[]'::jsonb,
	artifact_bucket, artifact_key, artifact_etag, duration_ms, code_version, role, decision, created_at, promoted_at, replaced_by`

const modelCols = `version, run_date, source, algorithm, params, train_rows, test_rows,
	metrics, feature_importance, features, jsonb_array_length(features), lineage,
	artifact_bucket, artifact_key, artifact_etag, duration_ms, code_version, role, decision, created_at, promoted_at, replaced_by`

func scanModel(row pgx.Row) (ModelRow, error) {
	var m ModelRow
	var d time.Time
	var params, mets, imp, feats, lineage, decision []byte
	err := row.Scan(&m.Version, &d, &m.Source, &m.Algorithm, &params, &m.TrainRows, &m.TestRows,
		&mets, &imp, &feats, &m.FeatureCount, &lineage, &m.Artifact.Bucket, &m.Artifact.Key, &m.Artifact.ETag,
		&m.DurationMS, &m.CodeVersion, &m.Role, &decision, &m.CreatedAt, &m.PromotedAt, &m.ReplacedBy)
	if err != nil {
		return m, err
	}
	m.RunDate = Date(chain.RunDate(d))
	m.Params = json.RawMessage(params)
	for _, c := range []struct {
		name string
		src  []byte
		dst  any
	}{
		{"metrics", mets, &m.Metrics}, {"feature_importance", imp, &m.FeatureImportance},
		{"features", feats, &m.Features}, {"lineage", lineage, &m.Lineage}, {"decision", decision, &m.Decision},
	} {
		if c.src == nil {
			continue
		}
		if err := json.Unmarshal(c.src, c.dst); err != nil {
			return m, fmt.Errorf("decode v%d %s: %w", m.Version, c.name, err)
		}
	}
	return m, nil
}

// queryModels returns the newest limit models as summaries, newest first.
func queryModels(ctx context.Context, q Querier, limit int) ([]ModelRow, error) {
	rows, err := q.Query(ctx, `SELECT `+modelSummaryCols+` FROM models ORDER BY version DESC LIMIT $1`, limit)
	out, err := collect(rows, err, scanModel)
	if err != nil {
		return nil, fmt.Errorf("read models: %w", err)
	}
	return out, nil
}

func queryModelCount(ctx context.Context, q Querier) (int, error) {
	var n int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM models`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count models: %w", err)
	}
	return n, nil
}

// queryModel returns one model in full, or errNotFound.
func queryModel(ctx context.Context, q Querier, version int) (ModelRow, error) {
	m, err := scanModel(q.QueryRow(ctx, `SELECT `+modelCols+` FROM models WHERE version = $1`, version))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, errNotFound
	}
	if err != nil {
		return m, fmt.Errorf("read model: %w", err)
	}
	return m, nil
}

// queryChampion returns the champion's summary, or errNotFound before the first.
func queryChampion(ctx context.Context, q Querier) (ModelRow, error) {
	m, err := scanModel(q.QueryRow(ctx, `SELECT `+modelSummaryCols+` FROM models WHERE role = 'champion'`))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, errNotFound
	}
	if err != nil {
		return m, fmt.Errorf("read champion: %w", err)
	}
	return m, nil
}

// PromotionRow is one change of champion (promotions).
type PromotionRow struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	From   int       `json:"from_version,omitempty"` // 0: there was none
	To     int       `json:"to_version"`
	Reason string    `json:"reason"`
	Actor  string    `json:"actor"`
}

func queryPromotions(ctx context.Context, q Querier, limit int) ([]PromotionRow, error) {
	rows, err := q.Query(ctx, `SELECT id, at, coalesce(from_version, 0), to_version, reason, actor
		FROM promotions ORDER BY id DESC LIMIT $1`, limit)
	out, err := collect(rows, err, func(r pgx.Row) (PromotionRow, error) {
		var p PromotionRow
		err := r.Scan(&p.ID, &p.At, &p.From, &p.To, &p.Reason, &p.Actor)
		p.Reason = redact(p.Reason)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("read promotions: %w", err)
	}
	return out, nil
}
