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

// Stalled is the status of a run whose chain stopped without failing: no
// step of it runs, the last one finished long ago (StallAfter), and it was
// not the last step (a lost event, a function that never came up).
const Stalled Status = "stalled"

// StallAfter is how long a run may have no step running before it counts
// as stalled: far longer than a step (exec_timeout < 60 s) or MinIO's
// redelivery of an event (seconds).
const StallAfter = 10 * time.Minute

// PipelineRun is one monthly run with the latest attempt of each step.
type PipelineRun struct {
	RunDate    time.Time
	Status     Status // running, done, failed, or Stalled (derived when read)
	StartedAt  time.Time
	FinishedAt time.Time // zero while running
	Steps      []StepRun // latest attempt per step, in the order they started; Attempts is set
	// Step and Reason say where and why a failed or stalled run stopped.
	Step, Reason string
}

// Status lists the limit most recent runs (by run date, newest first; 0:
// every run) with the latest attempt of each of their steps, for `make
// status`, the dashboard and the demo.
func (t *Tracker) Status(ctx context.Context, limit int) ([]PipelineRun, error) {
	if limit <= 0 {
		limit = -1
	}
	tx, err := t.db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("runs: status: %w", err)
	}
	defer tx.Rollback(ctx)
	rows, err := tx.Query(ctx, `SELECT run_date, status, started_at, finished_at FROM pipeline_runs
		ORDER BY run_date DESC LIMIT $1`, nullIfNegative(limit))
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
	var now time.Time
	if err := tx.QueryRow(ctx, "SELECT now()").Scan(&now); err != nil {
		return nil, fmt.Errorf("runs: status: %w", err)
	}
	for i := range out {
		steps := byDate[out[i].RunDate]
		sort.SliceStable(steps, func(a, b int) bool { return steps[a].StartedAt.Before(steps[b].StartedAt) })
		out[i].Steps = steps
		out[i].explain(now, t.finalStep)
	}
	return out, tx.Commit(ctx)
}

// nullIfNegative is a LIMIT: a negative one means none (NULL).
func nullIfNegative(n int) any {
	if n < 0 {
		return nil
	}
	return n
}

// explain derives where a run stands from its steps: a failed run names
// the step that failed and why; a running run with no step running whose
// last step finished more than StallAfter before now is Stalled, naming
// the step that never started.
func (p *PipelineRun) explain(now time.Time, final string) {
	var last *StepRun
	for i := range p.Steps {
		s := &p.Steps[i]
		switch {
		case s.Status == Running:
			return // a step is running: so is the run
		case s.Status == Failed && p.Status == Failed && s.Permanent:
			p.Step, p.Reason = s.Step, s.Error
		}
		if last == nil || s.FinishedAt.After(last.FinishedAt) {
			last = s
		}
	}
	if p.Status == Failed && p.Step == "" && last != nil && last.Status == Failed {
		p.Step, p.Reason = last.Step, last.Error
	}
	if p.Status != Running || last == nil || last.Step == final || now.Sub(last.FinishedAt) < StallAfter {
		return
	}
	p.Status, p.Step = Stalled, next(last.Step)
	p.Reason = fmt.Sprintf("no step has run since %s finished at %s", last.Step, last.FinishedAt.UTC().Format(time.RFC3339))
}

// next is the step the chain runs after step ("" after the last).
func next(step string) string {
	steps := chain.RunStepNames()
	for i, s := range steps {
		if s == step && i+1 < len(steps) {
			return steps[i+1]
		}
	}
	return ""
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
