package gbt

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/arrestcast/arrestcast/internal/repo"

	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
)

// randomModel builds trees of random shape over nf features (features repeat along paths, NaN
// defaults both ways) with random leaf covers, some of them zero.
func randomModel(t testing.TB, rng *rand.Rand, nf, trees, maxDepth int) *Model {
	t.Helper()
	var ts []tree
	for range trees {
		nodes := []flatNode{{}}
		depth := []int{0}
		for k := 0; k < len(nodes); k++ {
			if depth[k] < maxDepth && (depth[k] == 0 || rng.Float64() < 0.7) {
				l := len(nodes)
				nodes[k] = flatNode{feature: rng.IntN(nf), threshold: float32(rng.NormFloat64()), left: l, defaultLeft: rng.IntN(2) == 0}
				nodes = append(nodes, flatNode{}, flatNode{})
				depth = append(depth, depth[k]+1, depth[k]+1)
				continue
			}
			nodes[k] = flatNode{leaf: true, value: rng.NormFloat64()}
		}
		ts = append(ts, tree{nodes: nodes})
	}
	m := &Model{numFeatures: nf, baseScore: rng.NormFloat64()}
	if err := m.setTrees(ts); err != nil {
		t.Fatal(err)
	}
	cover := make([]float64, len(m.nodes))
	for i := range cover {
		if rng.IntN(10) > 0 {
			cover[i] = rng.Float64() * 100
		}
	}
	if err := m.setCover(cover); err != nil {
		t.Fatal(err)
	}
	return m
}

func randomRow(rng *rand.Rand, nf int) []float64 {
	row := make([]float64, nf)
	for j := range row {
		row[j] = rng.NormFloat64()
		if rng.IntN(5) == 0 {
			row[j] = math.NaN()
		}
	}
	return row
}

// condExpect is E[f_tree(x) | x_S] under the covers, by its definition: a split on a feature in S
// follows x (NaN by the default side, as prediction), any other averages its children by their shares.
func condExpect(m *Model, base, i int, row []float64, inS uint) float64 {
	n := m.nodes[i]
	l := base + int(n.bits&offMask)
	if l == i {
		return m.vals[i]
	}
	f := int(n.bits >> featShift & featMask)
	if inS&(1<<f) != 0 {
		x := row[f]
		if x > float64(n.thr) || (x != x && n.bits&defRightBit != 0) {
			return condExpect(m, base, l+1, row, inS)
		}
		return condExpect(m, base, l, row, inS)
	}
	fl, fr := m.shares(m.cover, i, l)
	return fl*condExpect(m, base, l, row, inS) + fr*condExpect(m, base, l+1, row, inS)
}

// bruteShapley enumerates every subset of features: φ_i = Σ_S |S|!(M−|S|−1)!/M! (v(S∪i) − v(S)).
func bruteShapley(m *Model, row []float64) (bias float64, phi []float64) {
	M := m.numFeatures
	v := func(s uint) float64 {
		z := m.baseScore
		for t := range m.roots {
			z += condExpect(m, int(m.roots[t]), int(m.roots[t]), row, s)
		}
		return z
	}
	fact := func(k int) float64 {
		r := 1.0
		for i := 2; i <= k; i++ {
			r *= float64(i)
		}
		return r
	}
	phi = make([]float64, M)
	for i := range M {
		for s := uint(0); s < 1<<M; s++ {
			if s&(1<<i) != 0 {
				continue
			}
			k := 0
			for b := s; b != 0; b &= b - 1 {
				k++
			}
			w := fact(k) * fact(M-k-1) / fact(M)
			phi[i] += w * (v(s|1<<i) - v(s))
		}
	}
	return v(0), phi
}

func TestContributionsMatchBruteForceShapley(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for trial := range 40 {
		nf := 2 + trial%5
		m := randomModel(t, rng, nf, 1+trial%4, 2+trial%5)
		phi := make([]float64, nf)
		for range 5 {
			row := randomRow(rng, nf)
			bias, err := m.Contributions(row, phi)
			if err != nil {
				t.Fatal(err)
			}
			wantBias, want := bruteShapley(m, row)
			if math.Abs(bias-wantBias) > 1e-9 {
				t.Fatalf("trial %d: bias %v, brute force %v", trial, bias, wantBias)
			}
			for j := range want {
				if math.Abs(phi[j]-want[j]) > 1e-9 {
					t.Fatalf("trial %d row %v: phi %v, brute force %v", trial, row, phi, want)
				}
			}
		}
	}
}

// checkIdentity asserts bias + Σ phi = PredictMargin(row) to 1e-9 and returns the largest gap.
func checkIdentity(t *testing.T, m *Model, row, phi []float64) float64 {
	t.Helper()
	bias, err := m.Contributions(row, phi)
	if err != nil {
		t.Fatal(err)
	}
	s := bias
	for _, v := range phi {
		s += v
	}
	d := math.Abs(s - m.PredictMargin(row))
	if d > 1e-9 {
		t.Fatalf("row %v: bias %v + Σ phi = %v, margin %v", row, bias, s, m.PredictMargin(row))
	}
	return d
}

func TestContributionsAddUpOnRandomTrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for trial := range 20 {
		nf := 3 + trial
		m := randomModel(t, rng, nf, 30, 12)
		phi := make([]float64, nf)
		for range 50 {
			checkIdentity(t, m, randomRow(rng, nf), phi)
		}
	}
}

// A NaN takes its node's default side, as in prediction: with the feature known (the only feature of
// a one-split tree), its contribution is the default child's value minus the expectation.
func TestContributionsRouteMissingLikePrediction(t *testing.T) {
	for _, defLeft := range []bool{true, false} {
		m := &Model{numFeatures: 1}
		if err := m.setTrees([]tree{{nodes: []flatNode{
			{feature: 0, threshold: 0, left: 1, defaultLeft: defLeft},
			{leaf: true, value: -1}, {leaf: true, value: 3},
		}}}); err != nil {
			t.Fatal(err)
		}
		if err := m.setCover([]float64{0, 3, 1}); err != nil {
			t.Fatal(err)
		}
		phi := make([]float64, 1)
		bias, _ := m.Contributions([]float64{math.NaN()}, phi)
		want := 3.0
		if defLeft {
			want = -1
		}
		if bias != 0 || math.Abs(phi[0]-(want-bias)) > 1e-15 || m.PredictMargin([]float64{math.NaN()}) != want {
			t.Errorf("default left %v: bias %v phi %v, margin %v", defLeft, bias, phi, m.PredictMargin([]float64{math.NaN()}))
		}
	}
}

var (
	realOnce  sync.Once
	realModel *Model
	realX     [][]float64
	realErr   error
)

// chicagoModel trains on every 4th crime of the bundled 2017 year: coordinates (NaN when absent),
// hour, domestic, and the codes of beat, ward, community area (NaN when absent), primary type and FBI
// code; covers from the same rows.
func chicagoModel(t *testing.T) (*Model, [][]float64) {
	t.Helper()
	path := repo.Need(t, repo.Crimes2017)
	realOnce.Do(func() {
		f, err := os.Open(path)
		if err != nil {
			realErr = err
			return
		}
		defer f.Close()
		z, err := gzip.NewReader(f)
		if err != nil {
			realErr = err
			return
		}
		res, err := crime.ReadPortalCSV(context.Background(), z)
		if err != nil {
			realErr = err
			return
		}
		tb := res.Table
		col := func(name string, k table.Kind) *table.Column {
			c, err := tb.Lookup(name, k)
			if err != nil && realErr == nil {
				realErr = err
			}
			return c
		}
		x, y := col(crime.ColX, table.Numeric), col(crime.ColY, table.Numeric)
		date, dom, arrest := col(crime.ColDate, table.Time), col(crime.ColDomestic, table.Bool), col(crime.ColArrest, table.Bool)
		codes := []*table.Column{col(crime.ColBeat, table.Categorical), col(crime.ColWard, table.Categorical),
			col(crime.ColCommunityArea, table.Categorical), col(crime.ColPrimaryType, table.Categorical), col(crime.ColFBICode, table.Categorical)}
		if realErr != nil {
			return
		}
		X := make([][]float64, 4+len(codes))
		var labels []uint8
		for i := 0; i < tb.Len(); i += 4 {
			if arrest.Bools[i] == table.Missing {
				continue
			}
			X[0] = append(X[0], x.Nums[i])
			X[1] = append(X[1], y.Nums[i])
			X[2] = append(X[2], float64(date.Times[i]%86400/3600))
			X[3] = append(X[3], float64(dom.Bools[i]))
			for k, c := range codes {
				v := math.NaN()
				if c.Codes[i] != table.Missing {
					if n, err := strconv.ParseFloat(c.Dict[c.Codes[i]], 64); err == nil {
						v = n
					} else {
						v = float64(c.Codes[i])
					}
				}
				X[4+k] = append(X[4+k], v)
			}
			labels = append(labels, uint8(arrest.Bools[i]))
		}
		p := DefaultParams()
		p.NumTrees = 60
		m, err := Fit(context.Background(), X, labels, p)
		if err != nil {
			realErr = err
			return
		}
		realModel, realX = m, X
	})
	if realErr != nil {
		t.Fatal(realErr)
	}
	return realModel, realX
}

// Fit records every node's cover as it grows the trees: the same, but for
// the float32 hessians training sums, as replaying the training rows through
// the finished trees (SetCover).
func TestFitRecordsCovers(t *testing.T) {
	m, X := chicagoModel(t)
	if !m.HasCover() {
		t.Fatal("a fitted model carries no covers")
	}
	grown := append([]float64(nil), m.cover...)
	replayed := *m
	if err := replayed.SetCover(X); err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, v := range grown {
		if d := math.Abs(v-replayed.cover[i]) / max(replayed.cover[i], 1); d > worst {
			worst = d
		}
	}
	if worst > 1e-4 {
		t.Errorf("grown covers differ from replayed ones by up to %.2g (relative)", worst)
	}
}

func TestContributionsAddUpOnChicago2017(t *testing.T) {
	m, X := chicagoModel(t)
	n := len(X[0])
	// The root's cover is every row's hessian at the base score.
	p := sigmoid(m.baseScore)
	if got, want := m.cover[0], float64(n)*p*(1-p); math.Abs(got-want) > 1e-6*want {
		t.Errorf("root cover %v, want n·p(1−p) = %v", got, want)
	}
	row, phi := make([]float64, len(X)), make([]float64, len(X))
	worst, nan := 0.0, 0
	for i := 0; i < n; i += 37 {
		for j := range X {
			row[j] = X[j][i]
			if math.IsNaN(row[j]) {
				nan++
			}
		}
		worst = max(worst, checkIdentity(t, m, row, phi))
	}
	if nan == 0 {
		t.Error("no row with a missing value checked")
	}
	t.Logf("%d trees, %d nodes, max depth %d: largest |bias + Σφ − margin| %.3g over %d rows (%d missing values)",
		m.NumTrees(), m.NumNodes(), m.shap.maxDepth, worst, n/37+1, nan)

	// Covers travel in the JSON: a reloaded model explains the same bits.
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back Model
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	phi2 := make([]float64, len(X))
	b1, _ := m.Contributions(row, phi)
	b2, err := back.Contributions(row, phi2)
	if err != nil || b1 != b2 {
		t.Fatalf("reloaded: bias %v vs %v (%v)", b2, b1, err)
	}
	for j := range phi {
		if phi[j] != phi2[j] {
			t.Fatalf("reloaded: phi %v vs %v", phi2, phi)
		}
	}
	if n := testing.AllocsPerRun(20, func() { _, _ = m.Contributions(row, phi) }); n != 0 {
		t.Errorf("Contributions allocates %v times", n)
	}
}

func TestContributionsNeedCover(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	m := randomModel(t, rng, 3, 2, 3)
	b, _ := json.Marshal(m)
	var back Model
	if err := json.Unmarshal(b, &back); err != nil || !back.HasCover() {
		t.Fatalf("reload: %v, cover %v", err, back.HasCover())
	}
	_ = m.setCover(nil)
	if _, err := m.Contributions(make([]float64, 3), make([]float64, 3)); err != ErrNoCover {
		t.Errorf("without cover: %v", err)
	}
	b, _ = json.Marshal(m)
	if err := json.Unmarshal(b, &back); err != nil || back.HasCover() {
		t.Errorf("reload without cover: %v, cover %v", err, back.HasCover())
	}
	var j map[string]any
	_ = json.Unmarshal(b, &j)
	j["cover"] = []float64{1}
	b, _ = json.Marshal(j)
	if err := json.Unmarshal(b, &back); err == nil {
		t.Error("a cover of the wrong length loaded")
	}
}

// BenchmarkContributions is the cost of explaining one record (ns/op) against predicting it, on the
// 2017 model of TestContributionsAddUpOnChicago2017, and of computing its covers.
func BenchmarkContributions(b *testing.B) {
	t := &testing.T{}
	m, X := chicagoModel(t)
	rows := make([][]float64, 256)
	for k := range rows {
		rows[k] = rowOf(X, (k*7919)%len(X[0]), make([]float64, len(X)))
	}
	phi := make([]float64, len(X))
	b.Run("explain", func(b *testing.B) {
		i := 0
		for b.Loop() {
			_, _ = m.Contributions(rows[i&255], phi)
			i++
		}
		b.ReportMetric(float64(m.NumNodes()), "nodes")
	})
	b.Run("predict", func(b *testing.B) {
		i, s := 0, 0.0
		for b.Loop() {
			s += m.PredictMargin(rows[i&255])
			i++
		}
	})
}
