// Package artifact is the model as train writes it and predict loads it: one
// versioned JSON document with the police stations enrich used, the whole
// fitted preprocessing (shared/recipe) and the model, loadable in one call
// into a Predictor that takes one raw crime and returns the probability of an
// arrest without allocating.
package model

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/arrestcast/arrestcast/shared/data/enrich"
	"github.com/arrestcast/arrestcast/shared/data/geo"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/gbt"
	"github.com/arrestcast/arrestcast/shared/ml/linear"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// Format names this document's layout; Load refuses others.
const Format = "arrestcast.model/v1"

// Algorithms.
const (
	GBT    = "gbt"
	LogReg = "logreg"
)

// Artifact is the serialised model.
type Artifact struct {
	Format      string             `json:"format"`
	RunDate     string             `json:"run_date"`
	Algorithm   string             `json:"algorithm"`
	Threshold   float64            `json:"threshold"`
	Stations    []geo.Station      `json:"stations"`
	Recipe      *recipe.Recipe     `json:"recipe"`
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
	m        model
	scratch  sync.Pool // *buffers
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

// New prepares an artifact for prediction.
func New(a *Artifact) (*Predictor, error) {
	if a.Format != Format {
		return nil, fmt.Errorf("load artifact: format %q, want %q", a.Format, Format)
	}
	if a.Recipe == nil {
		return nil, errors.New("load artifact: no recipe")
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

// Marshal serialises the artifact.
func (a *Artifact) Marshal() ([]byte, error) { return json.Marshal(a) }

// Predict returns the probability of an arrest for an enriched record. It
// fills r's missing values in place and does not allocate.
func (p *Predictor) Predict(r *recipe.Record) float64 {
	b := p.scratch.Get().(*buffers)
	p.A.Recipe.Vector(r, b.enc, b.x)
	v := p.m.PredictProba(b.x)
	p.scratch.Put(b)
	return v
}

// Raw is one crime before enrichment: its date (table.Time wall seconds),
// categories, and X/Y or latitude/longitude (NaN when absent).
type Raw struct {
	Date                                 int64
	IUCR, PrimaryType, Location, FBICode string
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

// PredictRaw enriches and predicts one raw crime.
func (p *Predictor) PredictRaw(raw *Raw) (float64, error) {
	var r recipe.Record
	if err := p.Enrich(raw, &r); err != nil {
		return 0, err
	}
	return p.Predict(&r), nil
}

// PredictTable scores every row of an enriched table (the records the
// chain keeps before encoding) with the same per-record path as Predict.
func (p *Predictor) PredictTable(t *table.Table) ([]float64, error) {
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
