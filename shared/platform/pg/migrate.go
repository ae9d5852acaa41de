package pg

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Migration is one numbered schema change, NNNN_name.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the migrations NNNN_name.sql at the root of fsys (use
// fs.Sub for a directory of an embed.FS), in version order.
func Migrations(fsys fs.FS) ([]Migration, error) {
	return readMigrations("migrations", fsys, ".")
}

func readMigrations(component string, fsys fs.FS, dir string) ([]Migration, error) {
	files, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return nil, fmt.Errorf("%s: list migrations: %w", component, err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, f := range files {
		base := strings.TrimSuffix(path.Base(f), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("%s: migration %s: want NNNN_name.sql", component, f)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("%s: migrations %s and %s share version %d", component, prev, f, v)
		}
		seen[v] = f
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("%s: read migration %s: %w", component, f, err)
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// migrateLock is the advisory lock key (one bigint) held while migrating.
const migrateLock int64 = 0x4172724361737401 // "ArrCast\x01"

// componentName is what Migrate accepts as a component: it becomes part of
// a table name.
var componentName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// Migrate brings a component's schema up to date: it applies, in one
// transaction and in version order, every migration NNNN_name.sql at the
// root of fsys not yet recorded in the component's table of applied
// versions, <component>_schema_migrations (run tracking's is plain
// schema_migrations: it was the first). Each component numbers its
// migrations on its own. A transaction-scoped advisory lock, the same for
// every component, serialises functions that start together, so each
// migration runs exactly once.
func Migrate(ctx context.Context, db DB, component string, fsys fs.FS) error {
	if !componentName.MatchString(component) {
		return fmt.Errorf("migrate: component %q: want [a-z][a-z0-9_]*", component)
	}
	ms, err := readMigrations(component, fsys, ".")
	if err != nil {
		return err
	}
	table := component + "_schema_migrations"
	if component == "runs" {
		table = "schema_migrations"
	}
	return migrate(ctx, db, component, table, ms)
}

// migrate applies ms not yet recorded in table (a trusted identifier).
func migrate(ctx context.Context, db DB, component, table string, ms []Migration) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("%s: migrate: %w", component, err)
	}
	defer tx.Rollback(ctx)
	// The lock comes before CREATE TABLE IF NOT EXISTS, which is not safe
	// against itself when run concurrently.
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLock); err != nil {
		return fmt.Errorf("%s: migrate: take lock: %w", component, err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (
		version    int         PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("%s: migrate: create %s: %w", component, table, err)
	}
	rows, err := tx.Query(ctx, "SELECT version FROM "+table)
	if err != nil {
		return fmt.Errorf("%s: migrate: read applied versions: %w", component, err)
	}
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("%s: migrate: read applied versions: %w", component, err)
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: migrate: read applied versions: %w", component, err)
	}
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("%s: migration %04d_%s: %w", component, m.Version, m.Name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+table+" (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
			return fmt.Errorf("%s: record migration %04d: %w", component, m.Version, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("%s: migrate: commit: %w", component, err)
	}
	return nil
}
