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
	"github.com/arrestcast/arrestcast/shared/config"
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
	// CodeVersion is the version of the function that ran this attempt
	// (the runs table's code_version).
	CodeVersion string `json:"code_version,omitempty"`
	// Permanent: the step gave up on these inputs (a transient failure is
	// retried: MinIO redelivers the event until the function answers 2xx).
	Permanent bool      `json:"permanent,omitempty"`
	Started   time.Time `json:"started,omitzero"`
	Finished  time.Time `json:"finished,omitzero"`
}

// Run is one monthly run: its date, status and steps in chain order.
type Run struct {
	RunDate   string    `json:"run_date"`             // YYYY-MM-DD
	Status    string    `json:"status"`               // running, done, failed or stalled
	StoppedAt string    `json:"stopped_at,omitempty"` // failed or stalled: the step where the run stopped
	Reason    string    `json:"reason,omitempty"`     // and why
	Steps     []StepRun `json:"steps"`
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
// tables: the latest runs, newest first (limit <= 0: every run).
type RunStatus interface {
	Status(ctx context.Context, limit int) ([]Run, error)
}

// RunsStatus reads runs through shared/platform/runs (Tracker.Status) on the
// database at URL. Before the first run the tables do not exist: no runs.
type RunsStatus struct {
	URL string
}

// allRuns is the limit that means every run (one a month: a few dozen).
const allRuns = 1 << 20

// Status implements RunStatus.
func (s RunsStatus) Status(ctx context.Context, limit int) ([]Run, error) {
	if s.URL == "" {
		return nil, errors.New("run status: no database URL (is the stack up?)")
	}
	if limit <= 0 {
		limit = allRuns
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
		r := Run{RunDate: p.RunDate.Format(chain.DateLayout), Status: string(p.Status), StoppedAt: p.Step, Reason: p.Reason}
		for _, st := range p.Steps {
			r.Steps = append(r.Steps, StepRun{
				Step: st.Step, Status: string(st.Status), RowsIn: st.RowsIn, RowsOut: st.RowsOut, Rejects: st.Rejects,
				Seconds: st.Duration.Seconds(), Attempts: st.Attempts, Error: st.Error, Permanent: st.Permanent, CodeVersion: st.CodeVersion,
				Started: st.StartedAt, Finished: st.FinishedAt,
			})
		}
		SortSteps(r.Steps)
		out = append(out, r)
	}
	return out, nil
}

// Finished reports whether a run needs no one's attention: it is done
// (running, failed and whatever else the tracker says are not).
func (r Run) Finished() bool { return r.Status == string(runs.Done) }

// SelectRuns splits runs (newest first) for `make status`: every unfinished
// or failed run, then the newest n of the others.
func SelectRuns(all []Run, n int) (open, newest []Run) {
	for _, r := range all {
		switch {
		case !r.Finished():
			open = append(open, r)
		case len(newest) < n:
			newest = append(newest, r)
		}
	}
	return open, newest
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
	printRuns(w, runs, nil)
}

// printRuns writes runs as a table per run. running maps a function to the
// code version it runs now: a step run by another version says so.
func printRuns(w io.Writer, runs []Run, running map[string]string) {
	for _, r := range runs {
		fmt.Fprintf(w, "run %s: %s", r.RunDate, r.Status)
		if r.StoppedAt != "" {
			fmt.Fprintf(w, " at %s: %s", r.StoppedAt, truncate(r.Reason, 100))
		}
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  STEP\tSTATUS\tROWS IN\tROWS OUT\tREJECTS\tSECONDS\tATTEMPTS\tVERSION\tERROR")
		for _, s := range r.Steps {
			secs := "-"
			if s.Status != "running" {
				secs = fmt.Sprintf("%.1f", s.Seconds)
			}
			errText := s.Error
			if s.Permanent {
				errText = "[permanent] " + errText
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\t%s\t%d\t%s\t%s\n", s.Step, s.Status, s.RowsIn, s.RowsOut, s.Rejects, secs, s.Attempts,
				versionCell(s, running), truncate(errText, 80))
		}
		tw.Flush()
	}
}

// versionCell is a step run's short code version, marked "(now V)" when
// its function runs another version V today.
func versionCell(s StepRun, running map[string]string) string {
	v := ShortVersion(s.CodeVersion)
	if v == "" {
		v = "-"
	}
	if now := running[s.Step]; now != "" && s.CodeVersion != "" && now != s.CodeVersion {
		v += " (now " + ShortVersion(now) + ")"
	}
	return v
}

// RunningVersions maps each deployed function to the code version it runs
// (daemon.json); nil without a daemon.
func RunningVersions(ds *DaemonState) map[string]string {
	if ds == nil {
		return nil
	}
	out := map[string]string{}
	for _, f := range ds.Functions {
		if f.Deployed && f.Version != "" {
			out[f.Name] = f.Version
		}
	}
	return out
}

// PrintRunSelection writes every unfinished or failed run first, then the
// newest n others; running is as for printRuns.
func PrintRunSelection(w io.Writer, all []Run, n int, running map[string]string) {
	if len(all) == 0 {
		PrintRuns(w, nil)
		return
	}
	open, newest := SelectRuns(all, n)
	if len(open) > 0 {
		fmt.Fprintf(w, "== %d unfinished or failed run(s)\n", len(open))
		printRuns(w, open, running)
	} else {
		fmt.Fprintln(w, "== every run finished")
	}
	if len(newest) > 0 {
		fmt.Fprintf(w, "== the newest %d finished of %d run(s) (-runs N for more)\n", len(newest), len(all))
		printRuns(w, newest, running)
	}
}

// PrintStack writes the stack's processes as the daemon supervises them,
// each service beside what it answers now (whoever started it).
func PrintStack(ctx context.Context, w io.Writer, c *Config, st *StackState, ds *DaemonState) {
	fmt.Fprintf(w, "local stack up since %s; functions %s\n", st.Started.Local().Format(time.DateTime), st.Runtime)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  SERVICE\tSTATE\tPID\tRESTARTS\tANSWERS\tURL")
	daemonState := "down"
	if st.Daemon != nil && st.Daemon.Alive() {
		daemonState = "running"
	}
	pid := 0
	if st.Daemon != nil {
		pid = st.Daemon.Pid
	}
	fmt.Fprintf(tw, "  gateway+supervisor (daemon)\t%s\t%d\t-\t-\t%s\n", daemonState, pid, st.Gateway.URL)
	if ds != nil {
		for _, s := range ds.Services {
			answers := "yes"
			if err := ServiceHealth(ctx, c, s.Name); err != nil {
				answers = "no: " + truncate(err.Error(), 60)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%s\t%s\n", s.Name, procStateWord(s.ProcState, true), s.Pid, s.Restarts, answers, s.URL)
		}
	}
	tw.Flush()
	fns := st.Functions
	if ds != nil {
		fns = ds.Functions
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  FUNCTION\tSTATE\tPID\tRESTARTS\tLAST EXIT")
	for _, f := range fns {
		last := f.LastExit
		if !f.Deployed {
			last = truncate(f.Problem, 70)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%s\n", f.Name, procStateWord(f.ProcState, f.Deployed), f.Pid, f.Restarts, last)
	}
	tw.Flush()
	for _, c := range st.Cron {
		fmt.Fprintf(w, "  cron: %s %q, next %s\n", c.Function, c.Schedule, c.Next.UTC().Format(time.RFC3339))
	}
}

func procStateWord(p ProcState, deployed bool) string {
	switch {
	case !deployed:
		return "not deployed"
	case !p.Running:
		return "down (restarting)"
	case !p.Ready:
		return "starting"
	case p.Adopted:
		return "ready (adopted)"
	}
	return "ready"
}

// StatusOptions configure Status.
type StatusOptions struct {
	Runs    int           // newest finished runs to show (default 5)
	Tracker RunStatus     // default: RunsStatus on the stack's database
	Monitor MonitorStatus // default: MonitorReports on the stack's database
}

// Status is `make status`: the stack's processes, then every unfinished or
// failed run and the newest finished ones, read from PostgreSQL however it
// was (re)started, then the monitor's verdict on its newest month. It fails
// when PostgreSQL does not answer.
func Status(ctx context.Context, c *Config, out io.Writer, o StatusOptions) error {
	if o.Runs <= 0 {
		o.Runs = 5
	}
	st, err := ReadStackState(c)
	if err != nil {
		fmt.Fprintln(out, "the local stack is not running (make dev starts it)")
		return nil
	}
	ds, _ := ReadDaemonState(c)
	PrintStack(ctx, out, c, st, ds)
	fmt.Fprintln(out)
	var url string
	var urlErr error
	if o.Tracker == nil || o.Monitor == nil {
		url, urlErr = ReadSecret(c.Path("secrets"), config.SecretDatabaseURL)
	}
	if o.Tracker == nil {
		if urlErr != nil {
			return urlErr
		}
		o.Tracker = RunsStatus{URL: url}
	}
	if o.Monitor == nil && urlErr == nil {
		o.Monitor = MonitorReports{URL: url}
	}
	all, err := o.Tracker.Status(ctx, 0)
	if err != nil {
		return fmt.Errorf("run status: postgres on 127.0.0.1:%d does not answer: %w", c.PostgresPort, err)
	}
	PrintRunSelection(out, all, o.Runs, RunningVersions(ds))
	if o.Monitor == nil {
		return nil
	}
	latest, err := o.Monitor.Latest(ctx)
	if err != nil {
		fmt.Fprintf(out, "monitor: %v\n", err)
		return nil
	}
	fmt.Fprintln(out, MonitorLine(latest))
	return nil
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
