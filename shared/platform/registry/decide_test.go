package registry

import (
	"errors"
	"io/fs"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/shared/ml/metrics"
	"github.com/arrestcast/arrestcast/shared/platform/pg"
)

func TestDecide(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name                 string
		challenger, champion Scores
		promote              bool
		reason               string // a part of the reason
	}{
		{"higher AUC", Scores{0.81, 0.40}, Scores{0.80, 0.60}, true, "ROC-AUC 0.8100 > champion's 0.8000"},
		{"lower AUC", Scores{0.79, 0.90}, Scores{0.80, 0.10}, false, "ROC-AUC 0.7900 < champion's 0.8000"},
		{"AUC higher by a hair", Scores{0.8 + 1e-12, 0.1}, Scores{0.8, 0.9}, true, "ROC-AUC 0.800000000001 > champion's 0.800000000000"},
		{"AUC lower by a hair", Scores{0.8, 0.9}, Scores{0.8 + 1e-12, 0.1}, false, "<"},
		{"AUC tie, higher AP", Scores{0.8, 0.51}, Scores{0.8, 0.50}, true, "ROC-AUC tie at 0.8000; average precision 0.5100 > champion's 0.5000"},
		{"AUC tie, lower AP", Scores{0.8, 0.49}, Scores{0.8, 0.50}, false, "average precision 0.4900 < champion's 0.5000"},
		{"AUC tie, AP tie: challenger wins", Scores{0.8, 0.5}, Scores{0.8, 0.5}, true, "average precision 0.5000 = champion's 0.5000"},
		{"no champion", Scores{0.55, 0.3}, NoChampion, true, "no champion"},
		{"no champion, poor challenger", Scores{0.2, 0.1}, NoChampion, true, "first model"},
		{"NaN challenger AUC", Scores{nan, 0.5}, Scores{0.7, 0.5}, false, "invalid scores"},
		{"NaN champion AP on a tie", Scores{0.7, 0.5}, Scores{0.7, nan}, false, "invalid scores"},
		{"AUC above 1", Scores{1.5, 0.5}, Scores{0.7, 0.5}, false, "invalid scores"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			promote, reason := Decide(tc.challenger, tc.champion)
			if promote != tc.promote || !strings.Contains(reason, tc.reason) {
				t.Errorf("Decide(%v, %v) = %v, %q; want %v, reason with %q",
					tc.challenger, tc.champion, promote, reason, tc.promote, tc.reason)
			}
		})
	}
}

func TestJudge(t *testing.T) {
	ch := Scores{0.82, 0.55}
	d := Judge(ch, 0, Scores{0.9, 0.9}) // no champion: its scores are ignored
	if !d.Promote || d.Champion != nil || d.ChampionVersion != 0 || d.Challenger != ch || !strings.Contains(d.Reason, "no champion") {
		t.Errorf("no champion: %+v", d)
	}
	d = Judge(ch, 3, Scores{0.83, 0.6})
	if d.Promote || d.ChampionVersion != 3 || d.Champion == nil || d.Champion.ROCAUC != 0.83 || !strings.Contains(d.Reason, "(champion v3)") {
		t.Errorf("better champion: %+v", d)
	}
	d = Judge(ch, 3, Scores{0.80, 0.6})
	if !d.Promote || !strings.Contains(d.Reason, "> champion's 0.8000 (champion v3)") {
		t.Errorf("worse champion: %+v", d)
	}
	// A champion that exists but was not scored must not be taken for none.
	d = Judge(ch, 3, NoChampion)
	if d.Promote || !strings.Contains(d.Reason, "not scored") {
		t.Errorf("unscored champion: %+v", d)
	}
}

func validModel() *Model {
	return &Model{
		RunDate:   time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC),
		Algorithm: AlgorithmGBT,
		Metrics:   &metrics.Report{N: 10},
		Artifact:  Ref{Bucket: "models", Key: "2018-01-01/model.json", ETag: "e1"},
	}
}

func TestValidate(t *testing.T) {
	if err := validate(validModel()); err != nil {
		t.Fatalf("valid model: %v", err)
	}
	for _, tc := range []struct {
		name  string
		spoil func(*Model)
		want  string
	}{
		{"algorithm", func(m *Model) { m.Algorithm = "rf" }, `algorithm "rf"`},
		{"run date", func(m *Model) { m.RunDate = time.Time{} }, "no run date"},
		{"metrics", func(m *Model) { m.Metrics = nil }, "no metrics"},
		{"etag", func(m *Model) { m.Artifact.ETag = "" }, "needs bucket, key and etag"},
		{"rows", func(m *Model) { m.TestRows = -1 }, "rows"},
		{"params", func(m *Model) { m.Params = []byte(`[1,2]`) }, "params are not a JSON object"},
		{"feature name", func(m *Model) { m.Features = []string{"a", ""} }, "feature 1 has no name"},
		{"importance", func(m *Model) { m.FeatureImportance = map[string]float64{"a": math.Inf(1)} }, "importance"},
	} {
		m := validModel()
		tc.spoil(m)
		err := validate(m)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrInvalid with %q", tc.name, err, tc.want)
		}
	}
}

func TestMigrationsEmbedded(t *testing.T) {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := pg.Migrations(sub)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no migrations embedded")
	}
	for i, m := range ms {
		if m.Version != i+1 || m.Name == "" || !strings.Contains(m.SQL, ";") {
			t.Errorf("migration %d: %+v", i, m)
		}
	}
	if !strings.Contains(ms[0].SQL, "WHERE role = 'champion'") {
		t.Error("the first migration lacks the one-champion index")
	}
}
