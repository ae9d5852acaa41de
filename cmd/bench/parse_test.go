package main

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/arrestcast/arrestcast/internal/repo"

	"github.com/arrestcast/arrestcast/shared/predict"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseGoRunContract(t *testing.T) {
	// A log line before the object must not lose the run.
	out := append([]byte("building...\n"), readFixture(t, "pipeline.json")...)
	r, err := parseGoRun(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Rows != 267792 || len(r.Steps) != 10 || r.TotalSeconds != 4.97 || r.AsOf != "2018-01-01" {
		t.Fatalf("parsed %+v", r)
	}
	if s := r.Steps[9]; s.Step != "train" || s.Seconds != 2.1 || s.PeakRSSMB != 260 || s.RowsIn != 189000 {
		t.Fatalf("train step %+v", s)
	}
	if r.Metrics["roc_auc"] != 0.893 || !strings.HasSuffix(r.Artifact, "model.json") {
		t.Fatalf("metrics %v artifact %q", r.Metrics, r.Artifact)
	}
	if _, err := parseGoRun([]byte("panic: boom")); err == nil {
		t.Fatal("output without JSON accepted")
	}
	if _, err := parseGoRun([]byte(`{"rows":1,"steps":[]}`)); err == nil {
		t.Fatal("output without steps accepted")
	}
}

func TestParsePyRunRealOutput(t *testing.T) {
	// testdata/seed_recipe.json is seed_recipe.py --json's real output.
	r, err := parsePyRun(readFixture(t, "seed_recipe.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range r.Steps {
		names = append(names, s.Step)
	}
	want := []string{"load", "enrich", "split", "outliers", "encode", "scale", "balance", "features", "train_xgboost"}
	if !slices.Equal(names, want) {
		t.Fatalf("steps %v, want %v", names, want)
	}
	if r.TotalStepSeconds <= 0 || r.PeakRSSMB <= 0 || r.TestMetrics["roc_auc"] < 0.8 || len(r.KeptFeatures) == 0 || r.Versions["xgboost"] == "" {
		t.Fatalf("parsed %+v", r)
	}
	if r.Rows["raw"] != 267792 {
		t.Fatalf("rows %v", r.Rows)
	}
	// Without psutil the script prints NaN for rss_mb: still readable.
	nan := strings.Replace(string(readFixture(t, "seed_recipe.json")), `"rss_mb": 198.6`, `"rss_mb": NaN`, 1)
	r2, err := parsePyRun([]byte(nan))
	if err != nil {
		t.Fatalf("NaN in the output: %v", err)
	}
	if r2.Steps[0].RSSMB.OK() {
		t.Fatal("NaN read as a number")
	}
}

func TestCompareChainMapsSteps(t *testing.T) {
	g, err := parseGoRun(readFixture(t, "pipeline.json"))
	if err != nil {
		t.Fatal(err)
	}
	py, err := parsePyRun(readFixture(t, "seed_recipe.json"))
	if err != nil {
		t.Fatal(err)
	}
	g.Proc = Proc{WallSeconds: 5.5, UserSeconds: 8, SysSeconds: 1, MaxRSSMB: 270}
	py.Proc = Proc{WallSeconds: 150, UserSeconds: 55, SysSeconds: 3, MaxRSSMB: 520}
	g2 := g
	g2.Steps = slices.Clone(g.Steps)
	g2.Steps[9].Seconds = 3.1 // train slower in the second run
	g2.TotalSeconds = 5.97
	groups, tot := compareChain([]GoRun{g, g2}, []PyRun{py})
	byName := map[string]GroupCompare{}
	for _, x := range groups {
		byName[x.Name] = x
	}
	le := byName["load + enrich"]
	if math.Abs(float64(le.GoSeconds)-(0.41+0.22+0.15)) > 1e-9 || math.Abs(float64(le.PySeconds)-(8.479+3.054)) > 1e-9 {
		t.Fatalf("load + enrich: Go %v (want download+merge+enrich 0.78), Python %v (want load+enrich 11.533)", le.GoSeconds, le.PySeconds)
	}
	if le.GoPeakMB != 190.5 || le.PyPeakMB != 330 {
		t.Fatalf("load + enrich peaks: Go %v, Python %v (want the max over the group's steps)", le.GoPeakMB, le.PyPeakMB)
	}
	tr := byName["train"]
	if tr.GoSeconds != 2.6 || tr.PySeconds != 52.19 || math.Abs(float64(tr.Speedup)-52.19/2.6) > 1e-9 {
		t.Fatalf("train: %+v (want median of 2.1 and 3.1 against train_xgboost)", tr)
	}
	if len(groups) != len(stepGroups) {
		t.Fatalf("%d groups, want %d: %v", len(groups), len(stepGroups), groups)
	}
	if math.Abs(float64(tot.GoStepSeconds)-5.47) > 1e-9 || tot.PyStepSeconds != Num(py.TotalStepSeconds) {
		t.Fatalf("totals %+v", tot)
	}
	if tot.GoMaxRSSMB != 270 || tot.PyMaxRSSMB != 520 || tot.GoCPUSeconds != 9 || math.Abs(float64(tot.MemoryRatio)-520.0/270) > 1e-9 {
		t.Fatalf("process totals %+v", tot)
	}
	stats := goStepStats([]GoRun{g, g2})
	if stats[9].Step != "train" || stats[9].Seconds != 2.6 || stats[9].MinSeconds != 2.1 || stats[9].MaxSeconds != 3.1 {
		t.Fatalf("step stats %+v", stats[9])
	}

	// A step the mapping does not know is shown on its own, not dropped.
	g3 := g
	g3.Steps = append(slices.Clone(g.Steps), GoStep{Step: "evaluate", Seconds: 0.3})
	groups, _ = compareChain([]GoRun{g3}, nil)
	if last := groups[len(groups)-1]; last.Name != "evaluate (Go only)" || last.GoSeconds != 0.3 || last.PySeconds.OK() {
		t.Fatalf("unknown step: %+v", last)
	}
}

func TestParseBenchOutput(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: github.com/arrestcast/arrestcast/shared/prep
cpu: AMD EPYC
BenchmarkStratifiedSplit-2   	      37	  31234567 ns/op	 8388608 B/op	      12 allocs/op
BenchmarkFreq-2              	     100	  10500000 ns/op	     512 B/op	       3 allocs/op	  25.5 Mrows/s
BenchmarkSteps6to8           	       1	1200000000 ns/op
    bench_test.go:12: a log line
PASS
ok  	github.com/arrestcast/arrestcast/shared/prep	5.1s
`
	rs := parseBenchOutput("shared/prep", []byte(out))
	if len(rs) != 3 {
		t.Fatalf("%d results: %+v", len(rs), rs)
	}
	if r := rs[0]; r.Name != "StratifiedSplit" || r.Procs != 2 || r.Iterations != 37 || r.NsPerOp != 31234567 || r.BytesPerOp != 8388608 || r.AllocsPerOp != 12 {
		t.Fatalf("first %+v", r)
	}
	if r := rs[1]; r.Extra["Mrows/s"] != 25.5 {
		t.Fatalf("custom metric %+v", r)
	}
	if r := rs[2]; r.Name != "Steps6to8" || r.Procs != 1 || r.NsPerOp != 1.2e9 {
		t.Fatalf("no -procs suffix %+v", r)
	}
}

func TestBenchPackagesFindsSharedBenchmarks(t *testing.T) {
	pkgs, err := benchPackages(repo.Root())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"./shared/ml/prep", "./shared/ml/mi", "./shared/ml/gbt"} {
		if !slices.Contains(pkgs, want) {
			t.Errorf("%s not found in %v", want, pkgs)
		}
	}
	if slices.Contains(pkgs, "./shared/chain") {
		t.Errorf("shared/chain has no benchmark but was listed")
	}
}

func TestParseWrk(t *testing.T) {
	out := `Running 10s test @ http://127.0.0.1:8800/predict
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    21.70ms   10.25ms  98.12ms   75.00%
    Req/Sec   370.12     40.11   450.00     70.00%
  Latency Distribution
     50%   19.50ms
     75%   25.00ms
     90%   32.10ms
     99%   67.00ms
  7385 requests in 10.01s, 1.37MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:    737.45
Transfer/sec:    140.12KB
`
	w, err := parseWrk([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if w.RPS != 737.45 || w.Requests != 7385 || w.P50ms != 19.5 || w.P90ms != 32.1 || w.P99ms != 67 || w.Non2xx != 4 || w.SocketErrs != 3 {
		t.Fatalf("parsed %+v", w)
	}
	w, err = parseWrk([]byte("  Latency Distribution\n     50%  850.00us\n     99%    1.20s\nRequests/sec: 10\n"))
	if err != nil || w.P50ms != 0.85 || w.P99ms != 1200 {
		t.Fatalf("units: %+v %v", w, err)
	}
	if _, err := parseWrk([]byte("unable to connect")); err == nil {
		t.Fatal("failed wrk accepted")
	}
	s := wrkScript([][]byte{[]byte(`{"a":"]=]"}`), []byte(`{"b":1}`)})
	if !strings.Contains(s, `[==[{"a":"]=]"}]==]`) || !strings.Contains(s, `[=[{"b":1}]=]`) {
		t.Fatalf("lua script quoting:\n%s", s)
	}
}

func TestCrimeBodiesArePredictRequests(t *testing.T) {
	crimes := repo.Path(repo.Crimes2017)
	if !fileExists(crimes) {
		t.Skipf("needs %s", crimes)
	}
	bodies, err := crimeBodies(context.Background(), crimes, 40)
	if err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 40 {
		t.Fatalf("%d bodies", len(bodies))
	}
	seen := map[string]bool{}
	var months = map[string]bool{}
	for _, b := range bodies {
		if seen[string(b)] {
			t.Fatalf("body repeated: %s", b)
		}
		seen[string(b)] = true
		recs, array, err := predict.ParseRequest(b)
		if err != nil || array || len(recs) != 1 {
			t.Fatalf("predict would refuse %s: %v", b, err)
		}
		months[string(b[9:16])] = true // "date":"2017-MM
	}
	// Spread over the file (sorted by date): many months, not the first rows only.
	if len(months) < 10 {
		t.Fatalf("bodies cover %d months: %v", len(months), months)
	}
}

func TestFeatureBodies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.csv")
	os.WriteFile(path, []byte("x_coordinate,iucr_freq,arrest\n0.5,0.01,1\n-1.25,0.2,0\n"), 0o644)
	bodies, err := featureBodies(path, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 2 || string(bodies[0]) != `{"iucr_freq":0.01,"x_coordinate":0.5}` {
		t.Fatalf("bodies %q", bodies)
	}
}

func TestParseFlagsQuick(t *testing.T) {
	c, err := parseFlags([]string{"-quick", "-only", "scale,chain"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Runs != 1 || !slices.Equal(c.Scales, []int{1, 4}) || c.Benchtime != "1x" || !slices.Equal(c.Parts, []string{"scale", "chain"}) {
		t.Fatalf("quick config %+v", c)
	}
	c, err = parseFlags([]string{"-quick", "-runs", "2", "-scales", "16,1,4,4"})
	if err != nil || c.Runs != 2 || !slices.Equal(c.Scales, []int{1, 4, 16}) {
		t.Fatalf("explicit flags under -quick: %+v %v", c, err)
	}
	for _, bad := range [][]string{{"-only", "everything"}, {"-runs", "0"}, {"-scales", "0"}, {"-conns", "x"}, {"stray"}} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestParseGoRunRealOutput(t *testing.T) {
	// testdata/pipeline_real.json is cmd/pipeline -json's real output (extra
	// fields such as outcome and rejects are ignored).
	r, err := parseGoRun(readFixture(t, "pipeline_real.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range r.Steps {
		names = append(names, s.Step)
	}
	if !slices.Equal(names, goStepOrder) {
		t.Fatalf("steps %v, want %v", names, goStepOrder)
	}
	if r.Rows != 267792 || r.Metrics["roc_auc"] < 0.85 || len(r.Features) == 0 || !strings.HasSuffix(r.Artifact, "/models/arrest/2018-01-01/model.json") {
		t.Fatalf("parsed %+v", r)
	}
	// Every step maps onto a Python step group: nothing shows as "Go only".
	groups, _ := compareChain([]GoRun{r}, nil)
	for _, g := range groups {
		if strings.Contains(g.Name, "only") {
			t.Errorf("unmapped step group %q", g.Name)
		}
	}
}
