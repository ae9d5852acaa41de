package chain

import (
	"strings"
	"testing"
	"time"
)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestMonths(t *testing.T) {
	m := MonthOf(time.Date(2017, 12, 31, 23, 59, 0, 0, time.UTC))
	if m.String() != "2017-12" || m.Next().String() != "2018-01" || m.Prev().String() != "2017-11" {
		t.Errorf("month arithmetic: %s %s %s", m, m.Next(), m.Prev())
	}
	if !m.End().Equal(date(2018, 1, 1)) {
		t.Errorf("end of 2017-12: %v", m.End())
	}
	p, err := ParseMonth("2017-02")
	if err != nil || p.String() != "2017-02" || !p.Time.Equal(date(2017, 2, 1)) {
		t.Errorf("ParseMonth: %v %v", p, err)
	}
	for _, bad := range []string{"2017-13", "2017-2", "17-02", "2017-02-01", ""} {
		if _, err := ParseMonth(bad); err == nil {
			t.Errorf("ParseMonth(%q) accepted", bad)
		}
	}
	// A run's download manifest sits in its newest month's folder, and
	// names the run back.
	for _, d := range []time.Time{date(2018, 1, 1), date(2018, 3, 1), date(2016, 3, 1)} {
		key := ManifestKey(Download, d)
		if got, ok := DownloadRunDate(key); !ok || !got.Equal(d) {
			t.Errorf("DownloadRunDate(%s) = %v %v, want %s", key, got, ok, Day(d))
		}
	}
	for _, k := range []string{MonthCrimesKey(MonthOf(date(2017, 12, 1))), RawMonthsPrefix + "2017-13/manifest.json", RawMonthsPrefix + "x/y/manifest.json"} {
		if _, ok := DownloadRunDate(k); ok {
			t.Errorf("DownloadRunDate(%q) accepted", k)
		}
	}
}

func TestKeys(t *testing.T) {
	d := date(2018, 1, 1)
	for got, want := range map[string]string{
		MonthCrimesKey(MonthOf(date(2017, 12, 1))):      "0-raw-data/monthly-data/2017-12/crimes.csv",
		MonthRejectsKey(MonthOf(date(2017, 12, 1))):     "0-raw-data/monthly-data/2017-12/rejects.csv",
		StationsKey(MonthOf(date(2017, 12, 1))):         "0-raw-data/monthly-data/2017-12/police_stations.csv",
		WindowKey(d):                                    "0-raw-data/data/crimes_12m_2018-01-01.csv",
		EnrichedKey(d):                                  "1-enriched-data/crimes_enriched_2018-01-01.csv",
		EnrichedStationsKey(d):                          "1-enriched-data/stations_2018-01-01.json",
		EnrichedRejectsKey(d):                           "1-enriched-data/crimes_enriched_2018-01-01.rejects.csv",
		TableKey(Split, d, "train"):                     "2-processed-data/split/2018-01-01/train.tbl",
		TableKey(Outliers, d, "test"):                   "2-processed-data/outliers/2018-01-01/test.tbl",
		RecipeKey(Scale, d):                             "2-processed-data/scale/2018-01-01/recipe.json",
		TableKey(Features, d, "train"):                  "ml-ready-data/2018-01-01/train.csv",
		TableKey(Features, d, "train"):                  "ml-ready-data/2018-01-01/train.csv",
		ArtifactKey(d):                                  "arrest/2018-01-01/model.json",
		ProfileKey(d):                                   "arrest/2018-01-01/profile.json",
		MonitorReportKey(MonthOf(date(2017, 12, 1)), 4): "0-raw-data/monthly-data/2017-12/monitor/model-4.json",
		ManifestKey("monitor", d):                       "monitoring/2018-01-01/manifest.json",
		ManifestKey("download", d):                      "0-raw-data/monthly-data/2017-12/manifest.json",
		ManifestKey("merge", d):                         "0-raw-data/data/crimes_12m_2018-01-01.manifest.json",
		ManifestKey("enrich", d):                        "1-enriched-data/crimes_enriched_2018-01-01.manifest.json",
		ManifestKey("split", d):                         "2-processed-data/split/2018-01-01/manifest.json",
		ManifestKey("features", d):                      "ml-ready-data/2018-01-01/manifest.json",
		ManifestKey("train", d):                         "arrest/2018-01-01/manifest.json",
	} {
		if got != want {
			t.Errorf("key %q, want %q", got, want)
		}
	}
}

// Every step's manifest starts exactly the next step, and no data file
// starts any: a multi-file output triggers the chain once.
func TestManifestKeysDriveTheChain(t *testing.T) {
	d := date(2018, 1, 1)
	for _, s := range Steps {
		if s.Trigger != Cron && s.Trigger != Event {
			continue
		}
		key := ManifestKey(s.Name, d)
		if !Owns(s.Bucket, key) {
			t.Errorf("%s: manifest %s is outside the chain's prefixes", s.Name, key)
		}
		var started []string
		for _, n := range Evented() {
			if n.Matches(s.Bucket, key) {
				started = append(started, n.Name)
			}
		}
		var want []string
		for _, n := range Evented() {
			if n.After == s.Name {
				want = append(want, n.Name)
			}
		}
		if strings.Join(started, ",") != strings.Join(want, ",") {
			t.Errorf("%s's manifest %s starts %v, want %v", s.Name, key, started, want)
		}
	}
	m := MonthOf(date(2017, 12, 1))
	for _, key := range []string{
		MonthCrimesKey(m), MonthRejectsKey(m), StationsKey(m), WindowKey(d), EnrichedKey(d),
		EnrichedStationsKey(d), EnrichedRejectsKey(d), TableKey(Split, d, "train"), TableKey(Balance, d, "test"),
		RecipeKey(Encode, d), TableKey(Features, d, "test"), MonitorReportKey(m, 1), MonitorReportKey(m, 0),
	} {
		if !Owns(DataBucket, key) {
			t.Errorf("%s is outside the chain's prefixes", key)
		}
		for _, n := range Evented() {
			if n.Matches(DataBucket, key) {
				t.Errorf("data file %s would start %s", key, n.Name)
			}
		}
	}
}

func TestMonthOfKey(t *testing.T) {
	m := MonthOf(date(2017, 12, 1))
	for _, k := range []string{MonthCrimesKey(m), MonthRejectsKey(m), MonitorReportKey(m, 2), ManifestKey(Download, date(2018, 1, 1))} {
		if got, ok := MonthOfKey(k); !ok || got != m {
			t.Errorf("MonthOfKey(%q) = %v %v", k, got, ok)
		}
	}
	for _, k := range []string{WindowKey(date(2018, 1, 1)), "0-raw-data/monthly-data/2017-13/crimes.csv", "0-raw-data/monthly-data/2017-12", "0-raw-data/monthly-data/201712/x"} {
		if _, ok := MonthOfKey(k); ok {
			t.Errorf("MonthOfKey(%q) accepted", k)
		}
	}
}

func TestWindowDate(t *testing.T) {
	if d, ok := WindowDate(WindowKey(date(2017, 12, 1))); !ok || !d.Equal(date(2017, 12, 1)) {
		t.Errorf("WindowDate(RollingKey) = %v %v", d, ok)
	}
	// merge's manifest lives under the same prefix: it is no data file.
	for _, k := range []string{ManifestKey("merge", date(2017, 12, 1)), "0-raw-data/data/crimes_12m_2017-13-01.csv", "0-raw-data/data/other.csv"} {
		if _, ok := WindowDate(k); ok {
			t.Errorf("WindowDate(%q) accepted", k)
		}
	}
}

func TestTwinKey(t *testing.T) {
	d := date(2018, 1, 1)
	if k, ok := TwinKey(WindowKey(d), "0123456789abcdef0123456789abcdef"); !ok || k != "0-raw-data/data/crimes_12m_2018-01-01.0123456789abcdef0123456789abcdef.tbl" {
		t.Errorf("TwinKey = %q %v", k, ok)
	}
	if k, ok := TwinKey(MonthCrimesKey(MonthOf(d)), "abc-3"); !ok || !Owns(DataBucket, k) {
		t.Errorf("a multipart ETag's twin %q (%v) must sit under download's prefix", k, ok)
	}
	for _, tc := range [][2]string{{TableKey(Split, d, "train"), "abc"}, {WindowKey(d), ""}, {WindowKey(d), "../x"}, {WindowKey(d), `"abc"`}} {
		if k, ok := TwinKey(tc[0], tc[1]); ok {
			t.Errorf("TwinKey(%q, %q) = %q: want none", tc[0], tc[1], k)
		}
	}
}
