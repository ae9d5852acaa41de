package pipeline

import (
	"fmt"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
)

// Object layout in the data bucket (the seed's, plus one manifest per step
// and run, written last). Every key is derived from a run date here, and only
// here, so no caller ever names a key of its own.

// Month is a calendar month, the unit download fetches and stores.
type Month struct{ time.Time }

// MonthOf returns the month holding t.
func MonthOf(t time.Time) Month {
	return Month{time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)}
}

// ParseMonth parses YYYY-MM.
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse(chain.MonthLayout, s)
	if err != nil {
		return Month{}, fmt.Errorf("month %q: want YYYY-MM", s)
	}
	return Month{t}, nil
}

func (m Month) String() string      { return m.Format(chain.MonthLayout) }
func (m Month) Next() Month         { return Month{m.AddDate(0, 1, 0)} }
func (m Month) Prev() Month         { return Month{m.AddDate(0, -1, 0)} }
func (m Month) End() time.Time      { return m.AddDate(0, 1, 0) }
func (m Month) Before(o Month) bool { return m.Time.Before(o.Time) }

// day formats a run date as used in keys.
func day(d time.Time) string { return d.Format(chain.DateLayout) }

// LastMonth is the newest month a run date's download covers: the month
// that ended before it (a run on the 1st), or its own month up to that day.
func LastMonth(d time.Time) Month {
	if d.Day() == 1 {
		return MonthOf(d).Prev()
	}
	return MonthOf(d)
}

// MonthDir is download's folder for one month.
func MonthDir(m Month) string { return "0-raw-data/monthly-data/" + m.String() + "/" }

// MonthlyCrimesKey is one month of crimes as downloaded.
func MonthlyCrimesKey(m Month) string { return MonthDir(m) + "crimes.csv" }

// MonthlyRejectsKey holds the rows of a month the decoder refused.
func MonthlyRejectsKey(m Month) string { return MonthDir(m) + "rejects.csv" }

// StationsKey is the police stations as downloaded with a month.
func StationsKey(m Month) string { return MonthDir(m) + "police_stations.csv" }

// RollingKey is merge's 12-month window for a run date.
func RollingKey(d time.Time) string { return "0-raw-data/data/crimes_12m_" + day(d) + ".csv" }

// EnrichedKey is enrich's output for a run date.
func EnrichedKey(d time.Time) string { return "1-enriched-data/crimes_enriched_" + day(d) + ".csv" }

// StepDir is the folder of split, outliers, encode, scale, balance and
// features for a run date.
func StepDir(step string, d time.Time) string {
	s, ok := chain.Lookup(step)
	if !ok {
		panic("pipeline: unknown step " + step)
	}
	return s.Output + day(d) + "/"
}

// ManifestKey is where step writes its manifest for run date d (download:
// in the folder of the month that ended before d).
func ManifestKey(step string, d time.Time) string {
	switch step {
	case "download":
		return MonthDir(LastMonth(d)) + chain.ManifestSuffix
	case "merge":
		return "0-raw-data/data/crimes_12m_" + day(d) + "." + chain.ManifestSuffix
	case "enrich":
		return "1-enriched-data/crimes_enriched_" + day(d) + "." + chain.ManifestSuffix
	default:
		return StepDir(step, d) + chain.ManifestSuffix
	}
}
