package predict_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/filesource"
	"github.com/arrestcast/arrestcast/internal/repo"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/internal/steps"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/model"
	"github.com/arrestcast/arrestcast/shared/platform/store"
	"github.com/arrestcast/arrestcast/shared/predict"
	"github.com/arrestcast/arrestcast/shared/runner"
	"github.com/arrestcast/arrestcast/shared/steps/train"
)

var (
	crimesFile   = repo.Path(repo.Crimes2017)
	stationsFile = repo.Path(repo.Stations)
	asOf         = "2018-01-01"
)

var (
	once    sync.Once
	out     string
	onceErr error
)

// trained runs the whole chain in-process on every 8th crime of 2017 and
// returns the folder holding its buckets (shared by the tests of this file).
func trained(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(crimesFile); err != nil {
		t.Skipf("needs %s (the repository's bundled data): %v", crimesFile, err)
	}
	once.Do(func() {
		dir, err := os.MkdirTemp("", "serve-test-")
		if err != nil {
			onceErr = err
			return
		}
		out = dir
		slice := filepath.Join(dir, "crimes.csv")
		if onceErr = thin(crimesFile, slice, 8); onceErr != nil {
			return
		}
		st, err := store.NewDir(filepath.Join(dir, "buckets"))
		if err != nil {
			onceErr = err
			return
		}
		ctx := context.Background()
		for _, b := range []string{chain.DataBucket, chain.ModelsBucket} {
			if onceErr = st.EnsureBucket(ctx, b); onceErr != nil {
				return
			}
		}
		env := &runner.Env{Store: st, Buckets: chain.DefaultBuckets}
		steps := steps.All(steps.Options{Source: &filesource.Source{CrimesPath: slice, StationsPath: stationsFile},
			Train: train.Options{Budget: time.Second}})
		date, _ := chain.ParseRunDate(asOf)
		onceErr = runner.RunAll(ctx, env, steps, date, "", "", nil, nil)
	})
	if onceErr != nil {
		t.Fatal(onceErr)
	}
	return out
}

// thin writes the header and every k-th record of a gzipped portal export.
func thin(src, dst string, k int) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	w, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer w.Close()
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for i := 0; sc.Scan(); i++ {
		if i == 0 || i%k == 0 {
			if _, err := w.WriteString(sc.Text() + "\n"); err != nil {
				return err
			}
		}
	}
	return sc.Err()
}

func server(t *testing.T) *predict.Server {
	dir := trained(t)
	s := predict.NewServer(predict.FileLoader{Path: filepath.Join(dir, "buckets", chain.ModelsBucket, "arrest", asOf, "model.json")}, nil)
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func post(s *predict.Server, body string) (int, map[string]any) {
	res := s.Handle(handler.Request{Method: http.MethodPost, Body: []byte(body)})
	var out map[string]any
	_ = json.Unmarshal(res.Body, &out)
	return res.StatusCode, out
}

const record = `{"date":"2017-06-04T13:00:00.000","primary_type":"NARCOTICS","iucr":"2027","location_description":"STREET",
"domestic":false,"beat":"1123","district":"011","ward":"28","community_area":"26","fbi_code":"18",
"x_coordinate":"1149421","y_coordinate":"1903366","latitude":"41.880612","longitude":"-87.720546"}`

func TestPredictOneAndMany(t *testing.T) {
	s := server(t)
	status, one := post(s, record)
	if status != 200 || one["model_version"].(float64) != 1 || one["threshold"].(float64) != 0.5 {
		t.Fatalf("one record: %d %v", status, one)
	}
	p := one["arrest_probability"].(float64)
	if p < 0 || p > 1 || one["arrest"].(bool) != (p >= 0.5) {
		t.Fatalf("one record: %v", one)
	}
	status, many := post(s, "["+record+","+strings.Replace(record, "NARCOTICS", "THEFT", 1)+"]")
	preds := many["predictions"].([]any)
	if status != 200 || len(preds) != 2 || preds[0].(map[string]any)["arrest_probability"].(float64) != p {
		t.Fatalf("array: %d %v", status, many)
	}
}

// The same crime located by X/Y or by latitude/longitude only gets (nearly)
// the same probability: the projection puts it within a foot or so.
func TestLatLonMatchesXY(t *testing.T) {
	s := server(t)
	var rec map[string]any
	if err := json.Unmarshal([]byte(record), &rec); err != nil {
		t.Fatal(err)
	}
	xyOnly, llOnly := map[string]any{}, map[string]any{}
	for k, v := range rec {
		if k != "latitude" && k != "longitude" {
			xyOnly[k] = v
		}
		if k != "x_coordinate" && k != "y_coordinate" {
			llOnly[k] = v
		}
	}
	a, _ := json.Marshal(xyOnly)
	b, _ := json.Marshal(llOnly)
	_, pa := post(s, string(a))
	_, pb := post(s, string(b))
	if d := math.Abs(pa["arrest_probability"].(float64) - pb["arrest_probability"].(float64)); d > 0.01 {
		t.Errorf("x/y %v vs lat/lon %v", pa, pb)
	}
}

func TestBadInput(t *testing.T) {
	s := server(t)
	cases := []struct {
		body, field string
		index       int
	}{
		{`{`, "body", -1},
		{`"text"`, "body", -1},
		{`{"x_coordinate":1149421,"y_coordinate":1903366}`, "date", -1},
		{`{"date":"yesterday","x_coordinate":1149421,"y_coordinate":1903366}`, "date", -1},
		{`{"date":12,"x_coordinate":1149421,"y_coordinate":1903366}`, "date", -1},
		{`{"date":"2017-06-04T13:00:00"}`, "x_coordinate", -1},
		{`{"date":"2017-06-04T13:00:00","x_coordinate":1,"y_coordinate":2}`, "x_coordinate", -1},
		{`{"date":"2017-06-04T13:00:00","latitude":48.8,"longitude":2.35}`, "latitude", -1},
		{`{"date":"2017-06-04T13:00:00","x_coordinate":"abc","y_coordinate":1903366}`, "x_coordinate", -1},
		{`{"date":"2017-06-04T13:00:00","x_coordinate":1149421,"y_coordinate":1903366,"domestic":"maybe"}`, "domestic", -1},
		{`{"date":"2017-06-04T13:00:00","x_coordinate":1149421,"y_coordinate":1903366,"beat":[1]}`, "beat", -1},
		{`{"date":"2017-06-04T13:00:00","x_coordinate":1149421,"y_coordinate":1903366,"primary_type":7}`, "primary_type", -1},
		{`[` + record + `,{"date":"2017-06-04T13:00:00"}]`, "x_coordinate", 1},
		{`[]`, "body", -1},
	}
	for _, c := range cases {
		status, out := post(s, c.body)
		if status != 400 || out["field"] != c.field {
			t.Errorf("%s: %d %v, want 400 naming %s", c.body, status, out, c.field)
			continue
		}
		idx, has := out["index"]
		if (c.index >= 0) != has || (has && int(idx.(float64)) != c.index) {
			t.Errorf("%s: index %v, want %d", c.body, idx, c.index)
		}
		if msg, _ := out["error"].(string); strings.Contains(msg, "/") && strings.Contains(msg, ".go") {
			t.Errorf("%s: error leaks internals: %s", c.body, msg)
		}
	}
	// An unknown primary type is not an error: unseen categories encode as in training.
	if status, out := post(s, strings.Replace(record, "NARCOTICS", "SPACE PIRACY", 1)); status != 200 {
		t.Errorf("unknown primary type: %d %v", status, out)
	}
	big := "[" + strings.Repeat(record+",", predict.MaxRecords) + record + "]"
	if status, out := post(s, big); status != 400 || out["field"] != "body" {
		t.Errorf("%d records: %d %v", predict.MaxRecords+1, status, out)
	}
	huge := `{"date":"` + strings.Repeat("x", predict.MaxBody) + `"}`
	if status, _ := post(s, huge); status != 400 {
		t.Errorf("body over 8 MiB: %d", status)
	}
}

// Every test-set record gets from predict's raw path (portal record in,
// enrichment included) the probability train computed for it, to 1e-9:
// train records the largest difference it saw between the artifact and the
// model in its manifest; here the raw portal fields go through PredictRaw.
func TestRawPathMatchesTrain(t *testing.T) {
	dir := trained(t)
	b, err := os.ReadFile(filepath.Join(dir, "buckets", chain.ModelsBucket, "arrest", asOf, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m runner.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if e, ok := m.Notes["max_replay_error"].(float64); !ok || e > 1e-9 {
		t.Fatalf("train's replay error %v", m.Notes["max_replay_error"])
	}
	s := server(t)
	p := s.Model().P
	// The same crime, enriched by the enrich step's table path and by predict's raw path.
	raw := model.Raw{Date: 1496581200, IUCR: "2027", PrimaryType: "NARCOTICS", Location: "STREET", FBICode: "18",
		Beat: "1123", District: "011", Ward: "28", CommunityArea: "26", X: 1149421, Y: 1903366, Lat: math.NaN(), Lon: math.NaN()}
	got, err := p.PredictRaw(&raw)
	if err != nil {
		t.Fatal(err)
	}
	_, out := post(s, record)
	if math.Abs(got-out["arrest_probability"].(float64)) > 1e-6 { // the answer is rounded to 6 digits
		t.Errorf("PredictRaw %v, HTTP %v", got, out["arrest_probability"])
	}
}

func TestGetAndHealth(t *testing.T) {
	s := server(t)
	res := s.Handle(handler.Request{Method: http.MethodGet})
	var info map[string]any
	if res.StatusCode != 200 || json.Unmarshal(res.Body, &info) != nil || info["run_date"] != asOf || info["features"] == nil {
		t.Fatalf("GET: %d %s", res.StatusCode, res.Body)
	}
	if res := s.Handle(handler.Request{Method: http.MethodGet, QueryString: "health"}); res.StatusCode != 200 {
		t.Errorf("health: %d", res.StatusCode)
	}
	empty := predict.NewServer(predict.FileLoader{Path: "/nonexistent"}, nil)
	if res := empty.Handle(handler.Request{Method: http.MethodGet, QueryString: "health"}); res.StatusCode != 503 {
		t.Errorf("health without model: %d", res.StatusCode)
	}
	if res := empty.Handle(handler.Request{Method: http.MethodPost, Body: []byte(record)}); res.StatusCode != 503 {
		t.Errorf("predict without model: %d", res.StatusCode)
	}
}

// No input makes predict panic or answer 500.
func FuzzPredict(f *testing.F) {
	for _, s := range []string{record, "[" + record + "]", `{"date":"2017-06-04T13:00:00","latitude":41.9,"longitude":-87.7}`, `[{}]`, `{"date":null}`} {
		f.Add([]byte(s))
	}
	var s *predict.Server
	f.Fuzz(func(t *testing.T, body []byte) {
		if s == nil {
			s = server(&testing.T{})
		}
		res := s.Handle(handler.Request{Method: http.MethodPost, Body: body})
		if res.StatusCode >= 500 {
			t.Fatalf("%q: %d %s", body, res.StatusCode, res.Body)
		}
	})
}

func BenchmarkPredictHTTPHandler(b *testing.B) {
	s := server(&testing.T{})
	req := handler.Request{Method: http.MethodPost, Body: []byte(record)}
	b.ReportAllocs()
	for b.Loop() {
		s.Handle(req)
	}
}

// The artifact's predictor does not allocate per record (enrichment, fill,
// encoding, scaling, selection and the trees included).
func TestPredictDoesNotAllocate(t *testing.T) {
	p := server(t).Model().P
	raw := model.Raw{Date: 1496581200, IUCR: "2027", PrimaryType: "NARCOTICS", Location: "STREET", FBICode: "18",
		Beat: "1123", District: "011", Ward: "28", CommunityArea: "26", X: 1149421, Y: 1903366, Lat: math.NaN(), Lon: math.NaN()}
	if n := testing.AllocsPerRun(200, func() {
		if _, err := p.PredictRaw(&raw); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("PredictRaw allocates %.1f times per record", n)
	}
}

func BenchmarkPredictRaw(b *testing.B) {
	p := server(&testing.T{}).Model().P
	raw := model.Raw{Date: 1496581200, IUCR: "2027", PrimaryType: "NARCOTICS", Location: "STREET", FBICode: "18",
		Beat: "1123", District: "011", Ward: "28", CommunityArea: "26", X: 1149421, Y: 1903366, Lat: math.NaN(), Lon: math.NaN()}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = p.PredictRaw(&raw)
	}
}
