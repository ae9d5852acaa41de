package sample

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"

	"github.com/arrestcast/arrestcast/internal/repo"

	"github.com/arrestcast/arrestcast/shared/ml/knn"
)

type countCase struct {
	N0          int            `json:"n0"`
	N1          int            `json:"n1"`
	SMOTERatio  float64        `json:"smote_ratio"`
	UnderRatio  float64        `json:"under_ratio"`
	SMOTECounts map[string]int `json:"smote_counts"`
	SMOTEError  string         `json:"smote_error"`
	UnderCounts map[string]int `json:"under_counts"`
	UnderError  string         `json:"under_error"`
	Real2017    bool           `json:"real_2017_train"`
}

func readCountCases(t *testing.T) []countCase {
	t.Helper()
	b, err := os.ReadFile(repo.Path("internal/testdata/sample/imblearn_counts.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []countCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) == 0 {
		t.Fatal("no cases in testdata/imblearn_counts.json")
	}
	return g.Cases
}

// labelled returns n0 rows of class 0 then n1 of class 1 with d random features.
func labelled(rng *rand.Rand, n0, n1, d int) ([][]float64, []uint8) {
	n := n0 + n1
	X := make([][]float64, d)
	for j := range X {
		X[j] = make([]float64, n)
		for i := range X[j] {
			X[j][i] = rng.NormFloat64()
		}
	}
	y := make([]uint8, n)
	for i := n0; i < n; i++ {
		y[i] = 1
	}
	return X, y
}

func classCounts(y []uint8) map[string]int {
	m := map[string]int{}
	for _, v := range y {
		m[strconv.Itoa(int(v))]++
	}
	return m
}

func sameCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestCountsMatchImblearn runs SMOTE then UnderSample on data of every shape in
// the golden file and expects imblearn's output class counts (or its refusal).
func TestCountsMatchImblearn(t *testing.T) {
	for _, c := range readCountCases(t) {
		name := strconv.Itoa(c.N0) + "x" + strconv.Itoa(c.N1)
		t.Run(name, func(t *testing.T) {
			X, y := labelled(rand.New(rand.NewPCG(uint64(c.N0), uint64(c.N1))), c.N0, c.N1, 3)
			Xs, ys, err := SMOTE(X, y, c.SMOTERatio, 5, 7)
			switch {
			case c.SMOTEError != "":
				if err == nil {
					t.Fatalf("SMOTE %v: no error, imblearn refused: %s", c.SMOTERatio, c.SMOTEError)
				}
				Xs, ys = X, y
			case err != nil:
				t.Fatalf("SMOTE %v: %v", c.SMOTERatio, err)
			default:
				if got := classCounts(ys); !sameCounts(got, c.SMOTECounts) {
					t.Fatalf("SMOTE %v: counts %v, imblearn %v", c.SMOTERatio, got, c.SMOTECounts)
				}
				if len(Xs[0]) != len(ys) {
					t.Fatalf("SMOTE: %d rows, %d labels", len(Xs[0]), len(ys))
				}
			}
			rows, err := UnderSample(ys, c.UnderRatio, 7)
			if c.UnderError != "" {
				if err == nil {
					t.Fatalf("UnderSample %v: no error, imblearn refused: %s", c.UnderRatio, c.UnderError)
				}
				return
			}
			if err != nil {
				t.Fatalf("UnderSample %v: %v", c.UnderRatio, err)
			}
			_, yu := Gather(Xs, ys, rows)
			if got := classCounts(yu); !sameCounts(got, c.UnderCounts) {
				t.Fatalf("UnderSample %v: counts %v, imblearn %v", c.UnderRatio, got, c.UnderCounts)
			}
		})
	}
}

// TestSMOTESegments checks every synthetic row against the brute-force
// neighbour sets: it must lie on the segment from some minority row x towards
// one of x's k nearest minority neighbours, at a step in [0, 1).
func TestSMOTESegments(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const n0, n1, d, k = 1500, 300, 6, 5
	X, y := labelled(rng, n0, n1, d)
	// Make the minority duplicate-heavy: discrete columns and repeated rows.
	for i := n0; i < n0+n1; i++ {
		X[3][i] = float64(rng.IntN(2))
		X[4][i] = float64(rng.IntN(3)) / 10
		if i > n0 && rng.IntN(4) == 0 {
			src := n0 + rng.IntN(i-n0)
			for j := range X {
				X[j][i] = X[j][src]
			}
		}
	}
	Xs, ys, err := SMOTE(X, y, 0.5, k, 99)
	if err != nil {
		t.Fatal(err)
	}
	nNew := len(ys) - len(y)
	if want := int(0.5*n0) - n1; nNew != want {
		t.Fatalf("%d synthetic rows, want %d", nNew, want)
	}
	for j := range X {
		if !slices.Equal(Xs[j][:len(y)], X[j]) {
			t.Fatalf("column %d: input rows not kept in front", j)
		}
	}
	if !slices.Equal(ys[:len(y)], y) {
		t.Fatal("input labels not kept in front")
	}
	for _, v := range ys[len(y):] {
		if v != 1 {
			t.Fatal("synthetic row not labelled minority")
		}
	}

	Xmin := make([][]float64, d)
	for j := range Xmin {
		Xmin[j] = X[j][n0:]
	}
	nb, err := knn.Brute(Xmin, k)
	if err != nil {
		t.Fatal(err)
	}
	s := make([]float64, d)
	var steps []float64
	for r := len(y); r < len(ys); r++ {
		for j := range s {
			s[j] = Xs[j][r]
		}
		step, ok := onSomeSegment(Xmin, nb, k, s)
		if !ok {
			t.Fatalf("synthetic row %d = %v lies on no segment to a %d-nearest neighbour", r, s, k)
		}
		if step >= 0 {
			steps = append(steps, step)
		}
	}
	// Steps are uniform in [0, 1): a loose check on their mean.
	var sum float64
	for _, v := range steps {
		sum += v
	}
	if m := sum / float64(len(steps)); math.Abs(m-0.5) > 0.05 {
		t.Errorf("mean step %.3f over %d rows, want about 0.5", m, len(steps))
	}
}

// onSomeSegment looks for a minority row x and a neighbour in its brute-force
// set such that s = x + u·(nn − x), u in [0, 1]. It returns u (or -1 when the
// match was a zero-length segment, where u is undefined).
func onSomeSegment(Xmin [][]float64, nb []int32, k int, s []float64) (float64, bool) {
	n := len(Xmin[0])
	for i := 0; i < n; i++ {
		for _, q := range nb[i*k : i*k+k] {
			var dd, ds float64
			for j, col := range Xmin {
				diff := col[q] - col[i]
				dd += diff * diff
				ds += (s[j] - col[i]) * diff
			}
			if dd == 0 {
				if equalRow(Xmin, i, s) {
					return -1, true
				}
				continue
			}
			u := ds / dd
			if u < -1e-12 || u > 1+1e-12 {
				continue
			}
			ok := true
			for j, col := range Xmin {
				want := col[i] + u*(col[q]-col[i])
				if math.Abs(want-s[j]) > 1e-9*(1+math.Abs(col[i])+math.Abs(col[q])) {
					ok = false
					break
				}
			}
			if ok {
				return u, true
			}
		}
	}
	return 0, false
}

func equalRow(X [][]float64, i int, s []float64) bool {
	for j, col := range X {
		if col[i] != s[j] {
			return false
		}
	}
	return true
}

func TestSMOTEMinorityZero(t *testing.T) {
	X, y := labelled(rand.New(rand.NewPCG(1, 1)), 80, 520, 4)
	_, ys, err := SMOTE(X, y, 0.41, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	// imblearn: int(0.41*520 - 80) = 133 new rows of class 0.
	if got := classCounts(ys); got["0"] != 213 || got["1"] != 520 {
		t.Fatalf("counts %v, want 213 zeros and 520 ones", got)
	}
	for _, v := range ys[600:] {
		if v != 0 {
			t.Fatal("synthetic rows must carry the minority label 0")
		}
	}
}

func TestDeterminism(t *testing.T) {
	X, y := labelled(rand.New(rand.NewPCG(5, 5)), 3000, 500, 8)
	a, _, err := SMOTE(X, y, 0.5, 5, 42)
	if err != nil {
		t.Fatal(err)
	}
	prev := runtime.GOMAXPROCS(1) // one worker in the neighbour search
	b, _, err := SMOTE(X, y, 0.5, 5, 42)
	runtime.GOMAXPROCS(prev)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := SMOTE(X, y, 0.5, 5, 43)
	if err != nil {
		t.Fatal(err)
	}
	for j := range a {
		if !slices.Equal(a[j], b[j]) {
			t.Fatalf("column %d differs between runs with the same seed", j)
		}
	}
	if slices.Equal(a[0], c[0]) {
		t.Fatal("seeds 42 and 43 gave the same synthetic rows")
	}

	yb := make([]uint8, 5000)
	for i := range 1200 {
		yb[i*4] = 1
	}
	r1, _ := UnderSample(yb, 0.8, 3)
	r2, _ := UnderSample(yb, 0.8, 3)
	r3, _ := UnderSample(yb, 0.8, 4)
	if !slices.Equal(r1, r2) {
		t.Fatal("UnderSample differs between runs with the same seed")
	}
	if slices.Equal(r1, r3) {
		t.Fatal("UnderSample seeds 3 and 4 gave the same rows")
	}
}

func TestUnderSample(t *testing.T) {
	const nMaj, nMin = 50, 16
	y := make([]uint8, nMaj+nMin)
	for i := 0; i < nMin; i++ {
		y[i*3+1] = 1 // minority spread through the table
	}
	keep := int(nMin / 0.8) // 20
	hits := make([]int, len(y))
	const seeds = 2000
	for seed := range uint64(seeds) {
		rows, err := UnderSample(y, 0.8, seed)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != keep+nMin {
			t.Fatalf("%d rows, want %d", len(rows), keep+nMin)
		}
		for p, i := range rows {
			if p > 0 && rows[p-1] >= i {
				t.Fatalf("rows not strictly ascending: %v", rows)
			}
			hits[i]++
		}
	}
	// Every minority row always; each majority row with probability keep/nMaj.
	want := float64(seeds) * float64(keep) / nMaj
	sd := math.Sqrt(want * (1 - float64(keep)/nMaj))
	for i, v := range y {
		if v == 1 && hits[i] != seeds {
			t.Fatalf("minority row %d kept %d of %d times", i, hits[i], seeds)
		}
		if v == 0 && math.Abs(float64(hits[i])-want) > 6*sd {
			t.Errorf("majority row %d kept %d times, expected %.0f ± %.0f", i, hits[i], want, sd)
		}
	}
}

func TestErrors(t *testing.T) {
	X, y := labelled(rand.New(rand.NewPCG(2, 2)), 100, 20, 3)
	if _, _, err := SMOTE(X, y, 0, 5, 1); err == nil {
		t.Error("ratio 0: no error")
	}
	if _, _, err := SMOTE(X, y, 1.5, 5, 1); err == nil {
		t.Error("ratio 1.5: no error")
	}
	if _, _, err := SMOTE(X, y, 0.5, 20, 1); err == nil {
		t.Error("k = minority size: no error")
	}
	if _, _, err := SMOTE(X, y, 0.1, 5, 1); err == nil {
		t.Error("ratio below the current balance: no error")
	}
	if _, _, err := SMOTE(X, y[:50], 0.5, 5, 1); err == nil {
		t.Error("ragged input: no error")
	}
	bad := slices.Clone(y)
	bad[3] = 2
	if _, err := UnderSample(bad, 0.5, 1); err == nil {
		t.Error("label 2: no error")
	}
	if _, err := UnderSample(make([]uint8, 10), 0.5, 1); err == nil {
		t.Error("single class: no error")
	}
	if _, err := UnderSample(y, 0.1, 1); err == nil {
		t.Error("ratio needing more majority rows than exist: no error")
	}
	// Equal classes: imblearn's SMOTE refuses any ratio, the under-sampler keeps all at 1.0.
	eq := []uint8{0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1}
	Xe, _ := labelled(rand.New(rand.NewPCG(3, 3)), 7, 7, 2)
	if _, _, err := SMOTE(Xe, eq, 1, 5, 1); err == nil {
		t.Error("SMOTE on equal classes: no error")
	}
	if rows, err := UnderSample(eq, 1, 1); err != nil || len(rows) != len(eq) {
		t.Errorf("UnderSample(1.0) on equal classes = %d rows, %v", len(rows), err)
	}
}

// TestReal2017 runs the seed's balancing on the real 2017 training table and
// checks the counts against imblearn's rule for this shape.
func TestReal2017(t *testing.T) {
	tr := loadTrain2017(t)
	var n1 int
	for _, v := range tr.y {
		n1 += int(v)
	}
	n0 := len(tr.y) - n1
	t.Logf("2017 train: %d rows × %d features, %.2f %% arrests", len(tr.y), len(tr.X), 100*float64(n1)/float64(len(tr.y)))
	Xs, ys, err := SMOTE(tr.X, tr.y, 0.5, 5, 42)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(ys)-len(tr.y), int(0.5*float64(n0))-n1; got != want {
		t.Fatalf("SMOTE made %d rows, want %d", got, want)
	}
	rows, err := UnderSample(ys, 0.8, 42)
	if err != nil {
		t.Fatal(err)
	}
	_, yb := Gather(Xs, ys, rows)
	c := classCounts(yb)
	if want := int(float64(c["1"]) / 0.8); c["0"] != want || c["1"] != int(0.5*float64(n0)) {
		t.Fatalf("balanced counts %v, want %d zeros and %d ones", c, want, int(0.5*float64(n0)))
	}
	t.Logf("balanced: %d rows (%d zeros, %d ones)", len(yb), c["0"], c["1"])
}

// BenchmarkBalance2017 is the seed's step 9 on the real 2017 training table:
// SMOTE(0.5, k=5), RandomUnderSampler(0.8), gather of the kept rows.
func BenchmarkBalance2017(b *testing.B) {
	tr := loadTrain2017(b)
	b.Run("smote+under+gather", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			Xs, ys, err := SMOTE(tr.X, tr.y, 0.5, 5, 42)
			if err != nil {
				b.Fatal(err)
			}
			rows, err := UnderSample(ys, 0.8, 42)
			if err != nil {
				b.Fatal(err)
			}
			Gather(Xs, ys, rows)
		}
	})
	b.Run("smote", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			if _, _, err := SMOTE(tr.X, tr.y, 0.5, 5, 42); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// reportCPU adds the process CPU time per iteration (cpu-s/op) to a benchmark;
// call as defer reportCPU(b)().
func reportCPU(b *testing.B) func() {
	start, ok := processCPU()
	return func() {
		if end, ok2 := processCPU(); ok && ok2 && b.N > 0 {
			b.ReportMetric((end-start).Seconds()/float64(b.N), "cpu-s/op")
		}
	}
}
