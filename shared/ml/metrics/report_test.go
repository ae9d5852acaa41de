package metrics

import (
	"encoding/json"
	"math"
	"slices"
	"sort"
	"testing"
)

func TestSortDesc(t *testing.T) {
	s := uniform(7, 3000)
	for i := range s {
		switch i % 9 {
		case 0:
			s[i] = -s[i] * 1e300
		case 1:
			s[i] = math.Copysign(0, -1)
		case 2:
			s[i] = 0
		case 3:
			s[i] *= 5e-324 * 1e10 // subnormals
		case 4:
			s[i] = math.Floor(s[i]*4) / 4 // ties
		}
	}
	y := make([]uint8, len(s))
	keys, _, _ := sortDesc(y, s)
	got := make([]float64, len(keys))
	for i, k := range keys {
		got[i] = decodeKey(k)
	}
	want := slices.Clone(s)
	for i, v := range want {
		if v == 0 {
			want[i] = 0
		}
	}
	slices.Sort(want)
	slices.Reverse(want)
	if !slices.Equal(got, want) {
		t.Fatal("radix sort differs from slices.Sort")
	}
}

func TestDownsample(t *testing.T) {
	// A curve no longer than the limit is kept whole.
	if got := Downsample([]float64{0, 1}, []float64{0, 1}, 200); !slices.Equal(got, []int{0, 1}) {
		t.Fatalf("short curve: %v", got)
	}
	// A straight line of 1001 points: evenly spread, every 10th.
	x := make([]float64, 1001)
	for i := range x {
		x[i] = float64(i) / 1000
	}
	got := Downsample(x, x, 101)
	if len(got) != 101 || got[0] != 0 || got[100] != 1000 {
		t.Fatalf("line: %d points %v…", len(got), got[:5])
	}
	for k, i := range got {
		if i < 10*k-1 || i > 10*k+1 {
			t.Fatalf("line: point %d is index %d", k, i)
		}
	}
	// A curve whose movement is all at the start gets its points there.
	y := make([]float64, 1001)
	for i := range y {
		y[i] = math.Min(1, float64(i)/100)
	}
	zero := make([]float64, 1001)
	got = Downsample(zero, y, 50)
	if got[len(got)-2] > 100 {
		t.Errorf("points not where the curve moves: %v", got)
	}
}

func TestReportCurvesAreSubsets(t *testing.T) {
	y, s := genScores(99, 52245, 0)
	r, err := NewReport(y, s, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	roc, _ := ROC(y, s)
	pr, _ := PR(y, s)
	if r.ROCPoints != len(roc.FPR) || r.PRPoints != len(pr.Precision) || r.PRPoints <= MaxCurvePoints {
		t.Fatalf("full sizes %d/%d", r.ROCPoints, r.PRPoints)
	}
	if n := len(r.ROC.FPR); n > MaxCurvePoints || n < MaxCurvePoints*3/4 {
		t.Errorf("ROC stored with %d points", n)
	}
	if n := len(r.PR.Precision); n > MaxCurvePoints || n < MaxCurvePoints*3/4 {
		t.Errorf("PR stored with %d points", n)
	}
	t.Logf("stored ROC %d of %d points, PR %d of %d", len(r.ROC.FPR), r.ROCPoints, len(r.PR.Precision), r.PRPoints)
	// Every stored point is a point of the full curve, in order, ends included.
	j := 0
	for k := range r.ROC.FPR {
		for j < len(roc.FPR) && roc.Thresholds[j] != r.ROC.Thresholds[k] {
			j++
		}
		if j == len(roc.FPR) || roc.FPR[j] != r.ROC.FPR[k] || roc.TPR[j] != r.ROC.TPR[k] {
			t.Fatalf("stored ROC point %d is not on the curve", k)
		}
	}
	if r.ROC.FPR[0] != 0 || r.ROC.TPR[len(r.ROC.TPR)-1] != 1 {
		t.Error("ROC ends missing")
	}
	last := len(r.PR.Precision) - 1
	if r.PR.Precision[last] != 1 || r.PR.Recall[last] != 0 || r.PR.Recall[0] != 1 {
		t.Error("PR ends missing")
	}
	// The JSON form loads back to the same report.
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var r2 Report
	if err := json.Unmarshal(b, &r2); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(&r2)
	if string(b) != string(b2) || math.Float64bits(r2.ROCAUC) != math.Float64bits(r.ROCAUC) {
		t.Error("report changed through JSON")
	}
	t.Logf("report JSON: %d bytes", len(b))
}

func TestCalibrationBinsAsSearchsorted(t *testing.T) {
	for _, bins := range []int{1, 3, 10, 7} {
		var p []float64
		c := calibration([]uint8{0}, []float64{0}, bins)
		for _, e := range c.Edges {
			p = append(p, e, math.Nextafter(e, 2), math.Nextafter(e, -1))
		}
		p = append(p, uniform(3, 2000)...)
		for _, v := range p {
			if v < 0 || v > 1 {
				continue
			}
			got := calibration([]uint8{0}, []float64{v}, bins).Bin[0]
			if want := sort.SearchFloat64s(c.Edges[1:bins], v); got != want {
				t.Errorf("bins %d p %v: bin %d, searchsorted %d", bins, v, got, want)
			}
		}
	}
}
