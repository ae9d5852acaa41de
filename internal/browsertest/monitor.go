package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/arrestcast/arrestcast/shared/dashboard"
)

// The monitor (issue 17) has not landed: until it does, the drift and
// realized-metric pages are exercised on sample reports written here into
// the monitor step's own table (shared/steps/monitor/migrations/0001_init.sql).
// They are labelled as samples wherever they are shown; their PSI values
// are computed from their own bins, so each report is consistent.

// SampleMonitor creates monitor_reports from schemaFile and writes a report
// per month, scored by version, the n months ending with last.
func SampleMonitor(ctx context.Context, db Execer, schemaFile string, last time.Time, n, version int, testAUC float64) error {
	ddl, err := os.ReadFile(schemaFile)
	if err != nil {
		return err
	}
	if _, err := db.Exec(ctx, string(ddl)); err != nil {
		return fmt.Errorf("create monitor_reports: %w", err)
	}
	rng := rand.New(rand.NewPCG(42, 17))
	type spec struct {
		name, kind, input string
		bins              []string
		drift             float64 // how fast it shifts, per month
	}
	numeric := []string{"≤ p10", "p10–20", "p20–30", "p30–40", "p40–50", "p50–60", "p60–70", "p70–80", "p80–90", "> p90"}
	fields := []spec{
		{"primary_type", "categorical", "raw", []string{"THEFT", "BATTERY", "CRIMINAL DAMAGE", "ASSAULT", "DECEPTIVE PRACTICE", "OTHER OFFENSE", "NARCOTICS", "BURGLARY", "other"}, 0.2},
		{"location_description", "categorical", "raw", []string{"STREET", "RESIDENCE", "APARTMENT", "SIDEWALK", "OTHER", "PARKING LOT", "RESTAURANT", "other"}, 0.035},
		{"iucr", "categorical", "raw", []string{"0486", "0820", "0460", "1320", "0810", "2027", "other"}, 0.05},
		{"fbi_code", "categorical", "raw", []string{"06", "08B", "14", "26", "08A", "11", "other"}, 0.03},
		{"district", "categorical", "raw", []string{"011", "008", "006", "004", "007", "025", "other"}, 0.008},
		{"domestic", "categorical", "raw", []string{"false", "true"}, 0.004},
		{"hour", "numeric", "model", numeric, 0.01},
		{"x_coordinate", "numeric", "raw", numeric, 0.006},
		{"y_coordinate", "numeric", "raw", numeric, 0.006},
		{"distance_to_station", "numeric", "model", numeric, 0.025},
		{"community_area", "categorical", "raw", []string{"25", "8", "43", "23", "28", "29", "other"}, 0.012},
		{"ward", "categorical", "raw", []string{"28", "42", "24", "27", "6", "other"}, 0.01},
	}
	const warn, alert, ksAlert = 0.1, 0.25, 0.1
	ref := make([][]float64, len(fields))
	for i, f := range fields {
		ref[i] = normal(rng, len(f.bins))
	}
	month := time.Date(last.Year(), last.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -(n - 1), 0)
	for m := 0; m < n; m, month = m+1, month.AddDate(0, 1, 0) {
		var out []dashboard.FieldDrift
		drifted, worst, worstPSI := 0, "", -1.0
		for i, f := range fields {
			cur := make([]float64, len(ref[i]))
			total := 0.0
			for k := range cur {
				// A steady shift towards the first bins, plus month noise.
				tilt := 1 + f.drift*float64(m)*float64(len(cur)-k)/float64(len(cur))*4
				cur[k] = ref[i][k] * tilt * (1 + 0.06*rng.NormFloat64())
				cur[k] = max(cur[k], 1e-4)
				total += cur[k]
			}
			for k := range cur {
				cur[k] /= total
			}
			p := psi(ref[i], cur)
			fd := dashboard.FieldDrift{Field: f.name, Kind: f.kind, Input: f.input, PSI: &p, MissingRef: 0.002, MissingCur: 0.002 + 0.001*rng.Float64(), Status: "ok"}
			if f.kind == "numeric" {
				ks := ksOf(ref[i], cur)
				fd.KS = &ks
			}
			switch {
			case p >= alert || (fd.KS != nil && *fd.KS >= ksAlert):
				fd.Status = "alert"
			case p >= warn:
				fd.Status = "warn"
			}
			if fd.Status != "ok" {
				drifted++
			}
			if p > worstPSI {
				worst, worstPSI = f.name, p
			}
			for k, label := range f.bins {
				fd.Bins = append(fd.Bins, dashboard.DriftBin{Label: label, Ref: ref[i][k], Cur: cur[k]})
			}
			out = append(out, fd)
		}
		volume := 22000 + rng.IntN(2500)
		alerts := []dashboard.MonitorNote{}
		if m == n-3 {
			volume = volume * 3 / 10 // a broken month: 30 % of the usual rows
			alerts = append(alerts, dashboard.MonitorNote{Kind: "volume", Message: fmt.Sprintf("%d records, 30%% of the usual", volume)})
		}
		realAUC := testAUC - 0.0025*float64(m) + 0.004*rng.NormFloat64()
		if testAUC-realAUC > 0.02 {
			alerts = append(alerts, dashboard.MonitorNote{Kind: "performance", Message: fmt.Sprintf("realized ROC-AUC %.4f, %.4f below the champion's test ROC-AUC", realAUC, testAUC-realAUC)})
		}
		for _, f := range out {
			if f.Status == "alert" {
				alerts = append(alerts, dashboard.MonitorNote{Kind: "drift", Message: fmt.Sprintf("%s PSI %.3f", f.Field, f.PSIOr(0))})
			}
		}
		verdict := "ok"
		switch {
		case len(alerts) > 0:
			verdict = "alert"
		case drifted > 0:
			verdict = "warn"
		}
		rate := 0.19 - 0.002*float64(m) + 0.005*rng.NormFloat64()
		predPSI := 0.01 + 0.006*float64(m)
		ptr := func(v float64) *float64 { return &v }
		realized := dashboard.Realized{Rows: int64(volume), Positives: int64(rate * float64(volume)), ROCAUC: ptr(realAUC),
			AveragePrecision: ptr(realAUC - 0.12), LogLoss: ptr(0.26 + 0.004*float64(m)), Brier: ptr(0.075 + 0.001*float64(m)),
			MeanPredicted: ptr(rate + 0.01), ObservedRate: ptr(rate), MCC: ptr(0.64 - 0.004*float64(m)), Threshold: ptr(0.5)}
		fj, _ := json.Marshal(out)
		aj, _ := json.Marshal(alerts)
		rj, _ := json.Marshal(realized)
		if _, err := db.Exec(ctx, `INSERT INTO monitor_reports (month, model_version, computed_at, verdict, volume, rejects,
			usual_volume, arrest_rate, reference_arrest_rate, prediction_psi, drifted_share, worst_field,
			psi_warn, psi_alert, ks_alert, test_roc_auc, realized, fields, alerts)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
			month, version, month.AddDate(0, 1, 0).Add(12*time.Hour+10*time.Minute), verdict, volume, rng.IntN(40),
			22500.0, rate, 0.192, predPSI, float64(drifted)/float64(len(fields)), worst,
			warn, alert, ksAlert, testAUC, rj, fj, aj); err != nil {
			return fmt.Errorf("insert a sample report: %w", err)
		}
	}
	return nil
}

// Execer runs statements: *pgx.Conn, *pgxpool.Pool.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// normal is n shares summing to 1, decreasing like a category mix.
func normal(rng *rand.Rand, n int) []float64 {
	out := make([]float64, n)
	t := 0.0
	for i := range out {
		out[i] = (1 + 0.3*rng.Float64()) / float64(i+2)
		t += out[i]
	}
	for i := range out {
		out[i] /= t
	}
	return out
}

// psi is Σ (cur − ref)·ln(cur/ref) with shares floored at 1e-4.
func psi(ref, cur []float64) float64 {
	s := 0.0
	for i := range ref {
		r, c := max(ref[i], 1e-4), max(cur[i], 1e-4)
		s += (c - r) * math.Log(c/r)
	}
	return s
}

// ksOf is the largest gap between the cumulative shares.
func ksOf(ref, cur []float64) float64 {
	a, b, d := 0.0, 0.0, 0.0
	for i := range ref {
		a, b = a+ref[i], b+cur[i]
		d = max(d, math.Abs(a-b))
	}
	return d
}
