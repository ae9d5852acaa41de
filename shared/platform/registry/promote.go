package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// lockRoles serialises changes of role (promotions, SetRole) database-wide:
// with no champion yet there is no row for SELECT … FOR UPDATE to lock.
func lockRoles(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, $2)", championLock1, championLock2); err != nil {
		return fmt.Errorf("lock roles: %w", err)
	}
	return nil
}

// Promote makes model version the champion, in one transaction: the
// champion before it becomes retired, version becomes champion (PromotedAt
// now) and the change is written to the promotions log with reason and
// actor (ActorTrain or ActorManual). Promoting the champion again is a
// no-op, logged nowhere; an unknown version is ErrNotFound. Concurrent
// promotions take turns. A rollback is Promote of an earlier version.
func (r *Registry) Promote(ctx context.Context, version int, reason, actor string) error {
	if err := r.promote(ctx, version, -1, reason, actor); err != nil {
		return fmt.Errorf("registry: promote v%d: %w", version, err)
	}
	return nil
}

// PromoteIfChampion is Promote when the champion is still expected (0: no
// champion), the one the decision to promote was made against; otherwise it
// changes nothing and returns ErrChampionChanged, and the caller compares
// with the new champion. It is how two trains finishing together leave the
// better model champion. Version already champion is a no-op, as in Promote.
func (r *Registry) PromoteIfChampion(ctx context.Context, version, expected int, reason, actor string) error {
	if expected < 0 {
		return fmt.Errorf("registry: promote v%d over v%d: %w expected champion", version, expected, ErrInvalid)
	}
	if err := r.promote(ctx, version, expected, reason, actor); err != nil {
		return fmt.Errorf("registry: promote v%d over v%d: %w", version, expected, err)
	}
	return nil
}

// promote implements Promote (expected < 0) and PromoteIfChampion.
func (r *Registry) promote(ctx context.Context, version, expected int, reason, actor string) error {
	if actor != ActorTrain && actor != ActorManual {
		return fmt.Errorf("%w actor %q (want %q or %q)", ErrInvalid, actor, ActorTrain, ActorManual)
	}
	if reason == "" {
		return fmt.Errorf("%w: a promotion needs a reason", ErrInvalid)
	}
	return r.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockRoles(ctx, tx); err != nil {
			return err
		}
		var role Role
		err := tx.QueryRow(ctx, "SELECT role FROM models WHERE version = $1 FOR UPDATE", version).Scan(&role)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("read model: %w", err)
		}
		if role == Champion {
			return nil
		}
		var from int
		err = tx.QueryRow(ctx, "SELECT version FROM models WHERE role = 'champion' FOR UPDATE").Scan(&from)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("read champion: %w", err)
		}
		if expected >= 0 && from != expected {
			if from == 0 {
				return fmt.Errorf("%w: there is no champion now", ErrChampionChanged)
			}
			return fmt.Errorf("%w: the champion is now v%d", ErrChampionChanged, from)
		}
		// Demote before promoting: the unique index is checked per row.
		if from != 0 {
			if _, err := tx.Exec(ctx, "UPDATE models SET role = 'retired' WHERE version = $1", from); err != nil {
				return fmt.Errorf("retire v%d: %w", from, err)
			}
		}
		if _, err := tx.Exec(ctx, "UPDATE models SET role = 'champion', promoted_at = now() WHERE version = $1", version); err != nil {
			return fmt.Errorf("crown: %w", err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO promotions (from_version, to_version, reason, actor) VALUES ($1, $2, $3, $4)",
			nullVersion(from), version, reason, actor); err != nil {
			return fmt.Errorf("log promotion: %w", err)
		}
		return nil
	})
}

func nullVersion(v int) *int {
	if v == 0 {
		return nil
	}
	return &v
}

// SetRole makes model version a challenger or retired (e.g. to set aside a
// bad model, or bring one back into consideration). The champion's role
// only changes by promoting another model: setting it, or setting Champion,
// is ErrInvalid. An unknown version is ErrNotFound.
func (r *Registry) SetRole(ctx context.Context, version int, role Role) error {
	err := func() error {
		if role != Challenger && role != Retired {
			return fmt.Errorf("%w role %q: only challenger or retired (Promote makes champions)", ErrInvalid, role)
		}
		return r.inTx(ctx, func(tx pgx.Tx) error {
			if err := lockRoles(ctx, tx); err != nil {
				return err
			}
			var cur Role
			err := tx.QueryRow(ctx, "SELECT role FROM models WHERE version = $1 FOR UPDATE", version).Scan(&cur)
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrNotFound
			}
			if err != nil {
				return fmt.Errorf("read model: %w", err)
			}
			if cur == Champion {
				return fmt.Errorf("%w: v%d is the champion: promote another model instead", ErrInvalid, version)
			}
			if _, err := tx.Exec(ctx, "UPDATE models SET role = $2 WHERE version = $1", version, string(role)); err != nil {
				return fmt.Errorf("update: %w", err)
			}
			return nil
		})
	}()
	if err != nil {
		return fmt.Errorf("registry: set v%d %s: %w", version, role, err)
	}
	return nil
}

// SetDecision replaces the decision recorded with model version, e.g. after
// PromoteIfChampion returned ErrChampionChanged and the model was compared
// again. An unknown version is ErrNotFound.
func (r *Registry) SetDecision(ctx context.Context, version int, d Decision) error {
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("registry: decision of v%d: %w %v", version, ErrInvalid, err)
	}
	tag, err := r.db.Exec(ctx, "UPDATE models SET decision = $2 WHERE version = $1", version, b)
	if err == nil && tag.RowsAffected() == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("registry: decision of v%d: %w", version, err)
	}
	return nil
}

// Promotions returns the newest limit changes of champion, newest first
// (limit <= 0: all).
func (r *Registry) Promotions(ctx context.Context, limit int) ([]Promotion, error) {
	rows, err := r.db.Query(ctx, `SELECT id, at, coalesce(from_version, 0), to_version, reason, actor
		FROM promotions ORDER BY id DESC LIMIT $1`, nullLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("registry: promotions: %w", err)
	}
	defer rows.Close()
	var out []Promotion
	for rows.Next() {
		var p Promotion
		if err := rows.Scan(&p.ID, &p.At, &p.From, &p.To, &p.Reason, &p.Actor); err != nil {
			return nil, fmt.Errorf("registry: promotions: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: promotions: %w", err)
	}
	return out, nil
}
