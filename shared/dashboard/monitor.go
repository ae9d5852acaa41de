package dashboard

// The monitor's table (issue 17), kept apart from queries.go because the
// dashboard does not own it: the monitor step creates it
// (shared/steps/monitor/migrations). Before the monitor has run (no table, or no row) the pages say
// "no monitoring yet".

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/arrestcast/arrestcast/shared/platform/monitoring"

	"github.com/jackc/pgx/v5"
)

// MonitorReport is the newest report of one month.
type MonitorReport struct {
	Month               Month         `json:"month"`
	ModelVersion        int           `json:"model_version"`
	ComputedAt          time.Time     `json:"computed_at"`
	Revisions           int           `json:"revisions"` // reports computed for the month (a backfill adds one)
	Verdict             string        `json:"verdict"`
	Volume              int64         `json:"volume"`
	Rejects             int64         `json:"rejects"`
	UsualVolume         *float64      `json:"usual_volume,omitempty"`
	ArrestRate          *float64      `json:"arrest_rate,omitempty"`
	ReferenceArrestRate *float64      `json:"reference_arrest_rate,omitempty"`
	PredictionPSI       *float64      `json:"prediction_psi,omitempty"`
	DriftedShare        float64       `json:"drifted_share"`
	WorstField          string        `json:"worst_field,omitempty"`
	PSIWarn             float64       `json:"psi_warn"`
	PSIAlert            float64       `json:"psi_alert"`
	KSAlert             float64       `json:"ks_alert"`
	TestROCAUC          *float64      `json:"test_roc_auc,omitempty"`
	Realized            *Realized     `json:"realized,omitempty"`
	Fields              []FieldDrift  `json:"fields"`
	Alerts              []MonitorNote `json:"alerts"`
}

// A report's parts, as the monitor step writes them.
type (
	Realized    = monitoring.Realized
	FieldDrift  = monitoring.FieldDrift
	DriftBin    = monitoring.Bin
	MonitorNote = monitoring.Note
)

// monitorExists: the table is there (to_regclass, so a missing table does
// not abort the page's transaction).
func monitorExists(ctx context.Context, q Querier) (bool, error) {
	var ok bool
	if err := q.QueryRow(ctx, `SELECT to_regclass('monitor_reports') IS NOT NULL`).Scan(&ok); err != nil {
		return false, fmt.Errorf("look for the monitor's table: %w", err)
	}
	return ok, nil
}

const monitorCols = `month, model_version, computed_at, revisions, verdict, volume, rejects,
	usual_volume, arrest_rate, reference_arrest_rate, prediction_psi, drifted_share, coalesce(worst_field, ''),
	psi_warn, psi_alert, ks_alert, test_roc_auc, realized, alerts`

// scanMonitor reads monitorCols and then the fields.
func scanMonitor(row pgx.Row) (MonitorReport, error) {
	var r MonitorReport
	var m time.Time
	err := row.Scan(&m, &r.ModelVersion, &r.ComputedAt, &r.Revisions, &r.Verdict, &r.Volume, &r.Rejects,
		&r.UsualVolume, &r.ArrestRate, &r.ReferenceArrestRate, &r.PredictionPSI, &r.DriftedShare, &r.WorstField,
		&r.PSIWarn, &r.PSIAlert, &r.KSAlert, &r.TestROCAUC, &r.Realized, &r.Alerts, &r.Fields)
	r.Month = Month(time.Date(m.Year(), m.Month(), 1, 0, 0, 0, 0, time.UTC))
	return r, err
}

// queryMonitor returns the newest report of each of the latest limit
// months, newest month first, with their fields' drift but without bins.
func queryMonitor(ctx context.Context, q Querier, limit int) ([]MonitorReport, error) {
	rows, err := q.Query(ctx, `SELECT `+monitorCols+`,
		(SELECT coalesce(jsonb_agg(f - 'bins'), '[]') FROM jsonb_array_elements(fields) f)
		FROM (SELECT DISTINCT ON (month) *, count(*) OVER (PARTITION BY month) AS revisions FROM monitor_reports
			ORDER BY month DESC, computed_at DESC, id DESC) latest
		ORDER BY month DESC LIMIT $1`, limit)
	out, err := collect(rows, err, scanMonitor)
	if err != nil {
		return nil, fmt.Errorf("read monitor reports: %w", err)
	}
	return out, nil
}

// queryMonitorBins returns the fields of month's newest report with their bins.
func queryMonitorBins(ctx context.Context, q Querier, month time.Time) ([]FieldDrift, error) {
	var fields []FieldDrift
	err := q.QueryRow(ctx, `SELECT fields FROM monitor_reports WHERE month = $1
		ORDER BY computed_at DESC, id DESC LIMIT 1`, month).Scan(&fields)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("read a month's drift: %w", err)
	}
	return fields, nil
}
