// Package runs records pipeline progress in PostgreSQL and makes the steps
// idempotent under MinIO's at-least-once event delivery.
//
// A step handling an event calls Begin with the run date, its name and the
// objects it reads (key + ETag). Begin answers, under a per-(run date, step)
// advisory lock:
//
//   - Started: go ahead; call Finish or Fail with the StepRun when done, and
//     Heartbeat if the work may outlast the lease.
//   - AlreadyDone: this step already succeeded on exactly these inputs (same
//     keys and ETags): acknowledge the event, do nothing.
//   - InProgress: another attempt holds an unexpired lease: answer 503 so
//     MinIO delivers the event again later.
//   - FailedPermanently: this step failed permanently on these inputs with
//     this code version: acknowledge the event (2xx), do not run again.
//
// Different inputs (an upstream step re-ran and wrote new ETags) start a new
// run: the tracker keeps one done row per (run date, step, inputs). An attempt
// that crashed is noticed when its lease expires: the next Begin marks it
// failed ("lease expired") and starts anew.
package runs

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/platform/pg"
	"github.com/arrestcast/arrestcast/shared/platform/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Status of a step attempt or a pipeline run.
type Status string

const (
	Running Status = "running"
	Done    Status = "done"
	Failed  Status = "failed"
)

// Outcome is Begin's answer.
type Outcome int

const (
	Started           Outcome = iota + 1 // a new attempt was recorded: run the step
	AlreadyDone                          // done before with the same inputs: skip
	InProgress                           // another attempt holds the lease: retry later (503)
	FailedPermanently                    // failed permanently with the same inputs: acknowledge, skip
)

func (o Outcome) String() string {
	switch o {
	case Started:
		return "started"
	case AlreadyDone:
		return "already-done"
	case InProgress:
		return "in-progress"
	case FailedPermanently:
		return "failed-permanently"
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// Ref names one version of an object a step read or wrote.
type Ref = store.Ref

// Stats is what Finish records about a successful attempt.
type Stats struct {
	RowsIn  int64
	RowsOut int64
	Rejects int64
	Outputs []Ref
}

// StepRun is one attempt of a step.
type StepRun struct {
	ID          int64
	RunDate     time.Time // UTC midnight
	Step        string
	Status      Status
	Attempt     int // 1 for the first attempt of this step in this run
	StartedAt   time.Time
	FinishedAt  time.Time     // zero while running
	Duration    time.Duration // zero while running
	RowsIn      int64
	RowsOut     int64
	Rejects     int64
	Inputs      []Ref
	InputsHash  string
	Outputs     []Ref
	Error       string
	Permanent   bool
	CodeVersion string
	LeaseUntil  time.Time // zero once finished
	Attempts    int       // filled by Status: attempts of this step in this run
}

// Errors callers test for with errors.Is.
var (
	// ErrLeaseLost: the attempt's row is no longer running (its lease expired
	// and another attempt took over, or it was finished already).
	ErrLeaseLost = errors.New("lease lost")
	// ErrSuperseded: another attempt finished the step on the same inputs first.
	ErrSuperseded = errors.New("superseded by another attempt")
)

// Options configure a Tracker.
type Options struct {
	// CodeVersion is recorded with each attempt, and a permanent failure only
	// blocks re-runs by the same version: a fixed deployment runs again.
	// "" means the binary's VCS revision or module version, else "dev".
	CodeVersion string
	// FinalStep's success marks the pipeline run done; "" means the last
	// event-driven step of the chain.
	FinalStep string
	Logger    *slog.Logger
}

// Tracker records runs in PostgreSQL.
type Tracker struct {
	db          pg.DB
	codeVersion string
	finalStep   string
	log         *slog.Logger
	pool        *pgxpool.Pool // set by Open: closed by Close
}

// Open connects to the database connString names, applies the migrations
// and returns a tracker that owns its connections; Close releases them.
func Open(ctx context.Context, connString string, opts Options) (*Tracker, error) {
	pool, err := pg.Open(ctx, connString, pg.Options{})
	if err != nil {
		return nil, fmt.Errorf("runs: %w", err)
	}
	t := New(pool, opts)
	t.pool = pool
	if err := t.Migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return t, nil
}

// Close releases the connections of a tracker made by Open.
func (t *Tracker) Close() {
	if t.pool != nil {
		t.pool.Close()
	}
}

// New returns a tracker over db. Call Migrate once at start-up.
func New(db pg.DB, opts Options) *Tracker {
	t := &Tracker{db: db, codeVersion: opts.CodeVersion, finalStep: opts.FinalStep, log: opts.Logger}
	if t.codeVersion == "" {
		t.codeVersion = buildVersion()
	}
	if t.finalStep == "" {
		t.finalStep = chain.Final().Name
	}
	if t.log == nil {
		t.log = slog.Default()
	}
	return t
}

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate brings run tracking's tables up to date (pg.Migrate).
func (t *Tracker) Migrate(ctx context.Context) error { return Migrate(ctx, t.db) }

// Migrate brings run tracking's tables up to date in db.
func Migrate(ctx context.Context, db pg.DB) error {
	return pg.Migrate(ctx, db, "runs", migrationsDir())
}

// Migrations lists run tracking's migrations.
func Migrations() ([]pg.Migration, error) { return pg.Migrations(migrationsDir()) }

func migrationsDir() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded folder is there: a build error otherwise
	}
	return sub
}

// CodeVersion is the version recorded with each attempt.
func (t *Tracker) CodeVersion() string { return t.codeVersion }

func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && s.Value != "" {
			return s.Value
		}
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	return "dev"
}

// InputsHash is the identity of a set of inputs: the SHA-256 of the refs
// sorted by bucket and key. Order does not matter; an ETag change does.
func InputsHash(inputs []Ref) string {
	refs := sortedRefs(inputs)
	h := sha256.New()
	for _, r := range refs {
		fmt.Fprintf(h, "%s\x00%s\x00%s\n", r.Bucket, r.Key, r.ETag)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func sortedRefs(refs []Ref) []Ref {
	out := make([]Ref, len(refs)) // never nil: stored as [] not null
	copy(out, refs)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Bucket != out[j].Bucket {
			return out[i].Bucket < out[j].Bucket
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// observers are the chain's observer steps (an observer still running does
// not keep a failed run from being recorded as failed).
func observers() []string {
	var out []string
	for _, st := range chain.Steps {
		if st.Observer {
			out = append(out, st.Name)
		}
	}
	return out
}

// stepLockNS is the first key of the per-(run date, step) advisory locks.
const stepLockNS int32 = 0x41724301

// lockStep serialises tracker transactions on one step of one run.
func lockStep(ctx context.Context, tx pgx.Tx, runDate time.Time, step string) error {
	_, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, hashtext($2))",
		stepLockNS, runDate.Format(chain.DateLayout)+"/"+step)
	if err != nil {
		return fmt.Errorf("lock %s %s: %w", step, runDate.Format(chain.DateLayout), err)
	}
	return nil
}

const stepCols = `id, run_date, step, status, attempt, started_at, finished_at, coalesce(duration_ms, 0),
	coalesce(rows_in, 0), coalesce(rows_out, 0), coalesce(rejects, 0), input_keys, inputs_hash, output_keys,
	coalesce(error, ''), permanent, code_version, lease_until`

func scanStep(row pgx.Row) (*StepRun, error) {
	var r StepRun
	var finished, lease *time.Time
	var durMS int64
	var status string
	err := row.Scan(&r.ID, &r.RunDate, &r.Step, &status, &r.Attempt, &r.StartedAt, &finished, &durMS,
		&r.RowsIn, &r.RowsOut, &r.Rejects, &r.Inputs, &r.InputsHash, &r.Outputs,
		&r.Error, &r.Permanent, &r.CodeVersion, &lease)
	if err != nil {
		return nil, err
	}
	r.Status = Status(status)
	r.RunDate = chain.RunDate(r.RunDate)
	r.Duration = time.Duration(durMS) * time.Millisecond
	if finished != nil {
		r.FinishedAt = *finished
	}
	if lease != nil {
		r.LeaseUntil = *lease
	}
	return &r, nil
}

// Begin decides whether this delivery of step's event for runDate should run
// (see the package documentation). lease is how long the attempt may go
// without Heartbeat before another may take over; make it longer than the
// step's usual duration. The StepRun returned describes the new attempt
// (Started) or the attempt the outcome refers to.
func (t *Tracker) Begin(ctx context.Context, runDate time.Time, step string, inputs []Ref, lease time.Duration) (*StepRun, Outcome, error) {
	if step == "" {
		return nil, 0, errors.New("runs: begin: empty step name")
	}
	if lease <= 0 {
		return nil, 0, fmt.Errorf("runs: begin %s: lease must be positive, got %v", step, lease)
	}
	runDate = chain.RunDate(runDate)
	refs := sortedRefs(inputs)
	hash := InputsHash(refs)
	run, outcome, err := t.begin(ctx, runDate, step, refs, hash, lease)
	if err != nil {
		return nil, 0, fmt.Errorf("runs: begin %s %s: %w", step, runDate.Format(chain.DateLayout), err)
	}
	t.log.LogAttrs(ctx, slog.LevelInfo, "runs: begin",
		slog.String("step", step), slog.String("run_date", runDate.Format(chain.DateLayout)),
		slog.String("outcome", outcome.String()), slog.Int64("run_id", run.ID), slog.Int("attempt", run.Attempt))
	return run, outcome, nil
}

func (t *Tracker) begin(ctx context.Context, runDate time.Time, step string, refs []Ref, hash string, lease time.Duration) (*StepRun, Outcome, error) {
	tx, err := t.db.Begin(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback(ctx)
	if err := lockStep(ctx, tx, runDate, step); err != nil {
		return nil, 0, err
	}

	done, err := scanStep(tx.QueryRow(ctx, `SELECT `+stepCols+` FROM step_runs
		WHERE run_date = $1 AND step = $2 AND inputs_hash = $3 AND status = 'done'`, runDate, step, hash))
	switch {
	case err == nil:
		return done, AlreadyDone, tx.Commit(ctx)
	case !errors.Is(err, pgx.ErrNoRows):
		return nil, 0, fmt.Errorf("look for a done attempt: %w", err)
	}

	perm, err := scanStep(tx.QueryRow(ctx, `SELECT `+stepCols+` FROM step_runs
		WHERE run_date = $1 AND step = $2 AND inputs_hash = $3 AND status = 'failed' AND permanent AND code_version = $4
		ORDER BY id DESC LIMIT 1`, runDate, step, hash, t.codeVersion))
	switch {
	case err == nil:
		return perm, FailedPermanently, tx.Commit(ctx)
	case !errors.Is(err, pgx.ErrNoRows):
		return nil, 0, fmt.Errorf("look for a permanent failure: %w", err)
	}

	var live bool
	running, err := scanStep(rowWithExtra{tx.QueryRow(ctx, `SELECT `+stepCols+`, lease_until > now() FROM step_runs
		WHERE run_date = $1 AND step = $2 AND status = 'running' FOR UPDATE`, runDate, step), &live})
	switch {
	case err == nil && live:
		return running, InProgress, tx.Commit(ctx)
	case err == nil:
		// The attempt stopped renewing its lease: it crashed or hangs.
		if _, err := tx.Exec(ctx, `UPDATE step_runs SET status = 'failed', error = 'lease expired',
			finished_at = now(), duration_ms = (extract(epoch FROM now() - started_at) * 1000)::bigint, lease_until = NULL
			WHERE id = $1`, running.ID); err != nil {
			return nil, 0, fmt.Errorf("expire attempt %d: %w", running.ID, err)
		}
		t.log.LogAttrs(ctx, slog.LevelWarn, "runs: lease expired, taking over",
			slog.String("step", step), slog.String("run_date", runDate.Format(chain.DateLayout)),
			slog.Int64("expired_run_id", running.ID), slog.Time("lease_until", running.LeaseUntil))
	case !errors.Is(err, pgx.ErrNoRows):
		return nil, 0, fmt.Errorf("look for a running attempt: %w", err)
	}

	// An observer (the monitor) is recorded with the run but does not
	// reopen it: the run is the chain's, done when the final step is.
	reopen := `DO UPDATE SET status = 'running', finished_at = NULL WHERE pipeline_runs.status <> 'running'`
	if chain.IsObserver(step) {
		reopen = `DO NOTHING`
	}
	if _, err := tx.Exec(ctx, `INSERT INTO pipeline_runs (run_date, status) VALUES ($1, 'running')
		ON CONFLICT (run_date) `+reopen, runDate); err != nil {
		return nil, 0, fmt.Errorf("record pipeline run: %w", err)
	}
	run, err := scanStep(tx.QueryRow(ctx, `INSERT INTO step_runs
		(run_date, step, status, attempt, input_keys, inputs_hash, code_version, lease_until)
		VALUES ($1, $2, 'running', (SELECT count(*) + 1 FROM step_runs WHERE run_date = $1 AND step = $2),
			$3, $4, $5, now() + $6::interval)
		RETURNING `+stepCols, runDate, step, refs, hash, t.codeVersion, lease))
	if err != nil {
		return nil, 0, fmt.Errorf("record attempt: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, 0, fmt.Errorf("commit: %w", err)
	}
	return run, Started, nil
}

// rowWithExtra scans one more column after the step columns.
type rowWithExtra struct {
	row   pgx.Row
	extra any
}

func (r rowWithExtra) Scan(dest ...any) error { return r.row.Scan(append(dest, r.extra)...) }

// Heartbeat extends run's lease to lease from now. It fails with ErrLeaseLost
// when the attempt is no longer running (another attempt took over): the
// caller should stop, its outputs may be overwritten.
func (t *Tracker) Heartbeat(ctx context.Context, run *StepRun, lease time.Duration) error {
	tx, err := t.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("runs: heartbeat %s: %w", run.Step, err)
	}
	defer tx.Rollback(ctx)
	var until time.Time
	err = tx.QueryRow(ctx, `UPDATE step_runs SET lease_until = now() + $2::interval
		WHERE id = $1 AND status = 'running' RETURNING lease_until`, run.ID, lease).Scan(&until)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("runs: heartbeat %s attempt %d: %w", run.Step, run.ID, ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("runs: heartbeat %s: %w", run.Step, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("runs: heartbeat %s: %w", run.Step, err)
	}
	run.LeaseUntil = until
	return nil
}

// KeepAlive renews run's lease every lease/3 until the returned stop is
// called or ctx ends. A renewal that finds the lease lost calls lost (if not
// nil) once and stops renewing.
func (t *Tracker) KeepAlive(ctx context.Context, run *StepRun, lease time.Duration, lost func(error)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	r := *run // the goroutine must not race with the caller on run
	go func() {
		defer close(done)
		tick := time.NewTicker(max(lease/3, 10*time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			err := t.Heartbeat(ctx, &r, lease)
			if errors.Is(err, ErrLeaseLost) {
				if lost != nil {
					lost(err)
				}
				return
			}
			if err != nil && ctx.Err() == nil {
				t.log.WarnContext(ctx, "runs: heartbeat failed", "step", r.Step, "run_id", r.ID, "error", err.Error())
			}
		}
	}()
	return func() { cancel(); <-done }
}

// Finish records run as done with stats. If the attempt's lease had expired
// meanwhile but no other attempt finished, it is still recorded done (the
// work is complete); if another attempt finished the same inputs first, it
// fails with ErrSuperseded and the attempt is recorded failed. Finishing an
// attempt twice is harmless.
func (t *Tracker) Finish(ctx context.Context, run *StepRun, stats Stats) error {
	if err := t.finish(ctx, run, stats); err != nil {
		return fmt.Errorf("runs: finish %s %s attempt %d: %w", run.Step, run.RunDate.Format(chain.DateLayout), run.ID, err)
	}
	t.log.LogAttrs(ctx, slog.LevelInfo, "runs: done",
		slog.String("step", run.Step), slog.String("run_date", run.RunDate.Format(chain.DateLayout)),
		slog.Int64("run_id", run.ID), slog.Int64("rows_in", run.RowsIn), slog.Int64("rows_out", run.RowsOut),
		slog.Int64("rejects", run.Rejects), slog.Int64("duration_ms", run.Duration.Milliseconds()))
	return nil
}

func (t *Tracker) finish(ctx context.Context, run *StepRun, stats Stats) error {
	tx, err := t.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if err := lockStep(ctx, tx, run.RunDate, run.Step); err != nil {
		return err
	}
	cur, err := scanStep(tx.QueryRow(ctx, `SELECT `+stepCols+` FROM step_runs WHERE id = $1 FOR UPDATE`, run.ID))
	if err != nil {
		return fmt.Errorf("read attempt: %w", err)
	}
	switch {
	case cur.Status == Done:
		*run = *cur
		return tx.Commit(ctx)
	case cur.Status == Failed && cur.Error != "lease expired":
		return fmt.Errorf("attempt already failed (%s): %w", cur.Error, ErrLeaseLost)
	}
	var other int64
	err = tx.QueryRow(ctx, `SELECT id FROM step_runs WHERE run_date = $1 AND step = $2 AND inputs_hash = $3 AND status = 'done'`,
		cur.RunDate, cur.Step, cur.InputsHash).Scan(&other)
	switch {
	case err == nil:
		if _, err := tx.Exec(ctx, `UPDATE step_runs SET status = 'failed', error = $2, lease_until = NULL,
			finished_at = now(), duration_ms = (extract(epoch FROM now() - started_at) * 1000)::bigint
			WHERE id = $1`, run.ID, fmt.Sprintf("superseded by attempt %d", other)); err != nil {
			return fmt.Errorf("record superseded attempt: %w", err)
		}
		if err := tx.Commit(ctx); err != nil {
			return err
		}
		return fmt.Errorf("attempt %d finished first: %w", other, ErrSuperseded)
	case !errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("look for a done attempt: %w", err)
	}
	done, err := scanStep(tx.QueryRow(ctx, `UPDATE step_runs SET status = 'done', error = NULL, lease_until = NULL,
		finished_at = now(), duration_ms = (extract(epoch FROM now() - started_at) * 1000)::bigint,
		rows_in = $2, rows_out = $3, rejects = $4, output_keys = $5
		WHERE id = $1 RETURNING `+stepCols, run.ID, stats.RowsIn, stats.RowsOut, stats.Rejects, sortedRefs(stats.Outputs)))
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" {
			return fmt.Errorf("%w: %v", ErrSuperseded, err) // the unique index, should the check above be bypassed
		}
		return fmt.Errorf("record done: %w", err)
	}
	if done.Step == t.finalStep {
		if _, err := tx.Exec(ctx, `UPDATE pipeline_runs SET status = 'done', finished_at = now() WHERE run_date = $1`, done.RunDate); err != nil {
			return fmt.Errorf("record pipeline done: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	*run = *done
	return nil
}

// Fail records run as failed with cause. permanent says that retrying the
// same inputs cannot succeed (bad input data, a bug): later Begin calls with
// the same inputs and code version then answer FailedPermanently, so the
// replayed event is acknowledged instead of re-run forever. A transient
// failure (store or database down) lets the next delivery run again.
func (t *Tracker) Fail(ctx context.Context, run *StepRun, cause error, permanent bool) error {
	msg := "unknown error"
	if cause != nil {
		msg = cause.Error()
	}
	if err := t.fail(ctx, run, msg, permanent); err != nil {
		return fmt.Errorf("runs: fail %s %s attempt %d: %w", run.Step, run.RunDate.Format(chain.DateLayout), run.ID, err)
	}
	t.log.LogAttrs(ctx, slog.LevelError, "runs: failed",
		slog.String("step", run.Step), slog.String("run_date", run.RunDate.Format(chain.DateLayout)),
		slog.Int64("run_id", run.ID), slog.Bool("permanent", permanent), slog.String("error", msg))
	return nil
}

// Abandon records run as failed because its work was moot — a newer
// generation of the run superseded it, or another attempt took it over —
// without failing the pipeline run, which goes on in the other attempt. An
// attempt no longer running is left as it is.
func (t *Tracker) Abandon(ctx context.Context, run *StepRun, reason string) error {
	tx, err := t.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("runs: abandon %s: %w", run.Step, err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `UPDATE step_runs SET status = 'failed', error = $2, lease_until = NULL,
		finished_at = now(), duration_ms = (extract(epoch FROM now() - started_at) * 1000)::bigint
		WHERE id = $1 AND status = 'running'`, run.ID, strings.ToValidUTF8(reason, "?")); err != nil {
		return fmt.Errorf("runs: abandon %s attempt %d: %w", run.Step, run.ID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("runs: abandon %s: %w", run.Step, err)
	}
	t.log.LogAttrs(ctx, slog.LevelInfo, "runs: abandoned", slog.String("step", run.Step),
		slog.String("run_date", run.RunDate.Format(chain.DateLayout)), slog.Int64("run_id", run.ID), slog.String("reason", reason))
	return nil
}

func (t *Tracker) fail(ctx context.Context, run *StepRun, msg string, permanent bool) error {
	tx, err := t.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if err := lockStep(ctx, tx, run.RunDate, run.Step); err != nil {
		return err
	}
	failed, err := scanStep(tx.QueryRow(ctx, `UPDATE step_runs SET status = 'failed', error = $2, permanent = $3,
		lease_until = NULL, finished_at = coalesce(finished_at, now()),
		duration_ms = coalesce(duration_ms, (extract(epoch FROM now() - started_at) * 1000)::bigint)
		WHERE id = $1 AND status <> 'done' RETURNING `+stepCols, run.ID, strings.ToValidUTF8(msg, "?"), permanent))
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("attempt is done or unknown: %w", ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("record failure: %w", err)
	}
	// The pipeline run fails unless another attempt (a takeover) is still
	// going; an observer's failure is its own.
	if _, err := tx.Exec(ctx, `UPDATE pipeline_runs SET status = 'failed', finished_at = now() WHERE run_date = $1
		AND NOT $2 AND NOT EXISTS (SELECT 1 FROM step_runs WHERE run_date = $1 AND status = 'running' AND NOT step = ANY($3))`,
		failed.RunDate, chain.IsObserver(failed.Step), observers()); err != nil {
		return fmt.Errorf("record pipeline failure: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	*run = *failed
	return nil
}
