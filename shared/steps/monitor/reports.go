package monitor

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/platform/pg"
	"github.com/arrestcast/arrestcast/shared/platform/registry"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// DB is what the history needs of PostgreSQL (a pool, a connection or a
// transaction): what the registry needs, whose models it refers to.
type DB = registry.DB

// Reports is the monitor's history in PostgreSQL: table monitor_reports,
// one row per computation of a month's report by a model.
type Reports struct{ db DB }

// OpenReports migrates the registry (monitor_reports refers to its models)
// and the monitor's table.
func OpenReports(ctx context.Context, db DB) (*Reports, error) {
	if _, err := registry.Open(ctx, db); err != nil {
		return nil, err
	}
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	if err := pg.Migrate(ctx, db, "monitor", sub); err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	return &Reports{db: db}, nil
}

// ReportsOn reads the history of db without migrating anything (make
// status): before the monitor first ran, its queries fail with PostgreSQL's
// undefined_table.
func ReportsOn(db DB) *Reports { return &Reports{db: db} }

// inputID is what a report was computed from: the month's crimes as
// key@etag#version.
func inputID(ref store.Ref) string { return ref.Key + "@" + ref.ETag + "#" + ref.VersionID }

// Insert adds the row of r (written at at) unless this month, model and
// input already have one (a replayed event, a retried step): inserted
// reports which.
func (s *Reports) Insert(ctx context.Context, r *Report, at store.Ref) (inserted bool, err error) {
	if r.Model == nil {
		return false, errors.New("monitor: a report without a model has no row")
	}
	month, err := chain.ParseMonth(r.Month)
	if err != nil {
		return false, err
	}
	fields, err := json.Marshal(r.Fields)
	if err != nil {
		return false, fmt.Errorf("encode fields: %w", err)
	}
	alerts, err := json.Marshal(r.Alerts)
	if err != nil {
		return false, fmt.Errorf("encode alerts: %w", err)
	}
	var realized []byte
	if r.Realized != nil {
		if realized, err = json.Marshal(r.Realized); err != nil {
			return false, fmt.Errorf("encode realized: %w", err)
		}
	}
	var worst *string
	if r.WorstField != "" {
		worst = &r.WorstField
	}
	tag, err := s.db.Exec(ctx, `INSERT INTO monitor_reports (month, model_version, verdict, volume, rejects,
		usual_volume, arrest_rate, reference_arrest_rate, prediction_psi, drifted_share, worst_field,
		psi_warn, psi_alert, ks_alert, test_roc_auc, realized, fields, alerts, report_bucket, report_key,
		report_version, input)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
		ON CONFLICT (month, model_version, input) DO NOTHING`,
		month.Time, r.Model.Version, r.Verdict, r.Volume, r.Rejects, r.UsualVolume, r.ArrestRate, r.ReferenceArrestRate,
		r.PredictionPSI, r.DriftedShare, worst, r.Thresholds.PSIWarn, r.Thresholds.PSIAlert, r.Thresholds.KSAlert,
		r.TestROCAUC, realized, fields, alerts, at.Bucket, at.Key, at.VersionID, inputID(r.Input))
	if err != nil {
		return false, fmt.Errorf("monitor: record the report on %s: %w", r.Month, err)
	}
	return tag.RowsAffected() == 1, nil
}

// Summary is one row of the history, without its fields.
type Summary struct {
	Month               string     `json:"month"` // YYYY-MM
	ModelVersion        int        `json:"model_version"`
	ComputedAt          time.Time  `json:"computed_at"`
	Verdict             string     `json:"verdict"`
	Volume              int64      `json:"volume"`
	Rejects             int64      `json:"rejects"`
	UsualVolume         *float64   `json:"usual_volume,omitempty"`
	ArrestRate          *float64   `json:"arrest_rate,omitempty"`
	ReferenceArrestRate *float64   `json:"reference_arrest_rate,omitempty"`
	PredictionPSI       *float64   `json:"prediction_psi,omitempty"`
	DriftedShare        float64    `json:"drifted_share"`
	WorstField          string     `json:"worst_field,omitempty"`
	TestROCAUC          *float64   `json:"test_roc_auc,omitempty"`
	Realized            *Realized  `json:"realized,omitempty"`
	Alerts              []Note     `json:"alerts"`
	Report              *store.Ref `json:"report,omitempty"` // the full report
	Input               string     `json:"input"`
}

const summaryCols = `to_char(month, 'YYYY-MM'), model_version, computed_at, verdict, volume, rejects, usual_volume,
	arrest_rate, reference_arrest_rate, prediction_psi, drifted_share, coalesce(worst_field, ''), test_roc_auc,
	realized, alerts, coalesce(report_bucket, ''), coalesce(report_key, ''), coalesce(report_version, ''), input`

func scanSummary(row pgx.Row) (Summary, error) {
	var s Summary
	var bucket, key, version string
	err := row.Scan(&s.Month, &s.ModelVersion, &s.ComputedAt, &s.Verdict, &s.Volume, &s.Rejects, &s.UsualVolume,
		&s.ArrestRate, &s.ReferenceArrestRate, &s.PredictionPSI, &s.DriftedShare, &s.WorstField, &s.TestROCAUC,
		&s.Realized, &s.Alerts, &bucket, &key, &version, &s.Input)
	if key != "" {
		s.Report = &store.Ref{Bucket: bucket, Key: key, VersionID: version}
	}
	return s, err
}

// History returns the newest limit rows, newest month first and, within a
// month, newest computation first (limit <= 0: all). month, when not
// zero, keeps that month's rows only.
func (s *Reports) History(ctx context.Context, month chain.Month, limit int) ([]Summary, error) {
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	var m *time.Time
	if !month.IsZero() {
		m = &month.Time
	}
	rows, err := s.db.Query(ctx, `SELECT `+summaryCols+` FROM monitor_reports
		WHERE $1::date IS NULL OR month = $1 ORDER BY month DESC, computed_at DESC, id DESC LIMIT $2`, m, lim)
	if err != nil {
		return nil, fmt.Errorf("monitor: history: %w", err)
	}
	defer rows.Close()
	var out []Summary
	for rows.Next() {
		r, err := scanSummary(rows)
		if err != nil {
			return nil, fmt.Errorf("monitor: history: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("monitor: history: %w", err)
	}
	return out, nil
}

// Volumes are the months' volumes in [from, to] as their newest reports
// counted them.
func (s *Reports) Volumes(ctx context.Context, from, to chain.Month) (map[string]int64, error) {
	rows, err := s.db.Query(ctx, `SELECT DISTINCT ON (month) to_char(month, 'YYYY-MM'), volume FROM monitor_reports
		WHERE month BETWEEN $1 AND $2 ORDER BY month, computed_at DESC, id DESC`, from.Time, to.Time)
	if err != nil {
		return nil, fmt.Errorf("monitor: trailing volumes: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var m string
		var v int64
		if err := rows.Scan(&m, &v); err != nil {
			return nil, fmt.Errorf("monitor: trailing volumes: %w", err)
		}
		out[m] = v
	}
	return out, rows.Err()
}
