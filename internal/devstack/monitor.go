package devstack

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/platform/pg"
	"github.com/arrestcast/arrestcast/shared/steps/monitor"
)

// MonitorStatus is the newest monitor report, for `make status`.
type MonitorStatus interface {
	Latest(ctx context.Context) (*monitor.Summary, error)
}

// MonitorReports reads the monitor's history on the database at URL
// (nil, nil before the monitor's first report).
type MonitorReports struct{ URL string }

// Latest implements MonitorStatus.
func (m MonitorReports) Latest(ctx context.Context) (*monitor.Summary, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	pool, err := pg.Open(ctx, m.URL, pg.Options{MaxConns: 1})
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	h, err := monitor.ReportsOn(pool).History(ctx, chain.Month{}, 1)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table: the monitor never ran
		return nil, nil
	}
	if err != nil || len(h) == 0 {
		return nil, err
	}
	return &h[0], nil
}

// MonitorLine is the monitor's verdict on its newest month, one line.
func MonitorLine(s *monitor.Summary) string {
	if s == nil {
		return "monitor: no report yet (the first month a champion never saw is reported after the second monthly run)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "monitor: %s %s (model v%d, %d records", s.Month, strings.ToUpper(s.Verdict), s.ModelVersion, s.Volume)
	if r := s.Realized; r != nil && r.ROCAUC != nil {
		fmt.Fprintf(&b, ", ROC-AUC %.3f", *r.ROCAUC)
		if s.TestROCAUC != nil {
			fmt.Fprintf(&b, " vs test %.3f", *s.TestROCAUC)
		}
	}
	if s.WorstField != "" {
		fmt.Fprintf(&b, ", worst field %s", s.WorstField)
	}
	fmt.Fprintf(&b, "; computed %s)", s.ComputedAt.Local().Format(time.DateTime))
	for _, a := range s.Alerts {
		fmt.Fprintf(&b, "\n  %s: %s", a.Kind, truncate(a.Message, 160))
	}
	return b.String()
}
