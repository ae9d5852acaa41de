// Package registry is the model registry in PostgreSQL: every model train
// produces (its metrics, features, lineage and the object-store artifact),
// and which one predict serves.
//
// Exactly one model is the champion once the first has been promoted (a
// partial unique index allows at most one, and Promote swaps roles in one
// transaction). The others are challengers (registered, not chosen) or
// retired (champions that were replaced, or models set aside by hand).
//
// Train's flow, both models scored on the new run's test set:
//
//	champVersion, champScores := 0, registry.NoChampion
//	if champ, err := reg.Champion(ctx); err == nil { // ErrNoChampion: the first model
//		champVersion, champScores = champ.Version, scoreArtifact(champ.Artifact, testSet)
//	}
//	d := registry.Judge(challengerScores, champVersion, champScores)
//	m.Decision = &d
//	v, created, err := reg.Register(ctx, m) // idempotent on replay
//	if d.Promote {
//		err = reg.PromoteIfChampion(ctx, v, champVersion, d.Reason, registry.ActorTrain)
//		// ErrChampionChanged: another train promoted meanwhile: compare with
//		// the new champion, SetDecision, and try again.
//	}
//
// Predict polls ChampionVersion (one index-only row) and loads the artifact
// of a new version with Get. A rollback is Promote(earlier version, reason,
// ActorManual).
package registry

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/ml/metrics"
	"github.com/arrestcast/arrestcast/shared/platform/pg"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// DB is what the registry needs from PostgreSQL. *pgxpool.Pool, pgx.Tx and
// *pgx.Conn (one goroutine at a time) satisfy it. Given a pgx.Tx, the
// registry's own transactions are savepoints in it.
type DB interface {
	Begin(ctx context.Context) (pgx.Tx, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Role is a model's standing.
type Role string

const (
	Champion   Role = "champion"   // the model predict serves; exactly one
	Challenger Role = "challenger" // registered, not (or not yet) chosen
	Retired    Role = "retired"    // a replaced champion, or set aside with SetRole
)

// Algorithms a model can be.
const (
	AlgorithmGBT    = "gbt"
	AlgorithmLogReg = "logreg"
)

// SourcePipeline is the Source of models the monthly pipeline's train
// registers, and the one ByRunDate looks up.
const SourcePipeline = "pipeline"

// Actors of a promotion.
const (
	ActorTrain  = "train"
	ActorManual = "manual"
)

// Ref names one version of an object: an artifact or a lineage manifest.
type Ref = store.Ref

// Errors callers test for with errors.Is.
var (
	ErrNotFound   = errors.New("model not found")
	ErrNoChampion = errors.New("no champion")
	// ErrConflict: the run date (and source) already has a model with a
	// different artifact, and Register was not asked to Replace it.
	ErrConflict = errors.New("run date already has a model with a different artifact")
	// ErrChampionChanged: PromoteIfChampion found another champion than the
	// one the decision was made against.
	ErrChampionChanged = errors.New("the champion changed")
	// ErrInvalid: the call's arguments are wrong; retrying will not help.
	ErrInvalid = errors.New("invalid")
)

// Model is one registered model.
type Model struct {
	Version   int       // the public model version; set by Register
	RunDate   time.Time // the pipeline run that trained it (a date, UTC)
	Source    string    // who registered it; "" means SourcePipeline
	Algorithm string    // AlgorithmGBT or AlgorithmLogReg
	// Params are the hyper-parameters, a JSON object (nil: {}). PostgreSQL
	// stores jsonb: key order and spacing are not kept.
	Params            json.RawMessage
	TrainRows         int64
	TestRows          int64
	Metrics           *metrics.Report    // on the run's test set; required
	FeatureImportance map[string]float64 // by feature name
	Features          []string           // the model's inputs, in order
	Lineage           []Ref              // the manifests it was trained from
	Artifact          Ref                // the serialised model in the object store
	Profile           *Ref               // its reference profile for the monitor (nil: none)
	Duration          time.Duration      // training time, stored in milliseconds
	CodeVersion       string
	Decision          *Decision // why it has its role; nil: not recorded

	// Kept by the registry; Register ignores them.
	Role       Role
	CreatedAt  time.Time
	PromotedAt time.Time // when it last became champion; zero: never
	ReplacedBy int       // the version that superseded it (Replace); 0: none
	// Generation is the run generation it was trained in (see
	// runner.Manifest.Generation).
	Generation string
	// Recipe names its preprocessing ("seed", "v2"); "": seed.
	Recipe string

	// Replace asks Register to supersede the run's current model when its
	// artifact differs (see Register); it is not stored.
	Replace bool
}

// Promotion is one change of champion.
type Promotion struct {
	ID     int64
	At     time.Time
	From   int // the champion before; 0: there was none
	To     int
	Reason string
	Actor  string // ActorTrain or ActorManual
}

// Registry is the model registry over one database.
type Registry struct {
	db DB
}

// Open migrates the registry's schema (concurrent-safe: callers starting
// together take turns under an advisory lock) and returns the registry.
// Predict opens it too, so that polling works before the first model.
func Open(ctx context.Context, db DB) (*Registry, error) {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("registry: open: %w", err)
	}
	if err := pg.Migrate(ctx, db, "registry", sub); err != nil {
		return nil, fmt.Errorf("registry: open: %w", err)
	}
	return &Registry{db: db}, nil
}

// Migrations are the registry's embedded schema migrations, in order.
func Migrations() ([]pg.Migration, error) {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	return pg.Migrations(sub)
}

// Advisory lock keys (two-int form; runs uses 0x41724301 for its steps).
const (
	runLockNS     int32 = 0x41724302 // + hashtext(run date/source): Register
	championLock1 int32 = 0x41724303 // with championLock2: changes of role
	championLock2 int32 = 1
)

func validate(m *Model) error {
	var bad []string
	if m.RunDate.IsZero() {
		bad = append(bad, "no run date")
	}
	if m.Algorithm != AlgorithmGBT && m.Algorithm != AlgorithmLogReg {
		bad = append(bad, fmt.Sprintf("algorithm %q (want %q or %q)", m.Algorithm, AlgorithmGBT, AlgorithmLogReg))
	}
	if m.Metrics == nil {
		bad = append(bad, "no metrics")
	}
	if m.TrainRows < 0 || m.TestRows < 0 {
		bad = append(bad, fmt.Sprintf("rows train=%d test=%d", m.TrainRows, m.TestRows))
	}
	if m.Artifact.Bucket == "" || m.Artifact.Key == "" || m.Artifact.ETag == "" {
		bad = append(bad, fmt.Sprintf("artifact %+v needs bucket, key and etag", m.Artifact))
	}
	if m.Duration < 0 {
		bad = append(bad, fmt.Sprintf("duration %v", m.Duration))
	}
	if len(m.Params) > 0 {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(m.Params, &obj); err != nil || obj == nil {
			bad = append(bad, "params are not a JSON object")
		}
	}
	for i, f := range m.Features {
		if f == "" {
			bad = append(bad, fmt.Sprintf("feature %d has no name", i))
			break
		}
	}
	for f, v := range m.FeatureImportance {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			bad = append(bad, fmt.Sprintf("importance of %q is %v", f, v))
			break
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w model: %s", ErrInvalid, strings.Join(bad, "; "))
	}
	return nil
}

// encoded is a model's JSON columns.
type encoded struct {
	params, metrics, importance, features, lineage, decision, profile []byte
}

func encode(m *Model) (encoded, error) {
	var e encoded
	var err error
	e.params = []byte(m.Params)
	if len(e.params) == 0 {
		e.params = []byte("{}")
	}
	if e.metrics, err = json.Marshal(m.Metrics); err != nil {
		return e, fmt.Errorf("%w metrics: %v", ErrInvalid, err)
	}
	imp := m.FeatureImportance
	if imp == nil {
		imp = map[string]float64{}
	}
	if e.importance, err = json.Marshal(imp); err != nil {
		return e, fmt.Errorf("%w feature importance: %v", ErrInvalid, err)
	}
	if e.features, err = json.Marshal(nonNil(m.Features)); err != nil {
		return e, fmt.Errorf("%w features: %v", ErrInvalid, err)
	}
	if e.lineage, err = json.Marshal(nonNil(m.Lineage)); err != nil {
		return e, fmt.Errorf("%w lineage: %v", ErrInvalid, err)
	}
	if m.Decision != nil {
		if e.decision, err = json.Marshal(m.Decision); err != nil {
			return e, fmt.Errorf("%w decision: %v", ErrInvalid, err)
		}
	}
	if m.Profile != nil {
		if e.profile, err = json.Marshal(m.Profile); err != nil {
			return e, fmt.Errorf("%w profile: %v", ErrInvalid, err)
		}
	}
	return e, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Register records m (Role challenger) and returns its version, created
// true. It is idempotent per (RunDate, Source): when that run already has a
// current model,
//
//   - with the same artifact ETag (a replayed event, or a retried train that
//     wrote identical bytes), Register changes nothing and returns the
//     existing version with created false;
//   - with another ETag it fails with ErrConflict, unless m.Replace is set:
//     then m is registered under a new version and the old model is marked
//     ReplacedBy it (a challenger becomes retired; a champion stays champion
//     until something else is promoted, so predict keeps serving).
//
// Register sets m.Version, m.Role and m.CreatedAt from the stored row; m's
// other fields are not compared on a replay.
func (r *Registry) Register(ctx context.Context, m *Model) (version int, created bool, err error) {
	src := m.Source
	if src == "" {
		src = SourcePipeline
	}
	day := chain.RunDate(m.RunDate)
	what := fmt.Sprintf("registry: register %s model of %s (%s)", m.Algorithm, day.Format(chain.DateLayout), src)
	if err := validate(m); err != nil {
		return 0, false, fmt.Errorf("%s: %w", what, err)
	}
	e, err := encode(m)
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", what, err)
	}
	err = r.inTx(ctx, func(tx pgx.Tx) error {
		// Serialise registrations of one run: the row to compare with may
		// not exist yet, so a row lock cannot do it.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, hashtext($2))",
			runLockNS, day.Format(chain.DateLayout)+"/"+src); err != nil {
			return fmt.Errorf("lock run: %w", err)
		}
		var old int
		var oldETag string
		var oldRole Role
		var oldCreated time.Time
		err := tx.QueryRow(ctx, `SELECT version, artifact_etag, role, created_at FROM models
			WHERE run_date = $1 AND source = $2 AND replaced_by IS NULL FOR UPDATE`, day, src).
			Scan(&old, &oldETag, &oldRole, &oldCreated)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			old = 0
		case err != nil:
			return fmt.Errorf("look up the run's model: %w", err)
		case oldETag == m.Artifact.ETag:
			version, created = old, false
			m.Version, m.Role, m.CreatedAt = old, oldRole, oldCreated
			return nil
		case !m.Replace:
			return fmt.Errorf("%w: v%d has artifact etag %q, this one %q (set Replace to supersede v%d)",
				ErrConflict, old, oldETag, m.Artifact.ETag, old)
		}
		var v int
		if err := tx.QueryRow(ctx, "SELECT nextval(pg_get_serial_sequence('models', 'version'))").Scan(&v); err != nil {
			return fmt.Errorf("next version: %w", err)
		}
		if old != 0 {
			// replaced_by's check is deferred to commit: v is inserted below.
			if _, err := tx.Exec(ctx, `UPDATE models SET replaced_by = $2,
				role = CASE role WHEN 'challenger' THEN 'retired' ELSE role END
				WHERE version = $1`, old, v); err != nil {
				return fmt.Errorf("supersede v%d: %w", old, err)
			}
		}
		recipe := m.Recipe
		if recipe == "" {
			recipe = "seed"
		}
		err = tx.QueryRow(ctx, `INSERT INTO models (version, run_date, source, algorithm, params,
			train_rows, test_rows, metrics, feature_importance, features, lineage,
			artifact_bucket, artifact_key, artifact_etag, duration_ms, code_version, role, decision,
			generation, artifact_version, recipe, profile)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 'challenger', $17, $18, $19, $20, $21)
			RETURNING created_at`,
			v, day, src, m.Algorithm, e.params, m.TrainRows, m.TestRows, e.metrics, e.importance,
			e.features, e.lineage, m.Artifact.Bucket, m.Artifact.Key, m.Artifact.ETag,
			m.Duration.Milliseconds(), m.CodeVersion, e.decision, m.Generation, m.Artifact.VersionID, recipe, e.profile).Scan(&m.CreatedAt)
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		version, created = v, true
		m.Version, m.Role = v, Challenger
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", what, err)
	}
	return version, created, nil
}

// inTx runs f in a transaction, committed when f returns nil.
func (r *Registry) inTx(ctx context.Context, f func(pgx.Tx) error) error {
	tx, err := r.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx)
	if err := f(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

const modelCols = `version, run_date, source, algorithm, params, train_rows, test_rows, metrics,
	feature_importance, features, lineage, artifact_bucket, artifact_key, artifact_etag,
	duration_ms, code_version, role, decision, created_at, promoted_at, replaced_by,
	generation, artifact_version, recipe, profile`

func scanModel(row pgx.Row) (*Model, error) {
	var (
		m                                                    Model
		params, mets, imp, feats, lineage, decision, profile []byte
		durationMS                                           int64
		promotedAt                                           *time.Time
		replacedBy                                           *int
	)
	if err := row.Scan(&m.Version, &m.RunDate, &m.Source, &m.Algorithm, &params, &m.TrainRows, &m.TestRows,
		&mets, &imp, &feats, &lineage, &m.Artifact.Bucket, &m.Artifact.Key, &m.Artifact.ETag,
		&durationMS, &m.CodeVersion, &m.Role, &decision, &m.CreatedAt, &promotedAt, &replacedBy,
		&m.Generation, &m.Artifact.VersionID, &m.Recipe, &profile); err != nil {
		return nil, err
	}
	m.Params = json.RawMessage(params)
	m.Duration = time.Duration(durationMS) * time.Millisecond
	if promotedAt != nil {
		m.PromotedAt = *promotedAt
	}
	if replacedBy != nil {
		m.ReplacedBy = *replacedBy
	}
	for _, c := range []struct {
		name string
		src  []byte
		dst  any
	}{
		{"metrics", mets, &m.Metrics},
		{"feature_importance", imp, &m.FeatureImportance},
		{"features", feats, &m.Features},
		{"lineage", lineage, &m.Lineage},
		{"decision", decision, &m.Decision},
		{"profile", profile, &m.Profile},
	} {
		if c.src == nil {
			continue
		}
		if err := json.Unmarshal(c.src, c.dst); err != nil {
			return nil, fmt.Errorf("decode v%d %s: %w", m.Version, c.name, err)
		}
	}
	return &m, nil
}

// queryModel returns the one model the query selects, or notFound.
func (r *Registry) queryModel(ctx context.Context, notFound error, where string, args ...any) (*Model, error) {
	m, err := scanModel(r.db.QueryRow(ctx, "SELECT "+modelCols+" FROM models WHERE "+where, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound
	}
	return m, err
}

// Get returns model version, or ErrNotFound.
func (r *Registry) Get(ctx context.Context, version int) (*Model, error) {
	m, err := r.queryModel(ctx, ErrNotFound, "version = $1", version)
	if err != nil {
		return nil, fmt.Errorf("registry: get v%d: %w", version, err)
	}
	return m, nil
}

// ByRunDate returns the current (not replaced) model the pipeline
// registered for run date d, or ErrNotFound.
func (r *Registry) ByRunDate(ctx context.Context, d time.Time) (*Model, error) {
	day := chain.RunDate(d)
	m, err := r.queryModel(ctx, ErrNotFound, "run_date = $1 AND source = $2 AND replaced_by IS NULL", day, SourcePipeline)
	if err != nil {
		return nil, fmt.Errorf("registry: model of %s: %w", day.Format(chain.DateLayout), err)
	}
	return m, nil
}

// Champion returns the champion, or ErrNoChampion before the first
// promotion.
func (r *Registry) Champion(ctx context.Context) (*Model, error) {
	m, err := r.queryModel(ctx, ErrNoChampion, "role = 'champion'")
	if err != nil {
		return nil, fmt.Errorf("registry: champion: %w", err)
	}
	return m, nil
}

// ChampionBefore returns the model that was champion most recently among
// those trained on run dates up to d: the champion as it stood when data
// dated from d on arrived, which it never trained on (a model of run date
// D learns from the 365 days before D). The current champion when it
// qualifies; after it, the one it replaced, and so on. ErrNoChampion when
// no such model was ever champion.
func (r *Registry) ChampionBefore(ctx context.Context, d time.Time) (*Model, error) {
	day := chain.RunDate(d)
	m, err := r.queryModel(ctx, ErrNoChampion, `version = (SELECT p.to_version FROM promotions p
		JOIN models m ON m.version = p.to_version WHERE m.run_date <= $1 ORDER BY p.id DESC LIMIT 1)`, day)
	if err != nil {
		return nil, fmt.Errorf("registry: champion before %s: %w", day.Format(chain.DateLayout), err)
	}
	return m, nil
}

// ChampionVersion returns the champion's version, or ErrNoChampion: one
// index-only lookup, cheap enough for predict to poll every few seconds.
func (r *Registry) ChampionVersion(ctx context.Context) (int, error) {
	var v int
	err := r.db.QueryRow(ctx, "SELECT version FROM models WHERE role = 'champion'").Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		err = ErrNoChampion
	}
	if err != nil {
		return 0, fmt.Errorf("registry: champion version: %w", err)
	}
	return v, nil
}

// List returns the newest limit models, newest first (limit <= 0: all).
func (r *Registry) List(ctx context.Context, limit int) ([]Model, error) {
	rows, err := r.db.Query(ctx, "SELECT "+modelCols+" FROM models ORDER BY version DESC LIMIT $1", nullLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("registry: list models: %w", err)
	}
	defer rows.Close()
	var out []Model
	for rows.Next() {
		m, err := scanModel(rows)
		if err != nil {
			return nil, fmt.Errorf("registry: list models: %w", err)
		}
		out = append(out, *m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: list models: %w", err)
	}
	return out, nil
}

// nullLimit maps limit <= 0 to SQL's LIMIT NULL (no limit).
func nullLimit(limit int) *int {
	if limit <= 0 {
		return nil
	}
	return &limit
}
