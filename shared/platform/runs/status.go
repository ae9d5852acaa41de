package runs

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
)

// PipelineRun is one monthly run with the latest attempt of each step.
type PipelineRun struct {
	RunDate    time.Time
	Status     Status
	StartedAt  time.Time
	FinishedAt time.Time // zero while running
	Steps      []StepRun // latest attempt per step, in the order they started; Attempts is set
}

// Status lists the limit most recent runs (by run date, newest first) with
// the latest attempt of each of their steps, for `make status` and the demo.
func (t *Tracker) Status(ctx context.Context, limit int) ([]PipelineRun, error) {
	if limit <= 0 {
		limit = 12
	}
	tx, err := t.db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("runs: status: %w", err)
	}
	defer tx.Rollback(ctx)
	rows, err := tx.Query(ctx, `SELECT run_date, status, started_at, finished_at FROM pipeline_runs
		ORDER BY run_date DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("runs: status: %w", err)
	}
	var out []PipelineRun
	var dates []time.Time
	for rows.Next() {
		var p PipelineRun
		var status string
		var finished *time.Time
		if err := rows.Scan(&p.RunDate, &status, &p.StartedAt, &finished); err != nil {
			rows.Close()
			return nil, fmt.Errorf("runs: status: %w", err)
		}
		p.RunDate, p.Status = chain.RunDate(p.RunDate), Status(status)
		if finished != nil {
			p.FinishedAt = *finished
		}
		out = append(out, p)
		dates = append(dates, p.RunDate)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("runs: status: %w", err)
	}
	if len(out) == 0 {
		return nil, tx.Commit(ctx)
	}
	// Window functions run before DISTINCT ON: attempts counts every attempt.
	rows, err = tx.Query(ctx, `SELECT DISTINCT ON (run_date, step) `+stepCols+`,
		count(*) OVER (PARTITION BY run_date, step)
		FROM step_runs WHERE run_date = ANY($1)
		ORDER BY run_date, step, id DESC`, dates)
	if err != nil {
		return nil, fmt.Errorf("runs: status steps: %w", err)
	}
	byDate := map[time.Time][]StepRun{}
	for rows.Next() {
		var attempts int
		s, err := scanStep(rowWithExtra{rows, &attempts})
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("runs: status steps: %w", err)
		}
		s.Attempts = attempts
		byDate[s.RunDate] = append(byDate[s.RunDate], *s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("runs: status steps: %w", err)
	}
	for i := range out {
		steps := byDate[out[i].RunDate]
		sort.SliceStable(steps, func(a, b int) bool { return steps[a].StartedAt.Before(steps[b].StartedAt) })
		out[i].Steps = steps
	}
	return out, tx.Commit(ctx)
}

// History returns every attempt of every step of one run, oldest first.
func (t *Tracker) History(ctx context.Context, runDate time.Time) ([]StepRun, error) {
	tx, err := t.db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("runs: history: %w", err)
	}
	defer tx.Rollback(ctx)
	rows, err := tx.Query(ctx, `SELECT `+stepCols+` FROM step_runs WHERE run_date = $1 ORDER BY id`, chain.RunDate(runDate))
	if err != nil {
		return nil, fmt.Errorf("runs: history: %w", err)
	}
	defer rows.Close()
	var out []StepRun
	for rows.Next() {
		s, err := scanStep(rows)
		if err != nil {
			return nil, fmt.Errorf("runs: history: %w", err)
		}
		out = append(out, *s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("runs: history: %w", err)
	}
	return out, tx.Commit(ctx)
}

// WriteStatus prints runs as a table: one line per pipeline run, then one per
// step with its status, rows in/out, rejects, seconds and attempts.
func WriteStatus(w io.Writer, runs []PipelineRun) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN DATE\tSTEP\tSTATUS\tROWS IN\tROWS OUT\tREJECTS\tSECONDS\tATTEMPTS\tERROR")
	if len(runs) == 0 {
		fmt.Fprintln(tw, "(no runs yet)\t\t\t\t\t\t\t\t")
	}
	for _, p := range runs {
		secs := "-"
		if !p.FinishedAt.IsZero() {
			secs = fmt.Sprintf("%.1f", p.FinishedAt.Sub(p.StartedAt).Seconds())
		}
		fmt.Fprintf(tw, "%s\t(pipeline)\t%s\t\t\t\t%s\t\t\n", p.RunDate.Format(chain.DateLayout), p.Status, secs)
		for _, s := range p.Steps {
			secs := "-"
			if s.Status != Running {
				secs = fmt.Sprintf("%.1f", s.Duration.Seconds())
			}
			errText := s.Error
			if s.Permanent {
				errText = "[permanent] " + errText
			}
			if r := []rune(errText); len(r) > 80 {
				errText = string(r[:77]) + "..."
			}
			errText = strings.ReplaceAll(errText, "\n", " ")
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%d\t%s\n",
				s.RunDate.Format(chain.DateLayout), s.Step, s.Status, s.RowsIn, s.RowsOut, s.Rejects, secs, s.Attempts, errText)
		}
	}
	return tw.Flush()
}
