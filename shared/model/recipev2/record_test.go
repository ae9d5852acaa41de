package recipev2

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/calibrate"
	"github.com/arrestcast/arrestcast/shared/ml/gbt"
	"github.com/arrestcast/arrestcast/shared/ml/target"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
)

func TestSetDateAndRoundness(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for range 10000 {
		d := rng.Int64N(4e9) - 2e9
		var r Record
		r.SetDate(d)
		w := table.Wall(d)
		if r.Hour != w.Hour() || r.Minute != w.Minute() {
			t.Fatalf("%d (%s): hour %d minute %d", d, w, r.Hour, r.Minute)
		}
	}
	want := map[int]int{0: 60, 30: 30, 15: 15, 45: 15, 10: 10, 20: 10, 40: 10, 50: 10, 5: 5, 25: 5, 35: 5, 55: 5, 1: 1, 59: 1, 12: 1}
	for m, r := range want {
		if got := Roundness(m); got != r {
			t.Errorf("Roundness(%d) = %d, want %d", m, got, r)
		}
	}
}

func TestKeys(t *testing.T) {
	r := &Record{Record: recipe.Record{IUCR: "0486", Location: "STREET", Domestic: true, X: 1176569.4, Y: 1891771.6,
		DayOfWeek: 3}, Description: "DOMESTIC BATTERY SIMPLE", Hour: 7, Minute: 30}
	for _, c := range []struct {
		fields []string
		key    string
	}{
		{[]string{FieldIUCR}, "0486"},
		{[]string{FieldIUCR, FieldDomestic}, "0486\x1f1"},
		{[]string{FieldIUCR, FieldRoundHour}, "0486\x1f0"},
		{[]string{FieldIUCR, FieldDomestic, FieldRoundness}, "0486\x1f1\x1f30"},
		{[]string{FieldLocation, FieldHour}, "STREET\x1f7"},
		{[]string{FieldXY}, "1176569:1891772"},
		{[]string{FieldBeat, FieldIUCR}, "\x1f0486"}, // beat missing
		{[]string{FieldDescription}, "DOMESTIC BATTERY SIMPLE"},
		{[]string{FieldDayOfWeek}, "3"},
	} {
		var fs []field
		for _, f := range c.fields {
			fs = append(fs, fieldByName[f])
		}
		if got := string(appendKey(nil, r, fs)); got != c.key {
			t.Errorf("%v: key %q, want %q", c.fields, got, c.key)
		}
	}
	r.X = math.NaN()
	if got := string(appendKey(nil, r, []field{fXY})); got != "" {
		t.Errorf("no coordinates: key %q", got)
	}
}

// small is a fitted recipe over every numeric feature and a few encodings,
// with a model of its width.
func small(t *testing.T) (*Recipe, *gbt.Model) {
	t.Helper()
	rc := &Recipe{Numeric: []string{NumX, NumY, NumDistance, NumDayOfWeek, NumHour, NumMinute, NumRoundHour, NumRoundness, NumDomestic},
		Calibration: &calibrate.Calibrator{Method: calibrate.None}, Threshold: 0.5}
	for _, fs := range [][]string{{FieldIUCR}, {FieldIUCR, FieldDomestic}, {FieldXY}} {
		e, err := target.Fit([]int32{0, 1, 1, -1}, []string{"0486", "0486\x1f1"}, []uint8{1, 0, 1, 0}, 2)
		if err != nil {
			t.Fatal(err)
		}
		rc.Encodings = append(rc.Encodings, &Encoding{Fields: fs, Encoder: e})
	}
	if err := rc.Prepare(); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 2))
	X := make([][]float64, rc.Width())
	y := make([]uint8, 500)
	for j := range X {
		X[j] = make([]float64, len(y))
		for i := range y {
			X[j][i] = rng.Float64()
		}
	}
	for i := range y {
		if X[0][i]+X[10][i] > 1 {
			y[i] = 1
		}
	}
	p := gbt.DefaultParams()
	p.NumTrees = 5
	m, err := gbt.Fit(context.Background(), X, y, p)
	if err != nil {
		t.Fatal(err)
	}
	return rc, m
}

func TestVectorAndScorer(t *testing.T) {
	rc, m := small(t)
	r := &Record{Record: recipe.Record{IUCR: "0486", Domestic: true, X: 1, Y: 2, Distance: 3, DayOfWeek: 4}, Hour: 5, Minute: 15}
	out := make([]float64, rc.Width())
	key := rc.Vector(r, nil, out)
	want := []float64{1, 2, 3, 4, 5, 15, 0, 15, 1,
		rc.Encodings[0].Encoder.Value("0486"), rc.Encodings[1].Encoder.Value("0486\x1f1"), rc.Encodings[2].Encoder.Prior()}
	for j := range want {
		if out[j] != want[j] {
			t.Fatalf("feature %d (%s) = %v, want %v", j, rc.Features()[j], out[j], want[j])
		}
	}
	if n := testing.AllocsPerRun(100, func() { key = rc.Vector(r, key, out) }); n != 0 {
		t.Errorf("Vector allocates %v times", n)
	}
	s, err := NewScorer(rc, m)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Proba(r), calibrate.Sigmoid(m.PredictMargin(out)); got != want {
		t.Errorf("Proba %v, want %v", got, want)
	}
	_ = s.Proba(r)
	if n := testing.AllocsPerRun(100, func() { _ = s.Proba(r) }); n != 0 {
		t.Errorf("Proba allocates %v times", n)
	}
	// JSON round trip.
	b, err := json.Marshal(rc)
	if err != nil {
		t.Fatal(err)
	}
	var back Recipe
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	s2, err := NewScorer(&back, m)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Proba(r) != s.Proba(r) {
		t.Error("a reloaded recipe predicts differently")
	}
	// A model of another width is refused.
	m2, err := gbt.Fit(context.Background(), [][]float64{{0, 1, 0, 1}}, []uint8{0, 1, 0, 1}, gbt.DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewScorer(rc, m2); err == nil {
		t.Error("a model of another width accepted")
	}
}

func TestPrepareRefuses(t *testing.T) {
	rc, _ := small(t)
	for name, spoil := range map[string]func(r *Recipe){
		"unknown numeric":  func(r *Recipe) { r.Numeric = []string{"speed"} },
		"unknown field":    func(r *Recipe) { r.Encodings[0].Fields = []string{"block"} },
		"no encoder":       func(r *Recipe) { r.Encodings[0].Encoder = nil },
		"no calibration":   func(r *Recipe) { r.Calibration = nil },
		"bad calibration":  func(r *Recipe) { r.Calibration = &calibrate.Calibrator{Method: calibrate.Isotone} },
		"threshold beyond": func(r *Recipe) { r.Threshold = 1.5 },
		"no features":      func(r *Recipe) { r.Numeric, r.Encodings = nil, nil },
	} {
		b, _ := json.Marshal(rc)
		var r Recipe
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		spoil(&r)
		if err := r.Prepare(); err == nil {
			t.Errorf("%s: prepared", name)
		}
	}
}
