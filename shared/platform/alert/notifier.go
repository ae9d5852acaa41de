package alert

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/arrestcast/arrestcast/shared/platform/pg"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// DB is what the notifier needs of PostgreSQL (a pool, a connection or a
// transaction).
type DB interface {
	pg.DB
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Notifier delivers each alert once.
type Notifier struct {
	db     DB
	sender *Sender // nil: alerts are not recorded nor sent (no webhook configured)
	source string
	log    *slog.Logger
	claim  time.Duration
}

// Open migrates the alerts table and returns a notifier sending through
// sender (nil: none configured; Notify then does nothing).
func Open(ctx context.Context, db DB, sender *Sender, source string, log *slog.Logger) (*Notifier, error) {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	if err := pg.Migrate(ctx, db, "alerts", sub); err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	return &Notifier{db: db, sender: sender, source: source, log: log, claim: 2 * time.Minute}, nil
}

// Enabled reports whether alerts go anywhere.
func (n *Notifier) Enabled() bool { return n != nil && n.sender != nil && n.sender.URL != "" }

// Outcome says what Notify did.
type Outcome string

const (
	Sent     Outcome = "sent"     // delivered now
	Already  Outcome = "already"  // delivered before (or being delivered by another caller)
	Failed   Outcome = "failed"   // recorded, delivery failed: tried again by Retry
	Disabled Outcome = "disabled" // no webhook configured
)

// Notify records a (the first alert of its month, kind and subject is the
// one kept) and delivers it unless it was delivered before.
func (n *Notifier) Notify(ctx context.Context, a Alert) (Outcome, error) {
	if !n.Enabled() {
		return Disabled, nil
	}
	if a.Severity == "" {
		a.Severity = SeverityAlert
	}
	month := time.Date(a.Month.Year(), a.Month.Month(), 1, 0, 0, 0, 0, time.UTC)
	a.Month = month
	body, err := json.Marshal(NewPayload(a, n.source, time.Now()))
	if err != nil {
		return Failed, fmt.Errorf("encode alert: %w", err)
	}
	if _, err := n.db.Exec(ctx, `INSERT INTO alerts (month, kind, subject, severity, message, body)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, month, a.Kind, a.Subject, a.Severity, a.Message, body); err != nil {
		return Failed, fmt.Errorf("record alert %s %s: %w", a.Kind, month.Format("2006-01"), err)
	}
	return n.deliver(ctx, month, a.Kind, a.Subject)
}

// Retry delivers the alerts whose delivery failed (at most limit, oldest
// first) and reports how many went out now.
func (n *Notifier) Retry(ctx context.Context, limit int) (int, error) {
	if !n.Enabled() {
		return 0, nil
	}
	rows, err := n.db.Query(ctx, `SELECT month, kind, subject FROM alerts
		WHERE sent_at IS NULL AND (claimed_until IS NULL OR claimed_until < now()) ORDER BY raised_at LIMIT $1`, limit)
	if err != nil {
		return 0, fmt.Errorf("unsent alerts: %w", err)
	}
	type key struct {
		month         time.Time
		kind, subject string
	}
	var keys []key
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.month, &k.kind, &k.subject); err != nil {
			rows.Close()
			return 0, fmt.Errorf("unsent alerts: %w", err)
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("unsent alerts: %w", err)
	}
	sent := 0
	var errs []error
	for _, k := range keys {
		o, err := n.deliver(ctx, k.month, k.kind, k.subject)
		if o == Sent {
			sent++
		}
		errs = append(errs, err)
	}
	return sent, errors.Join(errs...)
}

// deliver claims an unsent alert (so two callers do not both send it),
// sends its body and records the outcome.
func (n *Notifier) deliver(ctx context.Context, month time.Time, kind, subject string) (Outcome, error) {
	var body []byte
	err := n.db.QueryRow(ctx, `UPDATE alerts SET claimed_until = now() + $4::interval, attempts = attempts + 1
		WHERE month = $1 AND kind = $2 AND subject = $3 AND sent_at IS NULL
		AND (claimed_until IS NULL OR claimed_until < now()) RETURNING body`,
		month, kind, subject, n.claim.String()).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return Already, nil
	}
	if err != nil {
		return Failed, fmt.Errorf("claim alert %s %s: %w", kind, month.Format("2006-01"), err)
	}
	sendErr := n.sender.Send(ctx, body)
	ctx = context.WithoutCancel(ctx)
	if sendErr != nil {
		if _, err := n.db.Exec(ctx, `UPDATE alerts SET claimed_until = NULL, last_error = $4
			WHERE month = $1 AND kind = $2 AND subject = $3`, month, kind, subject, sendErr.Error()); err != nil {
			n.log.Error("alerts: record a failed delivery", "err", err)
		}
		return Failed, sendErr
	}
	if _, err := n.db.Exec(ctx, `UPDATE alerts SET claimed_until = NULL, sent_at = now(), last_error = NULL
		WHERE month = $1 AND kind = $2 AND subject = $3`, month, kind, subject); err != nil {
		return Sent, fmt.Errorf("record a delivered alert: %w", err)
	}
	n.log.Info("alert sent", "kind", kind, "month", month.Format("2006-01"), "subject", subject)
	return Sent, nil
}
