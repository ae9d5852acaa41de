package prep

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
)

// grow returns dst resized to n values, reusing its storage when it can.
func grow(dst []float64, n int) []float64 {
	if cap(dst) >= n {
		return dst[:n]
	}
	return make([]float64, n)
}

// Log1p is log(1+v) (np.log1p). Go's math.Log1p and glibc's log1p are both
// fdlibm-derived; they agree to within 1 ulp (golden test: 1e-12 relative).
func Log1p(v float64) float64 { return math.Log1p(v) }

// Log1pColumn applies Log1p to every value of col into dst (resized; dst may
// be col itself) and returns dst.
func Log1pColumn(col, dst []float64) []float64 {
	dst = grow(dst, len(col))
	for i, v := range col {
		dst[i] = Log1p(v)
	}
	return dst
}

// Cyclical encodes a periodic value as sin and cos of 2π·v/Period, evaluated
// as numpy's np.sin(2 * np.pi * v / period): ((2π)·v)/Period.
type Cyclical struct {
	Period float64 `json:"period"`
}

// Sin returns sin(2π·v/Period).
func (c Cyclical) Sin(v float64) float64 { return math.Sin(2 * math.Pi * v / c.Period) }

// Cos returns cos(2π·v/Period).
func (c Cyclical) Cos(v float64) float64 { return math.Cos(2 * math.Pi * v / c.Period) }

// SinColumn applies Sin to col into dst (resized, may alias col).
func (c Cyclical) SinColumn(col, dst []float64) []float64 {
	dst = grow(dst, len(col))
	for i, v := range col {
		dst[i] = c.Sin(v)
	}
	return dst
}

// CosColumn applies Cos to col into dst (resized, may alias col).
func (c Cyclical) CosColumn(col, dst []float64) []float64 {
	dst = grow(dst, len(col))
	for i, v := range col {
		dst[i] = c.Cos(v)
	}
	return dst
}

// DayOfWeekSunday1 remaps a day of week counted 0 = Monday … 6 = Sunday
// (pandas dt.dayofweek, Go's (Weekday+6)%7) to the seed's 1 = Sunday,
// 2 = Monday … 7 = Saturday: (d+1)%7 + 1.
func DayOfWeekSunday1(mondayZero int) (int, error) {
	if mondayZero < 0 || mondayZero > 6 {
		return 0, fmt.Errorf("day of week %d outside 0 (Monday) … 6 (Sunday)", mondayZero)
	}
	return (mondayZero+1)%7 + 1, nil
}

// DayOfWeek is the seed's day-of-week feature: sin(2π·d/7) of the
// Sunday = 1 … Saturday = 7 remap of a 0 = Monday day of week.
func DayOfWeek(mondayZero int) (float64, error) {
	d, err := DayOfWeekSunday1(mondayZero)
	if err != nil {
		return 0, err
	}
	return Cyclical{Period: 7}.Sin(float64(d)), nil
}

// DayOfWeekColumn applies DayOfWeek to days (0 = Monday) into dst.
func DayOfWeekColumn(days []int, dst []float64) ([]float64, error) {
	dst = grow(dst, len(days))
	for i, d := range days {
		v, err := DayOfWeek(d)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", i, err)
		}
		dst[i] = v
	}
	return dst, nil
}

// category returns the string of a categorical code ("" = missing for a
// negative code), the representation of shared/table.
func category(code int32, dict []string) string {
	if code < 0 {
		return ""
	}
	return dict[code]
}

// checkCodes verifies every code is Missing (<0) or inside dict.
func checkCodes(codes []int32, dict []string) error {
	for i, k := range codes {
		if int(k) >= len(dict) {
			return fmt.Errorf("row %d: code %d outside dictionary of %d", i, k, len(dict))
		}
	}
	return nil
}

// OneHot is scikit-learn's OneHotEncoder(drop='first', handle_unknown='ignore')
// for one feature. Categories are the distinct train values sorted by byte
// order (= Python's code-point order); the first is dropped, so a value
// encodes to Width() = len(categories)−1 columns, one of which is 1 unless
// the value is the dropped category or unseen (then all are 0).
//
// The empty string is the missing value. As sklearn does with NaN, a missing
// value seen in train is a category of its own placed after all others, named
// "<feature>_nan"; missing not seen in train is unknown (all zeros).
type OneHot struct {
	Feature    string   `json:"feature"`
	Categories []string `json:"categories"`  // sorted, non-missing, includes the dropped first
	HasMissing bool     `json:"has_missing"` // missing seen in train: trailing category

	col     map[string]int // category -> output column, -1 for the dropped one
	missing int            // output column of the missing category, -1 if none or dropped
}

// FitOneHot fits the encoder for feature on the train values col ("" = missing).
func FitOneHot(feature string, col []string) (*OneHot, error) {
	seen := make(map[string]struct{})
	hasMissing := false
	for _, v := range col {
		if v == "" {
			hasMissing = true
			continue
		}
		seen[v] = struct{}{}
	}
	cats := make([]string, 0, len(seen))
	for c := range seen {
		cats = append(cats, c)
	}
	slices.Sort(cats)
	o := &OneHot{Feature: feature, Categories: cats, HasMissing: hasMissing}
	if err := o.index(); err != nil {
		return nil, fmt.Errorf("fit one-hot %q: %w", feature, err)
	}
	return o, nil
}

// FitOneHotCodes fits on a categorical column given as codes into dict
// (negative code = missing), the representation of shared/table.
func FitOneHotCodes(feature string, codes []int32, dict []string) (*OneHot, error) {
	if err := checkCodes(codes, dict); err != nil {
		return nil, fmt.Errorf("fit one-hot %q: %w", feature, err)
	}
	col := make([]string, len(codes))
	for i, k := range codes {
		col[i] = category(k, dict)
	}
	return FitOneHot(feature, col)
}

func (o *OneHot) index() error {
	if len(o.Categories) == 0 && !o.HasMissing {
		return fmt.Errorf("no categories")
	}
	o.col = make(map[string]int, len(o.Categories))
	for i, c := range o.Categories {
		if c == "" {
			return fmt.Errorf("empty category (the missing value is has_missing)")
		}
		if i > 0 && o.Categories[i-1] >= c {
			return fmt.Errorf("categories not sorted and distinct at %q", c)
		}
		o.col[c] = i - 1
	}
	o.missing = -1
	if o.HasMissing && len(o.Categories) > 0 {
		o.missing = len(o.Categories) - 1
	}
	return nil
}

// Width is the number of output columns.
func (o *OneHot) Width() int {
	w := len(o.Categories) - 1
	if o.HasMissing {
		w++
	}
	return w
}

// Names returns the output column names as sklearn's get_feature_names_out:
// "<feature>_<category>", "<feature>_nan" for the missing category.
func (o *OneHot) Names() []string {
	names := make([]string, 0, o.Width())
	for _, c := range o.Categories[min(1, len(o.Categories)):] {
		names = append(names, o.Feature+"_"+c)
	}
	if o.missing >= 0 {
		names = append(names, o.Feature+"_nan")
	}
	return names
}

// Column returns the output column that is 1 for category, or -1 when all
// outputs are 0 (the dropped first category, or a category unseen in train).
// It does not allocate.
func (o *OneHot) Column(category string) int {
	if category == "" {
		return o.missing
	}
	if j, ok := o.col[category]; ok {
		return j
	}
	return -1
}

// Apply writes the Width() output values of category into dst[:Width()].
func (o *OneHot) Apply(category string, dst []float64) {
	dst = dst[:o.Width()]
	clear(dst)
	if j := o.Column(category); j >= 0 {
		dst[j] = 1
	}
}

// Transform encodes col column-major: out[j][i] is output column j of row i.
// out is reused when it has Width() columns of len(col) capacity.
func (o *OneHot) Transform(col []string, out [][]float64) [][]float64 {
	out = o.alloc(len(col), out)
	for i, v := range col {
		o.set(out, i, o.Column(v))
	}
	return out
}

// TransformCodes is Transform over codes into dict (negative = missing).
func (o *OneHot) TransformCodes(codes []int32, dict []string, out [][]float64) ([][]float64, error) {
	if err := checkCodes(codes, dict); err != nil {
		return nil, fmt.Errorf("one-hot %q: %w", o.Feature, err)
	}
	out = o.alloc(len(codes), out)
	for i, k := range codes {
		o.set(out, i, o.Column(category(k, dict)))
	}
	return out, nil
}

func (o *OneHot) alloc(n int, out [][]float64) [][]float64 {
	w := o.Width()
	if cap(out) < w {
		out = make([][]float64, w)
	}
	out = out[:w]
	for j := range out {
		out[j] = grow(out[j], n)
	}
	return out
}

// set writes row i of the column-major output: Apply's values, column by column.
func (o *OneHot) set(out [][]float64, i, hot int) {
	for j := range out {
		out[j][i] = 0
	}
	if hot >= 0 {
		out[hot][i] = 1
	}
}

// UnmarshalJSON loads an encoder and rebuilds its lookup table.
func (o *OneHot) UnmarshalJSON(data []byte) error {
	type plain OneHot
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Errorf("load one-hot: %w", err)
	}
	*o = OneHot(p)
	if err := o.index(); err != nil {
		return fmt.Errorf("load one-hot %q: %w", o.Feature, err)
	}
	return nil
}

// FreqEncoder is the seed's frequency encoding: a category becomes the share
// of train rows holding it, pandas' value_counts(normalize=True) mapped onto
// the column with fillna(0).
//
// Missing values (the empty string) follow pandas: they are not counted, the
// share's denominator N is the number of NON-missing train rows, and a
// missing value encodes to 0 — as does a category unseen in train.
type FreqEncoder struct {
	Feature string         `json:"feature"`
	N       int            `json:"n"`      // non-missing train rows
	Counts  map[string]int `json:"counts"` // train rows per category (JSON keys sorted)

	freq map[string]float64
}

// FitFreq fits the encoder on the train values col ("" = missing).
func FitFreq(feature string, col []string) (*FreqEncoder, error) {
	f := &FreqEncoder{Feature: feature, Counts: make(map[string]int)}
	for _, v := range col {
		if v == "" {
			continue
		}
		f.Counts[v]++
		f.N++
	}
	if err := f.index(); err != nil {
		return nil, fmt.Errorf("fit frequency encoder %q: %w", feature, err)
	}
	return f, nil
}

// FitFreqCodes fits on codes into dict (negative code = missing).
func FitFreqCodes(feature string, codes []int32, dict []string) (*FreqEncoder, error) {
	if err := checkCodes(codes, dict); err != nil {
		return nil, fmt.Errorf("fit frequency encoder %q: %w", feature, err)
	}
	per := make([]int, len(dict))
	f := &FreqEncoder{Feature: feature, Counts: make(map[string]int)}
	for _, k := range codes {
		if k >= 0 {
			per[k]++
		}
	}
	for k, c := range per {
		if c > 0 && dict[k] != "" {
			f.Counts[dict[k]] += c
			f.N += c
		}
	}
	if err := f.index(); err != nil {
		return nil, fmt.Errorf("fit frequency encoder %q: %w", feature, err)
	}
	return f, nil
}

func (f *FreqEncoder) index() error {
	if f.N <= 0 {
		return fmt.Errorf("no non-missing values")
	}
	total := 0
	f.freq = make(map[string]float64, len(f.Counts))
	for c, k := range f.Counts {
		if c == "" || k <= 0 {
			return fmt.Errorf("bad count %d for category %q", k, c)
		}
		total += k
		// count/N in float64, as pandas' counts / counts.sum().
		f.freq[c] = float64(k) / float64(f.N)
	}
	if total != f.N {
		return fmt.Errorf("counts add up to %d, not n = %d", total, f.N)
	}
	return nil
}

// Value returns the train share of category (0 if missing or unseen). It
// does not allocate.
func (f *FreqEncoder) Value(category string) float64 {
	return f.freq[category] // "" is never a key
}

// Transform applies Value to col into dst (resized) and returns dst.
func (f *FreqEncoder) Transform(col []string, dst []float64) []float64 {
	dst = grow(dst, len(col))
	for i, v := range col {
		dst[i] = f.Value(v)
	}
	return dst
}

// TransformCodes applies Value to codes into dict (negative = missing).
func (f *FreqEncoder) TransformCodes(codes []int32, dict []string, dst []float64) ([]float64, error) {
	if err := checkCodes(codes, dict); err != nil {
		return nil, fmt.Errorf("frequency encoder %q: %w", f.Feature, err)
	}
	dst = grow(dst, len(codes))
	for i, k := range codes {
		dst[i] = f.Value(category(k, dict))
	}
	return dst, nil
}

// Categories returns the train categories by decreasing count, ties by
// byte order (for reports; pandas' value_counts order among ties differs).
func (f *FreqEncoder) Categories() []string {
	cats := make([]string, 0, len(f.Counts))
	for c := range f.Counts {
		cats = append(cats, c)
	}
	slices.SortFunc(cats, func(a, b string) int {
		if d := cmp.Compare(f.Counts[b], f.Counts[a]); d != 0 {
			return d
		}
		return cmp.Compare(a, b)
	})
	return cats
}

// UnmarshalJSON loads an encoder and rebuilds its lookup table.
func (f *FreqEncoder) UnmarshalJSON(data []byte) error {
	type plain FreqEncoder
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Errorf("load frequency encoder: %w", err)
	}
	*f = FreqEncoder(p)
	if err := f.index(); err != nil {
		return fmt.Errorf("load frequency encoder %q: %w", f.Feature, err)
	}
	return nil
}
