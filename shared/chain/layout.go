package chain

import (
	"fmt"
	"strings"
	"time"
)

// The object layout: the seed's, plus one manifest per step and run,
// written last. Every key is derived here, and only here, from a run date
// or a month, so no caller ever names a key of its own.

// Prefixes of the data bucket (and the models bucket's).
const (
	RawMonthsPrefix = "0-raw-data/monthly-data/"
	WindowPrefix    = "0-raw-data/data/"
	EnrichedPrefix  = "1-enriched-data/"
	// TempPrefix holds intermediate outputs that expire after
	// TempExpiryDays; a version replaced by a newer run goes after
	// TempNoncurrentDays. Nothing a registered model's lineage names is
	// under it: every other version is kept.
	TempPrefix         = "2-processed-data/"
	TempExpiryDays     = 60
	TempNoncurrentDays = 7
	MLReadyPrefix      = "ml-ready-data/"
	ModelsPrefix       = "arrest/"
	// MonitorPrefix holds the monitor's manifests; its reports lie next to
	// the month they are about (MonitorReportKey).
	MonitorPrefix = "monitoring/"
)

// ManifestSuffix ends every manifest key: a step writes its manifest last, and
// the next step's notification rule filters on it, so a multi-file output
// starts the next step exactly once.
const ManifestSuffix = "manifest.json"

// BinaryExt ends the keys of tables kept in the binary table format between
// two of our own steps (split … balance, and the CSV tables' twins: see
// TwinKey); the files people and other tools read (raw months, the window,
// the enriched year, the ML-ready sets) are CSV.
const BinaryExt = ".tbl"

// TwinKey is where the binary twin of the CSV table at key lives when that
// CSV's ETag is etag: the same table in the binary format, which the next
// step reads instead of parsing the text (people and other tools read the
// CSV). Naming the twin after the ETag pairs it with that content: a CSV
// written again (a backfill) gets a new twin, and one whose twin was never
// written (an attempt that stopped between the two) has none, so it is
// parsed — a stale twin is never read for a newer CSV. ok is false for a key
// that is not a CSV or an ETag that is not a plain token.
func TwinKey(key, etag string) (twin string, ok bool) {
	stem, isCSV := strings.CutSuffix(key, ".csv")
	if !isCSV || etag == "" || len(etag) > 64 {
		return "", false
	}
	for _, c := range etag {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
			return "", false
		}
	}
	return stem + "." + etag + BinaryExt, true
}

// DateLayout is the run-date form used in keys (crimes_12m_2018-01-01.csv).
const DateLayout = "2006-01-02"

// MonthLayout is the month form used in keys (monthly-data/2017-12/).
const MonthLayout = "2006-01"

// RunDate normalises t to the first instant of its day, in UTC: run dates are
// calendar dates, carried without a zone.
func RunDate(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// ParseRunDate parses a YYYY-MM-DD run date.
func ParseRunDate(s string) (time.Time, error) {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("run date %q: want YYYY-MM-DD", s)
	}
	return t, nil
}

// Day formats a run date as keys carry it.
func Day(d time.Time) string { return d.Format(DateLayout) }

// Window is the rolling window a run's model learns from: the 365 days
// before the run date.
const Window = 365 * 24 * time.Hour

// Month is a calendar month, the unit download fetches and stores.
type Month struct{ time.Time }

// MonthOf returns the month holding t.
func MonthOf(t time.Time) Month {
	return Month{time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)}
}

// ParseMonth parses YYYY-MM.
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse(MonthLayout, s)
	if err != nil {
		return Month{}, fmt.Errorf("month %q: want YYYY-MM", s)
	}
	return Month{t}, nil
}

func (m Month) String() string      { return m.Format(MonthLayout) }
func (m Month) Next() Month         { return Month{m.AddDate(0, 1, 0)} }
func (m Month) Prev() Month         { return Month{m.AddDate(0, -1, 0)} }
func (m Month) End() time.Time      { return m.AddDate(0, 1, 0) }
func (m Month) Before(o Month) bool { return m.Time.Before(o.Time) }

// MonthDir is download's folder for one month.
func MonthDir(m Month) string { return RawMonthsPrefix + m.String() + "/" }

// MonthCrimesKey is one month of crimes as downloaded.
func MonthCrimesKey(m Month) string { return MonthDir(m) + "crimes.csv" }

// MonthRejectsKey holds the records of a month the decoder refused.
func MonthRejectsKey(m Month) string { return MonthDir(m) + "rejects.csv" }

// MonthOfKey reads the month of a key under download's folders (false for
// any other key).
func MonthOfKey(key string) (Month, bool) {
	s, ok := strings.CutPrefix(key, RawMonthsPrefix)
	if !ok || len(s) < len(MonthLayout)+1 || s[len(MonthLayout)] != '/' {
		return Month{}, false
	}
	m, err := ParseMonth(s[:len(MonthLayout)])
	return m, err == nil
}

// MonitorReportKey is the monitor's report on month m as scored by model
// version (0: no model to score it with), next to the month's crimes. A
// recomputation (a backfill re-fetched the month) writes a new version of it.
func MonitorReportKey(m Month, version int) string {
	return fmt.Sprintf("%smonitor/model-%d.json", MonthDir(m), version)
}

// StationsKey is the police stations as downloaded with a month.
func StationsKey(m Month) string { return MonthDir(m) + "police_stations.csv" }

const windowStem = WindowPrefix + "crimes_12m_"

// DownloadRunDate reads the run date of a download manifest's key (the run
// for D keeps its manifest in the folder of the month before D).
func DownloadRunDate(key string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(key, RawMonthsPrefix)
	if !ok {
		return time.Time{}, false
	}
	month, file, ok := strings.Cut(rest, "/")
	if !ok || file != ManifestSuffix {
		return time.Time{}, false
	}
	m, err := ParseMonth(month)
	if err != nil {
		return time.Time{}, false
	}
	return m.Next().Time, true
}

// WindowKey is merge's 12-month window for a run date.
func WindowKey(d time.Time) string { return windowStem + Day(d) + ".csv" }

// WindowDate reads the run date of a window key (false for any other key,
// merge's manifests included).
func WindowDate(key string) (time.Time, bool) {
	s, ok := strings.CutPrefix(key, windowStem)
	if !ok || !strings.HasSuffix(s, ".csv") {
		return time.Time{}, false
	}
	d, err := ParseRunDate(strings.TrimSuffix(s, ".csv"))
	return d, err == nil
}

// EnrichedKey is enrich's output for a run date.
func EnrichedKey(d time.Time) string { return EnrichedPrefix + "crimes_enriched_" + Day(d) + ".csv" }

// EnrichedRejectsKey holds the records enrich could not place (no coordinates).
func EnrichedRejectsKey(d time.Time) string {
	return EnrichedPrefix + "crimes_enriched_" + Day(d) + ".rejects.csv"
}

// EnrichedStationsKey keeps the stations enrich used: the model artifact
// carries them so predict finds the same nearest station.
func EnrichedStationsKey(d time.Time) string { return EnrichedPrefix + "stations_" + Day(d) + ".json" }

// StepDir is the folder of a step that writes one folder per run date
// (split … features, train).
func StepDir(step string, d time.Time) string { return MustLookup(step).Output + Day(d) + "/" }

// TableKey is one of a step's two tables ("train" or "test") for a run
// date: CSV for features (the ML-ready files people read), the binary
// format between our own steps.
func TableKey(step string, d time.Time, name string) string {
	ext := BinaryExt
	if step == Features {
		ext = ".csv"
	}
	return StepDir(step, d) + name + ext
}

// RecordsKey keeps, with the ML-ready sets, the train or test rows ("train",
// "test") as records (before encoding): the v2 recipe fits on them, train's
// replay check and comparisons score them, and a model's lineage names
// them, so they live outside the temporary prefix.
func RecordsKey(d time.Time, name string) string {
	return StepDir(Features, d) + name + "_records" + BinaryExt
}

// RecipeKey is where a fitting step writes the recipe fitted so far.
func RecipeKey(step string, d time.Time) string { return StepDir(step, d) + "recipe.json" }

// ArtifactKey is where train writes the model of a run date (models bucket).
func ArtifactKey(d time.Time) string { return StepDir(Train, d) + "model.json" }

// ProfileKey is the reference profile train writes beside the model
// artifact (models bucket): what the monitor compares a month with.
func ProfileKey(d time.Time) string { return StepDir(Train, d) + "profile.json" }

// ManifestKey is where step writes its manifest for run date d (download:
// in the folder of the month that ended before d, its newest month).
func ManifestKey(step string, d time.Time) string {
	switch step {
	case Download:
		return MonthDir(MonthOf(d).Prev()) + ManifestSuffix
	case Merge:
		return windowStem + Day(d) + "." + ManifestSuffix
	case Enrich:
		return EnrichedPrefix + "crimes_enriched_" + Day(d) + "." + ManifestSuffix
	default:
		return StepDir(step, d) + ManifestSuffix
	}
}

// Owns reports whether key lies under one of the chain's output prefixes in
// the bucket of role bucketRole: no key outside them is read or written on
// a caller's say-so.
func Owns(bucketRole, key string) bool {
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false // empty, dot or dot-dot segments never name one of our objects
		}
	}
	for _, s := range Steps {
		if s.Output != "" && s.Bucket == bucketRole && strings.HasPrefix(key, s.Output) {
			return true
		}
	}
	return false
}
