//go:build integration

package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/arrestcast/arrestcast/internal/testenv"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/ml/metrics"
	"github.com/arrestcast/arrestcast/shared/platform/registry"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
)

// seeded is a database holding months of monthly runs and their models,
// written through the run tracker and the registry as the chain writes
// them, with outcomes a real history has:
//   - month 4's enrich fails once (its error names a secret's path and a
//     database URL with a password) and succeeds on its retry;
//   - the second-to-last run fails permanently at features;
//   - the last run is still in train.
//
// The tracker stamps attempts with now(); the seed then spreads them as a
// monthly schedule would (12:00 UTC on the 1st, the steps' usual
// durations), so time lines and trends have something to draw.
type seeded struct {
	pool      *pgxpool.Pool
	url       string
	start     time.Time
	months    int
	models    int // registered versions
	champion  int
	secretErr string // the failure's message as stored
}

const seedCode = "c0ffee1"

// stepSeconds are typical seconds of each step at the real data's size.
var stepSeconds = map[string]float64{"download": 6, "merge": 2.5, "enrich": 3.2, "split": 1.8, "outliers": 1.1,
	"encode": 2.2, "scale": 1.4, "balance": 4.5, "features": 5.5, "train": 38}

func seed(t testing.TB, months int) *seeded {
	t.Helper()
	ctx := context.Background()
	pg := testenv.Postgres(t)
	pool, err := pgxpool.New(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	tr := runs.New(pool, runs.Options{CodeVersion: seedCode, FinalStep: "train", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := tr.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Open(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	s := &seeded{pool: pool, url: pg.URL, start: time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC), months: months,
		secretErr: "enrich: read secret arrestcast-database-url in /var/openfaas/secrets: dial postgres://dash:hunter2@db:5432/arrestcast: connection refused"}
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range months {
		d := s.start.AddDate(0, i, 0)
		clock := d.Add(12 * time.Hour)
		for _, step := range chain.RunStepNames() {
			in := []runs.Ref{{Bucket: "data", Key: fmt.Sprintf("in/%s/%s/manifest.json", step, d.Format(chain.DateLayout)), ETag: fmt.Sprintf("%08x", rng.Uint32())}}
			begin := func() *runs.StepRun {
				r, outcome, err := tr.Begin(ctx, d, step, in, time.Hour)
				if err != nil || outcome != runs.Started {
					t.Fatalf("begin %s %s: %v %v", step, d, outcome, err)
				}
				return r
			}
			r := begin()
			took := stepSeconds[step] * (1 + 0.15*rng.NormFloat64()) * (1 + float64(i)/60)
			if i == 3 && step == "enrich" {
				if err := tr.Fail(ctx, r, fmt.Errorf("%s", s.secretErr), false); err != nil {
					t.Fatal(err)
				}
				shape(t, pool, r.ID, clock, 0.8)
				clock = clock.Add(30 * time.Second)
				r = begin()
			}
			if i == months-2 && step == "features" {
				if err := tr.Fail(ctx, r, fmt.Errorf("features: no column keeps any information (0 of 212 selected)"), true); err != nil {
					t.Fatal(err)
				}
				shape(t, pool, r.ID, clock, took)
				break
			}
			if i == months-1 && step == "train" {
				if _, err := pool.Exec(ctx, `UPDATE step_runs SET started_at = $2 WHERE id = $1`, r.ID, clock); err != nil {
					t.Fatal(err)
				}
				break
			}
			rowsIn := int64(260000 + 1000*i + rng.IntN(4000))
			rejects := int64(0)
			if step == "enrich" {
				rejects = int64(2500 + rng.IntN(300))
			}
			out := []runs.Ref{{Bucket: "data", Key: fmt.Sprintf("out/%s/%s/manifest.json", step, d.Format(chain.DateLayout)), ETag: fmt.Sprintf("%08x", rng.Uint32())}}
			if err := tr.Finish(ctx, r, runs.Stats{RowsIn: rowsIn, RowsOut: rowsIn - rejects, Rejects: rejects, Outputs: out}); err != nil {
				t.Fatal(err)
			}
			shape(t, pool, r.ID, clock, took)
			clock = clock.Add(time.Duration((took + 0.4) * float64(time.Second)))
			if step == "train" {
				s.register(t, ctx, reg, rng, d, i)
			}
		}
		if _, err := pool.Exec(ctx, `UPDATE pipeline_runs SET started_at = $2,
			finished_at = CASE WHEN finished_at IS NULL THEN NULL ELSE $3::timestamptz END WHERE run_date = $1`,
			d, d.Add(12*time.Hour), clock); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// shape sets an attempt's times: started at start, took seconds.
func shape(t testing.TB, pool *pgxpool.Pool, id int64, start time.Time, took float64) {
	t.Helper()
	end := start.Add(time.Duration(took * float64(time.Second)))
	if _, err := pool.Exec(context.Background(), `UPDATE step_runs SET started_at = $2, finished_at = $3, duration_ms = $4 WHERE id = $1`,
		id, start, end, int64(took*1000)); err != nil {
		t.Fatal(err)
	}
}

// register records month i's model: metrics of synthetic scores whose
// quality wanders, decided against the champion as train decides.
func (s *seeded) register(t testing.TB, ctx context.Context, reg *registry.Registry, rng *rand.Rand, d time.Time, i int) {
	t.Helper()
	n := 4000
	y := make([]uint8, n)
	p := make([]float64, n)
	sep := 2.6 + 0.4*math.Sin(float64(i)/2) + 0.1*rng.NormFloat64()
	for k := range y {
		if rng.Float64() < 0.2 {
			y[k] = 1
		}
		z := sep*(float64(y[k])-0.5) + rng.NormFloat64() - 0.8
		p[k] = 1 / (1 + math.Exp(-z))
	}
	rep, err := metrics.NewReport(y, p, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	imp := map[string]float64{}
	for f := range 60 {
		imp[fmt.Sprintf("feature_%02d", f)] = 1000 * math.Exp(-float64(f)/8) * (1 + 0.2*rng.Float64())
	}
	features := make([]string, 0, 60)
	for f := range 60 {
		if f != i%7 { // a feature or two come and go between months
			features = append(features, fmt.Sprintf("feature_%02d", f))
		}
	}
	params, _ := json.Marshal(map[string]any{"num_trees": 200 + 10*(i%5), "learning_rate": 0.05, "max_leaves": 63, "min_child_weight": 3})
	m := &registry.Model{RunDate: d, Algorithm: registry.AlgorithmGBT, Params: params, TrainRows: int64(200000 + 500*i), TestRows: int64(n),
		Metrics: rep, FeatureImportance: imp, Features: features, Duration: 38 * time.Second, CodeVersion: seedCode,
		Lineage:  []registry.Ref{{Bucket: "data", Key: "ml-ready-data/" + d.Format(chain.DateLayout) + "/manifest.json", ETag: fmt.Sprintf("%08x", rng.Uint32())}},
		Artifact: registry.Ref{Bucket: "models", Key: "arrest/" + d.Format(chain.DateLayout) + "/model.json", ETag: fmt.Sprintf("%08x", rng.Uint32())}}
	scores := registry.Scores{ROCAUC: rep.ROCAUC, AveragePrecision: rep.AveragePrecision}
	champ, champScores := 0, registry.NoChampion
	if c, err := reg.Champion(ctx); err == nil {
		champ, champScores = c.Version, registry.Scores{ROCAUC: c.Metrics.ROCAUC, AveragePrecision: c.Metrics.AveragePrecision}
	}
	dec := registry.Judge(scores, champ, champScores)
	m.Decision = &dec
	v, _, err := reg.Register(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	s.models++
	if dec.Promote {
		if err := reg.PromoteIfChampion(ctx, v, champ, dec.Reason, registry.ActorTrain); err != nil {
			t.Fatal(err)
		}
		s.champion = v
	}
}
