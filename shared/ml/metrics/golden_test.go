package metrics

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/arrestcast/arrestcast/internal/repo"
)

// The golden file is written by bench/reference/golden_prep_metrics.py from
// scikit-learn 1.2.
var goldenPath = repo.Path("internal/testdata/metrics/golden_metrics.json")

type sample struct {
	Len    int       `json:"len"`
	Index  []int     `json:"index"` // nil: Values is the whole curve
	Values []float64 `json:"values"`
}

type goldenCase struct {
	Name string `json:"name"`
	Gen  *struct {
		Seed  uint64  `json:"seed"`
		N     int     `json:"n"`
		Quant float64 `json:"quant"`
	} `json:"gen"`
	Y                []uint8   `json:"y"`
	S                []float64 `json:"s"`
	N                int       `json:"n"`
	Positives        int       `json:"positives"`
	Prob             bool      `json:"prob"`
	ROCAUC           *float64  `json:"roc_auc"`
	AveragePrecision *float64  `json:"average_precision"`
	ROC              *struct {
		FPR        sample `json:"fpr"`
		TPR        sample `json:"tpr"`
		Thresholds sample `json:"thresholds"`
	} `json:"roc"`
	PR *struct {
		Precision  sample `json:"precision"`
		Recall     sample `json:"recall"`
		Thresholds sample `json:"thresholds"`
	} `json:"pr"`
	LogLoss      *float64 `json:"log_loss"`
	LogLoss1e15  *float64 `json:"log_loss_eps_1e-15"`
	Brier        *float64 `json:"brier"`
	Calibrations *struct {
		ProbTrue []float64 `json:"prob_true"`
		ProbPred []float64 `json:"prob_pred"`
		Bin      []int     `json:"bin"`
		Count    []int     `json:"count"`
	} `json:"calibration"`
	At []struct {
		Threshold float64   `json:"threshold"`
		Matrix    [2][2]int `json:"matrix"`
		Accuracy  float64   `json:"accuracy"`
		Precision float64   `json:"precision"`
		Recall    float64   `json:"recall"`
		F1        float64   `json:"f1"`
		MCC       float64   `json:"mcc"`
	} `json:"at"`
}

type golden struct {
	Cases  []goldenCase `json:"cases"`
	Errors []struct {
		Name  string            `json:"name"`
		Y     []uint8           `json:"y"`
		S     []json.RawMessage `json:"s"`
		Error string            `json:"sklearn_error"`
	} `json:"errors"`
}

var (
	goldenOnce sync.Once
	goldenData golden
	goldenErr  error
)

func loadGolden(t testing.TB) *golden {
	t.Helper()
	goldenOnce.Do(func() {
		b, err := os.ReadFile(goldenPath)
		if err != nil {
			goldenErr = err
			return
		}
		goldenErr = json.Unmarshal(b, &goldenData)
	})
	if goldenErr != nil {
		t.Fatalf("read %s: %v", goldenPath, goldenErr)
	}
	return &goldenData
}

// uniform is the golden generator shared with the Python script:
// u[i] = (splitmix64(seed + (i+1)·γ) >> 11)·2⁻⁵³.
func uniform(seed uint64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		z := seed + uint64(i+1)*0x9E3779B97F4A7C15
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
		z = (z ^ (z >> 27)) * 0x94D049BB133111EB
		z ^= z >> 31
		out[i] = float64(z>>11) * 0x1p-53
	}
	return out
}

// genScores is gen_scores of the Python script: scores s (quantised to
// 1/quant when quant > 0) and labels y = u2 < 0.05 + 0.6·s·s.
func genScores(seed uint64, n int, quant float64) ([]uint8, []float64) {
	s := uniform(seed, n)
	if quant > 0 {
		for i, v := range s {
			s[i] = math.Floor(v*quant) / quant
		}
	}
	u2 := uniform(seed^0x5555555555555555, n)
	y := make([]uint8, n)
	for i, v := range s {
		if u2[i] < 0.05+0.6*v*v {
			y[i] = 1
		}
	}
	return y, s
}

func (c *goldenCase) data() ([]uint8, []float64) {
	if c.Gen != nil {
		return genScores(c.Gen.Seed, c.Gen.N, c.Gen.Quant)
	}
	return c.Y, c.S
}

// tally compares with scikit-learn. Everything must be bit-identical except
// the log losses, which go through libm's log in numpy and Go's math.Log
// (1 ulp apart at times) and must be within 1e-9.
type tally struct {
	t            *testing.T
	exact, total int
}

func (ta *tally) cmp(what string, got, want float64) {
	ta.t.Helper()
	ta.total++
	if got == want { // also -0 == +0
		ta.exact++
		return
	}
	if !strings.HasPrefix(what, "log_loss") && !strings.HasPrefix(what, "report log_loss") {
		ta.t.Errorf("%s: %v, sklearn %v (not bit-identical)", what, got, want)
		return
	}
	if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
		ta.t.Errorf("%s: %v, sklearn %v", what, got, want)
	}
}

func (ta *tally) curve(what string, got []float64, want sample) {
	ta.t.Helper()
	if len(got) != want.Len {
		ta.t.Errorf("%s: %d points, sklearn %d", what, len(got), want.Len)
		return
	}
	for k, v := range want.Values {
		i := k
		if want.Index != nil {
			i = want.Index[k]
		}
		ta.cmp(what+"["+strconv.Itoa(i)+"]", got[i], v)
	}
}

func TestGolden(t *testing.T) {
	g := loadGolden(t)
	all := &tally{t: t}
	for i := range g.Cases {
		c := &g.Cases[i]
		t.Run(c.Name, func(t *testing.T) {
			y, s := c.data()
			if len(y) != c.N {
				t.Fatalf("%d rows, golden %d", len(y), c.N)
			}
			ta := &tally{t: t}
			if c.ROCAUC != nil {
				auc, err := ROCAUC(y, s)
				if err != nil {
					t.Fatal(err)
				}
				ta.cmp("roc_auc", auc, *c.ROCAUC)
				ap, err := AveragePrecision(y, s)
				if err != nil {
					t.Fatal(err)
				}
				ta.cmp("average_precision", ap, *c.AveragePrecision)
				roc, err := ROC(y, s)
				if err != nil {
					t.Fatal(err)
				}
				ta.curve("fpr", roc.FPR, c.ROC.FPR)
				ta.curve("tpr", roc.TPR, c.ROC.TPR)
				ta.curve("roc thresholds", roc.Thresholds, c.ROC.Thresholds)
				pr, err := PR(y, s)
				if err != nil {
					t.Fatal(err)
				}
				ta.curve("precision", pr.Precision, c.PR.Precision)
				ta.curve("recall", pr.Recall, c.PR.Recall)
				ta.curve("pr thresholds", pr.Thresholds, c.PR.Thresholds)
			}
			if c.Prob {
				ll, err := LogLoss(y, s)
				if err != nil {
					t.Fatal(err)
				}
				ta.cmp("log_loss", ll, *c.LogLoss)
				ll15, err := LogLossEps(y, s, 1e-15)
				if err != nil {
					t.Fatal(err)
				}
				ta.cmp("log_loss eps 1e-15", ll15, *c.LogLoss1e15)
				br, err := Brier(y, s)
				if err != nil {
					t.Fatal(err)
				}
				ta.cmp("brier", br, *c.Brier)
				cal, err := CalibrationCurve(y, s, 10)
				if err != nil {
					t.Fatal(err)
				}
				want := c.Calibrations
				if len(cal.Bin) != len(want.Bin) {
					t.Fatalf("calibration bins %v, sklearn %v", cal.Bin, want.Bin)
				}
				for k := range want.Bin {
					if cal.Bin[k] != want.Bin[k] || cal.Count[k] != want.Count[k] {
						t.Errorf("calibration bin %d count %d, sklearn bin %d count %d", cal.Bin[k], cal.Count[k], want.Bin[k], want.Count[k])
					}
					ta.cmp("prob_true", cal.ProbTrue[k], want.ProbTrue[k])
					ta.cmp("prob_pred", cal.ProbPred[k], want.ProbPred[k])
				}
			}
			for _, at := range c.At {
				cm, err := ConfusionAt(y, s, at.Threshold)
				if err != nil {
					t.Fatal(err)
				}
				if cm.Matrix() != at.Matrix {
					t.Errorf("threshold %v: matrix %v, sklearn %v", at.Threshold, cm.Matrix(), at.Matrix)
				}
				ta.cmp("accuracy", cm.Accuracy(), at.Accuracy)
				ta.cmp("precision", cm.Precision(), at.Precision)
				ta.cmp("recall", cm.Recall(), at.Recall)
				ta.cmp("f1", cm.F1(), at.F1)
				ta.cmp("mcc", cm.MCC(), at.MCC)
			}
			if c.ROCAUC != nil && c.Prob {
				checkReport(t, ta, c, y, s)
			}
			t.Logf("%d of %d values bit-identical to sklearn", ta.exact, ta.total)
			all.exact += ta.exact
			all.total += ta.total
		})
	}
	t.Logf("all cases: %d of %d values bit-identical to sklearn", all.exact, all.total)
}

// checkReport verifies a Report equals the separate functions and sklearn.
func checkReport(t *testing.T, ta *tally, c *goldenCase, y []uint8, s []float64) {
	t.Helper()
	at := c.At[0]
	r, err := NewReport(y, s, at.Threshold)
	if err != nil {
		t.Fatal(err)
	}
	ta.cmp("report roc_auc", r.ROCAUC, *c.ROCAUC)
	ta.cmp("report average_precision", r.AveragePrecision, *c.AveragePrecision)
	ta.cmp("report log_loss", r.LogLoss, *c.LogLoss)
	ta.cmp("report brier", r.Brier, *c.Brier)
	ta.cmp("report mcc", r.MCC, at.MCC)
	ta.cmp("report f1", r.F1, at.F1)
	ta.cmp("report accuracy", r.Accuracy, at.Accuracy)
	if r.Confusion.Matrix() != at.Matrix || r.N != c.N || r.Positives != c.Positives {
		t.Errorf("report counts %+v n %d pos %d", r.Confusion, r.N, r.Positives)
	}
	if r.ROCPoints != c.ROC.FPR.Len || r.PRPoints != c.PR.Precision.Len {
		t.Errorf("report full curve sizes %d/%d, sklearn %d/%d", r.ROCPoints, r.PRPoints, c.ROC.FPR.Len, c.PR.Precision.Len)
	}
	if len(r.ROC.FPR) > MaxCurvePoints || len(r.PR.Precision) > MaxCurvePoints ||
		len(r.PR.Thresholds) != len(r.PR.Precision)-1 || len(r.ROC.Thresholds) != len(r.ROC.FPR) {
		t.Errorf("report curves: roc %d points, pr %d points %d thresholds", len(r.ROC.FPR), len(r.PR.Precision), len(r.PR.Thresholds))
	}
	if _, err := json.Marshal(r); err != nil {
		t.Errorf("report does not marshal: %v", err)
	}
}

func TestGoldenErrors(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.Errors {
		s := make([]float64, len(c.S))
		for i, raw := range c.S {
			var str string
			if json.Unmarshal(raw, &str) == nil {
				s[i], _ = strconv.ParseFloat(str, 64)
			} else if err := json.Unmarshal(raw, &s[i]); err != nil {
				t.Fatal(err)
			}
		}
		_, err := ROCAUC(c.Y, s)
		if err == nil {
			t.Errorf("%s: no error; sklearn: %s", c.Name, c.Error)
			continue
		}
		if _, rerr := NewReport(c.Y, s, 0.5); rerr == nil {
			t.Errorf("%s: report without error", c.Name)
		}
		t.Logf("%s: %v (sklearn: %s)", c.Name, err, c.Error)
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		y    []uint8
		s    []float64
		want error
		f    func([]uint8, []float64) error
	}{
		{"auc single class", []uint8{1, 1}, []float64{.1, .2}, ErrSingleClass, aucErr},
		{"ap single class", []uint8{0, 0}, []float64{.1, .2}, ErrSingleClass, apErr},
		{"auc nan", []uint8{0, 1}, []float64{math.NaN(), .2}, ErrNonFinite, aucErr},
		{"ap inf", []uint8{0, 1}, []float64{math.Inf(-1), .2}, ErrNonFinite, apErr},
		{"length", []uint8{0, 1, 1}, []float64{.1, .2}, ErrLength, aucErr},
		{"empty", nil, nil, ErrEmpty, aucErr},
		{"label 2", []uint8{0, 2}, []float64{.1, .2}, ErrLabel, aucErr},
		{"log loss p > 1", []uint8{0, 1}, []float64{.1, 1.2}, ErrProbability, llErr},
		{"log loss nan", []uint8{0, 1}, []float64{.1, math.NaN()}, ErrNonFinite, llErr},
		{"brier p < 0", []uint8{0, 1}, []float64{-.1, .2}, ErrProbability, brErr},
		{"report single class", []uint8{1, 1}, []float64{.1, .2}, ErrSingleClass, repErr},
		{"report logits", []uint8{0, 1}, []float64{-3, 2}, ErrProbability, repErr},
		{"confusion nan", []uint8{0, 1}, []float64{.1, math.NaN()}, ErrNonFinite, confErr},
	} {
		err := c.f(c.y, c.s)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := LogLossEps([]uint8{0, 1}, []float64{.1, .2}, 0); err == nil {
		t.Error("eps 0 accepted")
	}
	if _, err := CalibrationCurve([]uint8{0, 1}, []float64{.1, .2}, 0); err == nil {
		t.Error("0 bins accepted")
	}
	// One class is fine where sklearn allows it.
	if _, err := LogLoss([]uint8{1, 1}, []float64{.7, .9}); err != nil {
		t.Error(err)
	}
	if _, err := ConfusionAt([]uint8{0, 0}, []float64{.7, .9}, .5); err != nil {
		t.Error(err)
	}
}

func aucErr(y []uint8, s []float64) error  { _, err := ROCAUC(y, s); return err }
func apErr(y []uint8, s []float64) error   { _, err := AveragePrecision(y, s); return err }
func llErr(y []uint8, s []float64) error   { _, err := LogLoss(y, s); return err }
func brErr(y []uint8, s []float64) error   { _, err := Brier(y, s); return err }
func repErr(y []uint8, s []float64) error  { _, err := NewReport(y, s, .5); return err }
func confErr(y []uint8, s []float64) error { _, err := ConfusionAt(y, s, .5); return err }
