package predict_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/gbt"
	"github.com/arrestcast/arrestcast/shared/ml/linear"
	"github.com/arrestcast/arrestcast/shared/model"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
	"github.com/arrestcast/arrestcast/shared/model/recipev2"
	"github.com/arrestcast/arrestcast/shared/predict"
)

var (
	kindsOnce sync.Once
	kinds     map[string]string // kind → artifact file
	kindsErr  error
)

// artifactKinds builds, from the chain run of trained(), one small real artifact of each model
// predict serves: the seed recipe (the run's fitted preprocessing) with its logistic baseline and
// with trees, and recipe v2 (target encodings, calibration) — all fitted on the run's training
// records, written and loaded back as predict loads the champion.
func artifactKinds(t *testing.T) map[string]string {
	t.Helper()
	dir := trained(t)
	kindsOnce.Do(func() { kinds, kindsErr = buildKinds(dir) })
	if kindsErr != nil {
		t.Fatal(kindsErr)
	}
	return kinds
}

func buildKinds(dir string) (map[string]string, error) {
	ctx := context.Background()
	ready := filepath.Join(dir, "buckets", chain.DataBucket, "ml-ready-data", asOf)
	champion, err := os.ReadFile(filepath.Join(dir, "buckets", chain.ModelsBucket, "arrest", asOf, "model.json"))
	if err != nil {
		return nil, err
	}
	var base model.Artifact
	if err := json.Unmarshal(champion, &base); err != nil {
		return nil, err
	}
	rb, err := os.ReadFile(filepath.Join(ready, "recipe.json"))
	if err != nil {
		return nil, err
	}
	var rc recipe.Recipe
	if err := json.Unmarshal(rb, &rc); err != nil {
		return nil, err
	}
	if err := rc.Prepare(); err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(ready, "train_records.tbl"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, _ := f.Stat()
	records, err := table.ReadBinary(f, st.Size())
	if err != nil {
		return nil, err
	}
	// The seed's inputs of every training record, through the recipe predict replays.
	rd, err := recipe.NewReader(records)
	if err != nil {
		return nil, err
	}
	y, err := recipe.Labels(records)
	if err != nil {
		return nil, err
	}
	X := make([][]float64, len(rc.Features))
	enc, x := make([]float64, rc.Width()), make([]float64, len(rc.Features))
	var r recipe.Record
	for i := range records.Len() {
		rd.Read(i, &r)
		rc.Vector(&r, enc, x)
		for j, v := range x {
			X[j] = append(X[j], v)
		}
	}
	lr, err := linear.Fit(ctx, X, y, linear.DefaultOptions())
	if err != nil {
		return nil, err
	}
	p := gbt.DefaultParams()
	p.NumTrees, p.MaxLeaves = 40, 31
	trees, err := gbt.Fit(ctx, X, y, p)
	if err != nil {
		return nil, err
	}
	// v2 validates and calibrates on the newest month, as train does.
	dates, err := records.Lookup(crime.ColDate, table.Time)
	if err != nil {
		return nil, err
	}
	var older, newest []int
	for i, d := range dates.Times {
		if d >= 1512086400 { // 2017-12-01
			newest = append(newest, i)
		} else {
			older = append(older, i)
		}
	}
	q := recipev2.DefaultParams()
	q.NumTrees = 40
	fitted, err := recipev2.Fit(ctx, records.Select(older), records.Select(newest), recipev2.Options{Params: &q})
	if err != nil {
		return nil, err
	}
	arts := map[string]*model.Artifact{
		"seed-logreg": {Format: model.Format, Algorithm: model.LogReg, Threshold: 0.5, Recipe: &rc, LogReg: lr},
		"seed-gbt":    {Format: model.Format, Algorithm: model.GBT, Threshold: 0.5, Recipe: &rc, GBT: trees},
		"v2":          model.FromV2(fitted),
	}
	out := map[string]string{}
	for k, a := range arts {
		a.RunDate, a.Stations = asOf, base.Stations
		b, err := a.Marshal()
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, k+".json")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return nil, err
		}
		out[k] = path
	}
	return out, nil
}

func serverOf(t *testing.T, path string) *predict.Server {
	t.Helper()
	s := predict.NewServer(predict.FileLoader{Path: path}, nil)
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func postQuery(s *predict.Server, query, body string) (int, map[string]any) {
	res := s.Handle(handler.Request{Method: http.MethodPost, QueryString: query, Body: []byte(body)})
	var out map[string]any
	_ = json.Unmarshal(res.Body, &out)
	return res.StatusCode, out
}

// checkExplanation: the answer's explanation adds up to its margin, lists k of the model's inputs by
// decreasing |contribution|, and (uncalibrated models) its margin gives the probability answered.
func checkExplanation(t *testing.T, kind string, names []string, pred map[string]any, k int) {
	t.Helper()
	e, ok := pred["explanation"].(map[string]any)
	if !ok {
		t.Fatalf("%s: no explanation in %v", kind, pred)
	}
	cs := e["contributions"].([]any)
	other := e["other"].(map[string]any)
	if len(cs) != k || int(other["count"].(float64)) != len(names)-k || e["space"] != "log_odds" {
		t.Fatalf("%s: %d contributions, other %v, space %v; want %d of %d", kind, len(cs), other, e["space"], k, len(names))
	}
	sum := e["bias"].(float64) + other["contribution"].(float64)
	prev := math.Inf(1)
	seen := map[string]bool{}
	for _, c := range cs {
		cm := c.(map[string]any)
		v := cm["contribution"].(float64)
		name := cm["feature"].(string)
		if !slices.Contains(names, name) || seen[name] || math.Abs(v) > prev {
			t.Fatalf("%s: contributions %v (inputs %v)", kind, cs, names)
		}
		seen[name], prev = true, math.Abs(v)
		sum += v
	}
	margin := e["margin"].(float64)
	if math.Abs(sum-margin) > 1e-9 {
		t.Errorf("%s: bias + Σ contributions + other = %v, margin %v", kind, sum, margin)
	}
	p := pred["arrest_probability"].(float64)
	if calibrated := e["calibrated"].(bool); calibrated != (kind == "v2") {
		t.Errorf("%s: calibrated %v", kind, calibrated)
	} else if !calibrated && math.Abs(1/(1+math.Exp(-margin))-p) > 1e-6 {
		t.Errorf("%s: σ(margin %v) ≠ probability %v", kind, margin, p)
	}
}

func TestExplainEveryRecipe(t *testing.T) {
	for kind, path := range artifactKinds(t) {
		t.Run(kind, func(t *testing.T) {
			s := serverOf(t, path)
			names := s.Model().P.A.Features()
			_, plain := post(s, record)
			for _, c := range []struct {
				query string
				k     int
			}{{"explain", min(5, len(names))}, {"explain=", min(5, len(names))}, {"explain=1", 1},
				{"explain=" + strconv.Itoa(len(names)), len(names)}, {"explain=2&other=x", 2}} {
				status, got := postQuery(s, c.query, record)
				if status != 200 {
					t.Fatalf("?%s: %d %v", c.query, status, got)
				}
				// The prediction is the plain answer's, the explanation beside it.
				for key, v := range plain {
					if got[key] != v {
						t.Errorf("?%s: %s %v, plain answer %v", c.query, key, got[key], v)
					}
				}
				checkExplanation(t, kind, names, got, c.k)
			}
			// An array: one explanation per record, in order, the predictions as without.
			batch := "[" + record + "," + strings.Replace(record, "NARCOTICS", "THEFT", 1) + "]"
			_, plainMany := post(s, batch)
			status, many := postQuery(s, "explain=3", batch)
			preds, _ := many["predictions"].([]any)
			if status != 200 || len(preds) != 2 {
				t.Fatalf("array: %d %v", status, many)
			}
			for i, pr := range preds {
				pm := pr.(map[string]any)
				if pm["arrest_probability"] != plainMany["predictions"].([]any)[i].(map[string]any)["arrest_probability"] {
					t.Errorf("array %d: %v, plain %v", i, pm, plainMany["predictions"].([]any)[i])
				}
				checkExplanation(t, kind, names, pm, 3)
			}
			// Without ?explain the answer is the existing one.
			if _, ok := plain["explanation"]; ok {
				t.Errorf("plain answer explains: %v", plain)
			}
		})
	}
}

func TestExplainRefusals(t *testing.T) {
	s := serverOf(t, artifactKinds(t)["seed-gbt"])
	n := len(s.Model().P.A.Features())
	for _, q := range []string{"explain=0", "explain=-1", "explain=" + strconv.Itoa(n+1), "explain=abc", "explain=2.5", "explain=all"} {
		status, out := postQuery(s, q, record)
		if status != 400 || out["parameter"] != "explain" || !strings.HasPrefix(out["error"].(string), "explain: ") {
			t.Errorf("?%s: %d %v, want 400 naming explain", q, status, out)
		}
	}
	// A bad record is refused as without ?explain, naming the field.
	if status, out := postQuery(s, "explain", `{"date":"2017-06-04T13:00:00"}`); status != 400 || out["field"] != "x_coordinate" {
		t.Errorf("bad record with ?explain: %d %v", status, out)
	}
	big := "[" + strings.Repeat(record+",", predict.MaxExplainRecords) + record + "]"
	if status, out := postQuery(s, "explain", big); status != 400 || out["parameter"] != "explain" {
		t.Errorf("%d records with ?explain: %d %v", predict.MaxExplainRecords+1, status, out)
	}
	// Other query parameters leave the answer as it was.
	if status, out := postQuery(s, "verbose=1", record); status != 200 || out["explanation"] != nil {
		t.Errorf("?verbose=1: %d %v", status, out)
	}
}

// A model from before explanations (no covers, no means) predicts as before and answers ?explain
// with 409.
func TestExplainOldModel(t *testing.T) {
	for _, kind := range []string{"seed-gbt", "seed-logreg", "v2"} {
		b, err := os.ReadFile(artifactKinds(t)[kind])
		if err != nil {
			t.Fatal(err)
		}
		var a map[string]any
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatal(err)
		}
		if g, ok := a["gbt"].(map[string]any); ok {
			delete(g, "cover")
		}
		if l, ok := a["logreg"].(map[string]any); ok {
			delete(l, "means")
		}
		b, _ = json.Marshal(a)
		path := filepath.Join(t.TempDir(), "old.json")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		s := serverOf(t, path)
		if status, out := post(s, record); status != 200 || out["explanation"] != nil {
			t.Errorf("%s: plain predict %d %v", kind, status, out)
		}
		if status, out := postQuery(s, "explain", record); status != http.StatusConflict || !strings.Contains(out["error"].(string), "retrain") {
			t.Errorf("%s: ?explain on an old model: %d %v", kind, status, out)
		}
	}
}

// BenchmarkPredictExplain is predict's handler per record with and without ?explain, for each
// recipe (ns/record; batches of 100 records, the most ?explain takes).
func BenchmarkPredictExplain(b *testing.B) {
	t := &testing.T{}
	paths := artifactKinds(t)
	batch := "[" + strings.Repeat(record+",", predict.MaxExplainRecords-1) + record + "]"
	for _, kind := range []string{"seed-logreg", "seed-gbt", "v2"} {
		s := serverOf(t, paths[kind])
		for _, q := range []string{"", "explain"} {
			name := kind + "/plain"
			if q != "" {
				name = kind + "/explain"
			}
			b.Run(name, func(b *testing.B) {
				req := handler.Request{Method: http.MethodPost, QueryString: q, Body: []byte(batch)}
				for b.Loop() {
					if res := s.Handle(req); res.StatusCode != 200 {
						b.Fatalf("%d %s", res.StatusCode, res.Body)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*predict.MaxExplainRecords), "ns/record")
			})
		}
	}
}
