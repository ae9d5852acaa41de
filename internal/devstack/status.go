package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/platform/pg"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
)

// StepRun is one step of one run, as the run-tracking tables hold it (the
// latest attempt).
type StepRun struct {
	Step     string  `json:"step"`
	Status   string  `json:"status"` // running, done, failed
	RowsIn   int64   `json:"rows_in"`
	RowsOut  int64   `json:"rows_out"`
	Rejects  int64   `json:"rejects"`
	Seconds  float64 `json:"seconds"`
	Attempts int     `json:"attempts"`
	Error    string  `json:"error,omitempty"`
	// Permanent: the step gave up on these inputs (a transient failure is
	// retried: MinIO redelivers the event until the function answers 2xx).
	Permanent bool      `json:"permanent,omitempty"`
	Started   time.Time `json:"started,omitzero"`
	Finished  time.Time `json:"finished,omitzero"`
}

// Run is one monthly run: its date, status and steps in chain order.
type Run struct {
	RunDate string    `json:"run_date"` // YYYY-MM-DD
	Status  string    `json:"status"`
	Steps   []StepRun `json:"steps"`
}

// Step returns the run's step called name.
func (r Run) Step(name string) (StepRun, bool) {
	for _, s := range r.Steps {
		if s.Step == name {
			return s, true
		}
	}
	return StepRun{}, false
}

// RunStatus is the narrow view `status` and the demo need of the run-tracking
// tables: the latest runs, newest first.
type RunStatus interface {
	Status(ctx context.Context, limit int) ([]Run, error)
}

// RunsStatus reads runs through shared/platform/runs (Tracker.Status) on the
// database at URL. Before the first run the tables do not exist: no runs.
type RunsStatus struct {
	URL string
}

// Status implements RunStatus.
func (s RunsStatus) Status(ctx context.Context, limit int) ([]Run, error) {
	if s.URL == "" {
		return nil, errors.New("run status: no database URL (is the stack up?)")
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	pool, err := pg.Open(ctx, s.URL, pg.Options{MaxConns: 1})
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	prs, err := runs.New(pool, runs.Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}).Status(ctx, limit)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table: nothing ran yet
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]Run, 0, len(prs))
	for _, p := range prs {
		r := Run{RunDate: p.RunDate.Format(chain.DateLayout), Status: string(p.Status)}
		for _, st := range p.Steps {
			r.Steps = append(r.Steps, StepRun{
				Step: st.Step, Status: string(st.Status), RowsIn: st.RowsIn, RowsOut: st.RowsOut, Rejects: st.Rejects,
				Seconds: st.Duration.Seconds(), Attempts: st.Attempts, Error: st.Error, Permanent: st.Permanent,
				Started: st.StartedAt, Finished: st.FinishedAt,
			})
		}
		SortSteps(r.Steps)
		out = append(out, r)
	}
	return out, nil
}

// SortSteps puts steps in chain order.
func SortSteps(steps []StepRun) {
	idx := func(name string) int {
		for i, s := range chain.Steps {
			if s.Name == name {
				return i
			}
		}
		return len(chain.Steps)
	}
	slices.SortStableFunc(steps, func(a, b StepRun) int { return idx(a.Step) - idx(b.Step) })
}

// PrintRuns writes runs as a table per run.
func PrintRuns(w io.Writer, runs []Run) {
	if len(runs) == 0 {
		fmt.Fprintln(w, "no runs recorded yet (make invoke FN=download, or make demo)")
		return
	}
	for _, r := range runs {
		fmt.Fprintf(w, "run %s: %s\n", r.RunDate, r.Status)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  STEP\tSTATUS\tROWS IN\tROWS OUT\tREJECTS\tSECONDS\tATTEMPTS\tERROR")
		for _, s := range r.Steps {
			secs := "-"
			if s.Status != "running" {
				secs = fmt.Sprintf("%.1f", s.Seconds)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\t%s\t%d\t%s\n", s.Step, s.Status, s.RowsIn, s.RowsOut, s.Rejects, secs, s.Attempts, truncate(s.Error, 80))
		}
		tw.Flush()
	}
}

// PrintStack writes the stack's processes and functions.
func PrintStack(w io.Writer, st *StackState, ds *DaemonState) {
	fmt.Fprintf(w, "local stack up since %s\n", st.Started.Local().Format(time.DateTime))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  SERVICE\tPID\tALIVE\tURL")
	row := func(name string, s *Service) {
		if s == nil {
			fmt.Fprintf(tw, "  %s\t-\tno\tnot started\n", name)
			return
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\n", name, s.Pid, yesNo(s.Alive()), s.URL)
	}
	row("gateway+functions (daemon)", st.Daemon)
	row("minio", st.MinIO)
	if st.Postgres != nil {
		row("postgres", &st.Postgres.Service)
	} else {
		row("postgres", nil)
	}
	row("socrata stand-in", st.Socrata)
	tw.Flush()
	fns := st.Functions
	if ds != nil {
		fns = ds.Functions
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  FUNCTION\tSTATE\tPID\tADDR\tRESTARTS\tLAST EXIT")
	for _, f := range fns {
		state := "ready"
		switch {
		case !f.Deployed:
			state = "not deployed"
		case !f.Running:
			state = "down (restarting)"
		case !f.Ready:
			state = "starting"
		}
		last := f.LastExit
		if !f.Deployed {
			last = truncate(f.Problem, 70)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%d\t%s\n", f.Name, state, f.Pid, f.Addr, f.Restarts, last)
	}
	tw.Flush()
	for _, c := range st.Cron {
		fmt.Fprintf(w, "  cron: %s %q, next %s\n", c.Function, c.Schedule, c.Next.UTC().Format(time.RFC3339))
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// stepsDone returns the names of the run's finished steps.
func stepsDone(r Run) []string {
	var out []string
	for _, s := range r.Steps {
		if s.Status == "done" {
			out = append(out, s.Step)
		}
	}
	return out
}
