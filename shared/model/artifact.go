// Package artifact is the model as train writes it and predict loads it: one
// versioned JSON document with the police stations enrich used, the whole
// fitted preprocessing — the seed's (shared/model/recipe) or v2's
// (shared/model/recipev2), as RecipeName says — and the model, loadable in
// one call into a Predictor that takes one raw crime and returns the
// probability of an arrest without allocating.
package model

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/arrestcast/arrestcast/shared/data/enrich"
	"github.com/arrestcast/arrestcast/shared/data/geo"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/gbt"
	"github.com/arrestcast/arrestcast/shared/ml/linear"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
	"github.com/arrestcast/arrestcast/shared/model/recipev2"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// Format names this document's layout; Load refuses others.
const Format = "arrestcast.model/v1"

// Algorithms.
const (
	GBT    = "gbt"
	LogReg = "logreg"
)

// Recipes an artifact can carry.
const (
	RecipeSeed = "seed"        // the seed's preprocessing, in Artifact.Recipe
	RecipeV2   = recipev2.Name // v2's target encodings and calibration, in Artifact.RecipeV2 (with GBT)
)

// Artifact is the serialised model.
type Artifact struct {
	Format    string        `json:"format"`
	RunDate   string        `json:"run_date"`
	Algorithm string        `json:"algorithm"`
	Threshold float64       `json:"threshold"`
	Stations  []geo.Station `json:"stations"`
	// RecipeName is RecipeSeed or RecipeV2; empty (artifacts written before
	// v2, and seed artifacts still) is the seed's.
	RecipeName  string             `json:"recipe_name,omitempty"`
	Recipe      *recipe.Recipe     `json:"recipe,omitempty"`
	RecipeV2    *recipev2.Recipe   `json:"recipe_v2,omitempty"`
	GBT         *gbt.Model         `json:"gbt,omitempty"`
	LogReg      *linear.Model      `json:"logreg,omitempty"`
	Metrics     map[string]float64 `json:"metrics,omitempty"` // test-set summary, for GET /function/predict
	CodeVersion string             `json:"code_version"`
	CreatedAt   time.Time          `json:"created_at"`
}

// model is what both algorithms offer prediction through.
type model interface {
	PredictProba(row []float64) float64
}

// Predictor is a loaded artifact, safe for concurrent use.
type Predictor struct {
	A        *Artifact
	enricher *enrich.Enricher
	m        model            // seed recipe
	v2       *recipev2.Scorer // v2 recipe
	scratch  sync.Pool        // *buffers (seed recipe)
}

type buffers struct{ enc, x []float64 }

// Load parses an artifact and prepares it for prediction.
func Load(b []byte) (*Predictor, error) {
	var a Artifact
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("load artifact: %w", err)
	}
	return New(&a)
}

// Kind is the recipe the artifact carries: RecipeSeed or RecipeV2.
func (a *Artifact) Kind() string {
	if a.RecipeName == "" {
		return RecipeSeed
	}
	return a.RecipeName
}

// Features are the model's input features, in order.
func (a *Artifact) Features() []string {
	switch {
	case a.Kind() == RecipeV2 && a.RecipeV2 != nil:
		return a.RecipeV2.Features()
	case a.Recipe != nil:
		return a.Recipe.Features
	}
	return nil
}

// FromV2 is the artifact of a fitted v2 recipe: its recipe, its trees and
// its threshold. The caller sets the run date, stations, metrics, code
// version and creation time.
func FromV2(f *recipev2.Fitted) *Artifact {
	return &Artifact{Format: Format, Algorithm: GBT, Threshold: f.Recipe.Threshold,
		RecipeName: RecipeV2, RecipeV2: f.Recipe, GBT: f.Model}
}

// New prepares an artifact for prediction.
func New(a *Artifact) (*Predictor, error) {
	if a.Format != Format {
		return nil, fmt.Errorf("load artifact: format %q, want %q", a.Format, Format)
	}
	switch a.Kind() {
	case RecipeSeed:
	case RecipeV2:
		return newV2(a)
	default:
		return nil, fmt.Errorf("load artifact: unknown recipe %q", a.RecipeName)
	}
	if a.Recipe == nil {
		return nil, errors.New("load artifact: no recipe")
	}
	if a.RecipeV2 != nil {
		return nil, errors.New("load artifact: a seed artifact with a v2 recipe: recipe_name must say v2")
	}
	if err := a.Recipe.Prepare(); err != nil {
		return nil, fmt.Errorf("load artifact: %w", err)
	}
	p := &Predictor{A: a}
	switch {
	case a.Algorithm == GBT && a.GBT != nil:
		if a.GBT.NumFeatures() != len(a.Recipe.Features) {
			return nil, fmt.Errorf("load artifact: model has %d features, recipe selects %d", a.GBT.NumFeatures(), len(a.Recipe.Features))
		}
		p.m = a.GBT
	case a.Algorithm == LogReg && a.LogReg != nil:
		p.m = a.LogReg
	default:
		return nil, fmt.Errorf("load artifact: algorithm %q without its model", a.Algorithm)
	}
	e, err := enrich.New(a.Stations)
	if err != nil {
		return nil, fmt.Errorf("load artifact: %w", err)
	}
	p.enricher = e
	width, nf := a.Recipe.Width(), len(a.Recipe.Features)
	p.scratch.New = func() any { return &buffers{enc: make([]float64, width), x: make([]float64, nf)} }
	return p, nil
}

// newV2 prepares an artifact of the v2 recipe.
func newV2(a *Artifact) (*Predictor, error) {
	if a.RecipeV2 == nil || a.Recipe != nil {
		return nil, errors.New("load artifact: a v2 artifact holds recipe_v2 and no seed recipe")
	}
	if a.Algorithm != GBT || a.GBT == nil {
		return nil, fmt.Errorf("load artifact: v2 recipe with algorithm %q: want %q and its trees", a.Algorithm, GBT)
	}
	s, err := recipev2.NewScorer(a.RecipeV2, a.GBT)
	if err != nil {
		return nil, fmt.Errorf("load artifact: %w", err)
	}
	if a.Threshold != a.RecipeV2.Threshold {
		return nil, fmt.Errorf("load artifact: threshold %v, the v2 recipe chose %v", a.Threshold, a.RecipeV2.Threshold)
	}
	e, err := enrich.New(a.Stations)
	if err != nil {
		return nil, fmt.Errorf("load artifact: %w", err)
	}
	return &Predictor{A: a, enricher: e, v2: s}, nil
}

// Marshal serialises the artifact.
func (a *Artifact) Marshal() ([]byte, error) { return json.Marshal(a) }

// Predict returns the probability of an arrest for an enriched record, for
// an artifact of the seed recipe (a v2 artifact needs what recipe.Record
// lacks: use PredictRaw or PredictV2; Predict panics). It fills r's missing
// values in place and does not allocate.
func (p *Predictor) Predict(r *recipe.Record) float64 {
	if p.v2 != nil {
		panic("model: Predict takes the seed recipe's records; this artifact is v2's")
	}
	b := p.scratch.Get().(*buffers)
	p.A.Recipe.Vector(r, b.enc, b.x)
	v := p.m.PredictProba(b.x)
	p.scratch.Put(b)
	return v
}

// PredictV2 returns the probability of an arrest for an enriched v2 record,
// for an artifact of the v2 recipe (it panics on a seed artifact). It does
// not allocate.
func (p *Predictor) PredictV2(r *recipev2.Record) float64 {
	if p.v2 == nil {
		panic("model: PredictV2 on an artifact of the seed recipe")
	}
	return p.v2.Proba(r)
}

// Raw is one crime before enrichment: its date (table.Time wall seconds, to
// the second: v2 reads the minute), categories, description, and X/Y or
// latitude/longitude (NaN when absent).
type Raw struct {
	Date                                 int64
	IUCR, PrimaryType, Location, FBICode string
	Description                          string
	Beat, District, Ward, CommunityArea  string
	Domestic                             bool
	X, Y, Lat, Lon                       float64
}

// Enrich turns a raw crime into the record the recipe takes, with the same
// per-record enrichment the enrich step applies to tables.
func (p *Predictor) Enrich(raw *Raw, r *recipe.Record) error {
	f, err := p.enricher.Record(enrich.Input{Date: raw.Date, X: raw.X, Y: raw.Y, Lat: raw.Lat, Lon: raw.Lon})
	if err != nil {
		return err
	}
	*r = recipe.Record{
		IUCR: raw.IUCR, PrimaryType: raw.PrimaryType, Location: raw.Location, FBICode: raw.FBICode,
		Beat: raw.Beat, District: raw.District, Ward: raw.Ward, CommunityArea: raw.CommunityArea,
		StationDistrict: f.District, StationName: f.Name,
		Season: f.Season.String(), DayTime: f.DayTime.String(), DayOfWeek: f.DayOfWeek,
		Domestic: raw.Domestic, X: f.X, Y: f.Y, Distance: f.Distance,
	}
	return nil
}

// EnrichV2 turns a raw crime into the record v2 takes: Enrich's record, the
// description and the report's clock time.
func (p *Predictor) EnrichV2(raw *Raw, r *recipev2.Record) error {
	if err := p.Enrich(raw, &r.Record); err != nil {
		return err
	}
	r.Description = raw.Description
	r.SetDate(raw.Date)
	return nil
}

// PredictRaw enriches and predicts one raw crime, with the artifact's recipe.
func (p *Predictor) PredictRaw(raw *Raw) (float64, error) {
	if p.v2 != nil {
		var r recipev2.Record
		if err := p.EnrichV2(raw, &r); err != nil {
			return 0, err
		}
		return p.v2.Proba(&r), nil
	}
	var r recipe.Record
	if err := p.Enrich(raw, &r); err != nil {
		return 0, err
	}
	return p.Predict(&r), nil
}

// Score enriches and predicts one raw crime with the artifact's recipe, and
// gives what the model saw: rec, the enriched record (for v2, its seed
// part), and x, the model's inputs in Features' order (len(Features())
// values). The monitor and the reference profile read both.
func (p *Predictor) Score(raw *Raw, rec *recipe.Record, x []float64) (float64, error) {
	if p.v2 != nil {
		var r recipev2.Record
		if err := p.EnrichV2(raw, &r); err != nil {
			return 0, err
		}
		*rec = r.Record
		return p.v2.ProbaInputs(&r, x), nil
	}
	if err := p.Enrich(raw, rec); err != nil {
		return 0, err
	}
	b := p.scratch.Get().(*buffers)
	p.A.Recipe.Vector(rec, b.enc, x)
	p.scratch.Put(b)
	return p.m.PredictProba(x), nil
}

// PredictTable scores every row of an enriched table (the records the
// chain keeps before encoding): through the seed recipe's table reader, or
// for other recipes as the raw records the rows came from (PredictRaw).
func (p *Predictor) PredictTable(t *table.Table) ([]float64, error) {
	if p.v2 != nil {
		return p.predictRaws(t)
	}
	rd, err := recipe.NewReader(t)
	if err != nil {
		return nil, fmt.Errorf("score records: %w", err)
	}
	out := make([]float64, t.Len())
	var rec recipe.Record
	for i := range out {
		rd.Read(i, &rec)
		out[i] = p.Predict(&rec)
	}
	return out, nil
}

// MaxArtifact bounds the size of an artifact read from the store.
const MaxArtifact = 256 << 20

// Fetch reads and loads the artifact at ref.
func Fetch(ctx context.Context, st store.Store, ref store.Ref) (*Predictor, error) {
	b, _, err := store.GetBytes(ctx, st, ref.Bucket, ref.Key, MaxArtifact)
	if err != nil {
		return nil, err
	}
	return Load(b)
}

// predictRaws scores every row of t as the raw record it came from.
func (p *Predictor) predictRaws(t *table.Table) ([]float64, error) {
	rd, err := NewRawReader(t)
	if err != nil {
		return nil, fmt.Errorf("score records: %w", err)
	}
	out := make([]float64, t.Len())
	var raw Raw
	for i := range out {
		rd.Read(i, &raw)
		v, err := p.PredictRaw(&raw)
		if err != nil {
			return nil, fmt.Errorf("score records: row %d: %w", i, err)
		}
		out[i] = v
	}
	return out, nil
}

// MaxReplayError is how far the artifact's probabilities for raw records may
// be from the ones the fit computed on its tables.
const MaxReplayError = 1e-9

// ReplayError predicts every row of an enriched table as the raw record it
// came from (RawReader: the portal's fields only, enriched again by
// PredictRaw) and returns the largest |p − want[i]|, want being the
// probabilities the fit computed for the same rows on its table path. train
// calls it before writing an artifact: train/serve skew is caught there.
func (p *Predictor) ReplayError(t *table.Table, want []float64) (float64, error) {
	rd, err := NewRawReader(t)
	if err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	if len(want) != t.Len() {
		return 0, fmt.Errorf("replay: %d rows, %d probabilities", t.Len(), len(want))
	}
	worst := 0.0
	var raw Raw
	for i := range want {
		rd.Read(i, &raw)
		got, err := p.PredictRaw(&raw)
		if err != nil {
			return 0, fmt.Errorf("replay: row %d: %w", i, err)
		}
		d := math.Abs(got - want[i])
		if d > worst || math.IsNaN(d) {
			worst = d
			if math.IsNaN(d) {
				return d, fmt.Errorf("replay: row %d: probability %v, the fit's %v", i, got, want[i])
			}
		}
	}
	return worst, nil
}

// CheckReplay is ReplayError that fails beyond MaxReplayError.
func (p *Predictor) CheckReplay(t *table.Table, want []float64) (float64, error) {
	e, err := p.ReplayError(t, want)
	if err == nil && e > MaxReplayError {
		err = fmt.Errorf("artifact replays the fit with error %g (> %g)", e, MaxReplayError)
	}
	return e, err
}
