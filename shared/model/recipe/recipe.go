// Package recipe is the model's preprocessing as fitted by the pipeline's
// steps, and replayed by predict on one record: fill values (split), outlier
// bounds (outliers), encoders (encode), scaler (scale) and the selected
// features (features). Each step fits its part and applies it to whole
// tables through the same per-record code that predict runs, so training and
// serving cannot drift apart; the parts are serialised into the model artifact.
package recipe

import (
	"fmt"
	"math"

	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/ml/prep"
)

// Unknown replaces a missing category (the seed's fill).
const Unknown = "UNKNOWN"

// Column names the preprocessing adds to the enriched table's (which are
// crime's: crime.ColIUCR, crime.ColDistance, …).
const (
	ColDayOfWeekSin = "day_of_week_sin"
	ColIsDomestic   = "is_domestic" // domestic as 0/1 (numeric, unlike the bool domestic)
)

// Record is one enriched crime as the preprocessing sees it. An empty string
// is a missing category; NaN a missing number.
type Record struct {
	IUCR, PrimaryType, Location, FBICode string
	Beat, District, Ward, CommunityArea  string
	StationDistrict, StationName         string
	Season, DayTime                      string
	DayOfWeek                            int // 0 = Monday
	Domestic                             bool
	X, Y, Distance                       float64
}

// category returns a pointer to the Record field of a categorical column.
func (r *Record) category(col string) *string {
	switch col {
	case crime.ColIUCR:
		return &r.IUCR
	case crime.ColPrimaryType:
		return &r.PrimaryType
	case crime.ColLocationDescription:
		return &r.Location
	case crime.ColFBICode:
		return &r.FBICode
	case crime.ColBeat:
		return &r.Beat
	case crime.ColDistrict:
		return &r.District
	case crime.ColWard:
		return &r.Ward
	case crime.ColCommunityArea:
		return &r.CommunityArea
	case crime.ColStationDistrict:
		return &r.StationDistrict
	case crime.ColStationName:
		return &r.StationName
	case crime.ColSeason:
		return &r.Season
	case crime.ColDayTime:
		return &r.DayTime
	}
	return nil
}

// Recipe is the whole fitted preprocessing.
type Recipe struct {
	Fill     *Fill               `json:"fill"`
	Outliers *prep.OutlierBounds `json:"outliers"` // applied to training rows only, kept for the record
	Encoder  *Encoder            `json:"encoder"`
	Scaler   *prep.Scaler        `json:"scaler"`
	Features []string            `json:"features"`

	pick  []int // feature k is encoded column pick[k]
	scale []int // encoded column j is scaler feature scale[j], or -1
	width int
}

// Prepare resolves the feature and scaler columns; call it once after
// fitting or loading.
func (rc *Recipe) Prepare() error {
	if rc.Fill == nil || rc.Encoder == nil || rc.Scaler == nil || len(rc.Features) == 0 {
		return fmt.Errorf("recipe: fill, encoder, scaler and features are required")
	}
	names := rc.Encoder.Names()
	at := map[string]int{}
	for j, n := range names {
		at[n] = j
	}
	rc.width = len(names)
	rc.scale = make([]int, len(names))
	for j, n := range names {
		rc.scale[j] = rc.Scaler.Index(n)
	}
	rc.pick = make([]int, len(rc.Features))
	for k, f := range rc.Features {
		j, ok := at[f]
		if !ok {
			return fmt.Errorf("recipe: selected feature %q is not an encoded column", f)
		}
		rc.pick[k] = j
	}
	return nil
}

// Width is the length of an encoded row (the scratch Vector needs).
func (rc *Recipe) Width() int { return rc.width }

// Vector fills r's missing values, encodes, scales and selects: out[k] is
// feature k. scratch must hold Width values. It does not allocate.
func (rc *Recipe) Vector(r *Record, scratch, out []float64) {
	rc.Fill.Record(r)
	rc.Encoder.Row(r, scratch)
	for k, j := range rc.pick {
		v := scratch[j]
		if s := rc.scale[j]; s >= 0 {
			v = rc.Scaler.Apply(s, v)
		}
		out[k] = v
	}
}

// Fill holds the values that replace missing inputs, fitted on train.
type Fill struct {
	Unknown []string          `json:"unknown"` // categorical columns filled with "UNKNOWN"
	Median  map[string]string `json:"median"`  // code columns filled with the category at their median
}

// FillUnknown are the columns the seed fills with "UNKNOWN".
var FillUnknown = []string{crime.ColLocationDescription, crime.ColPrimaryType, crime.ColFBICode, crime.ColStationName}

// FillMedian are the code columns the seed fills with their median.
var FillMedian = []string{crime.ColBeat, crime.ColWard, crime.ColCommunityArea}

// Value returns the fill of a column ("" when the column is not filled).
func (f *Fill) Value(col string) string {
	for _, c := range f.Unknown {
		if c == col {
			return Unknown
		}
	}
	return f.Median[col]
}

// Record fills the missing fields of r in place.
func (f *Fill) Record(r *Record) {
	for _, col := range f.Unknown {
		if p := r.category(col); p != nil && *p == "" {
			*p = Unknown
		}
	}
	for col, v := range f.Median {
		if p := r.category(col); p != nil && *p == "" {
			*p = v
		}
	}
}

// isMissing reports a missing number.
func isMissing(v float64) bool { return math.IsNaN(v) }
