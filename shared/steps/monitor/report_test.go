package monitor

import (
	"math"
	"strings"
	"testing"

	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/ml/drift"
	"github.com/arrestcast/arrestcast/shared/model/profile"
)

func TestThresholdsFromEnvironment(t *testing.T) {
	env := map[string]string{}
	r := config.Reader{Getenv: func(k string) string { return env[k] }}
	th, err := ThresholdsFrom(r)
	if err != nil || th != DefaultThresholds {
		t.Fatalf("defaults: %+v %v", th, err)
	}
	env["MONITOR_AUC_DROP"], env["MONITOR_PSI_WARN"] = "0.05", "0.2"
	if th, err = ThresholdsFrom(r); err != nil || th.AUCDrop != 0.05 || th.PSIWarn != 0.2 {
		t.Errorf("set: %+v %v", th, err)
	}
	env["MONITOR_KS_ALERT"], env["MONITOR_TRAILING_MONTHS"], env["MONITOR_PSI_ALERT"] = "high", "0", "0.15"
	_, err = ThresholdsFrom(r)
	for _, name := range []string{"MONITOR_KS_ALERT", "MONITOR_TRAILING_MONTHS", "MONITOR_PSI_ALERT"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not name %s", err, name)
		}
	}
}

func compared(name, kind string, psi, ks, missRef, miss float64) profile.Compared {
	return profile.Compared{Name: name, Kind: kind, Input: profile.Raw,
		Comparison: drift.Comparison{PSI: psi, KS: ks, Missing: miss}, RefMissing: missRef}
}

// Each rule of the verdict, one field at a time.
func TestJudge(t *testing.T) {
	th := DefaultThresholds
	nan := math.NaN()
	for _, c := range []struct {
		c    profile.Compared
		want string
	}{
		{compared("a", profile.Numeric, 0.01, 0.02, 0, 0), OK},
		{compared("b", profile.Numeric, 0.12, 0.02, 0, 0), Warn},
		{compared("c", profile.Numeric, 0.3, 0.02, 0, 0), Alert},
		{compared("d", profile.Numeric, 0.05, 0.15, 0, 0), Alert},       // KS
		{compared("e", profile.Categorical, 0.05, 0.5, 0, 0), OK},       // KS is not the categories'
		{compared("f", profile.Categorical, nan, nan, 0.001, 1), Alert}, // gone empty
		{compared("g", profile.Numeric, 0.01, 0.01, 0.01, 0.08), Warn},  // more missing
		{compared("h", profile.Numeric, nan, nan, 1, 1), OK},            // never had values
	} {
		if got := fieldDrift(c.c, th).Status; got != c.want {
			t.Errorf("%s: %s, want %s", c.c.Name, got, c.want)
		}
	}
	cal := compared("season", profile.Categorical, 5, nan, 0, 0)
	cal.Calendar = true
	shift := compared("primary_type", profile.Categorical, 0.02, nan, 0, 0)
	shift.Shifts = []drift.Shift{{Label: "NARCOTICS", Ref: 0.044, Cur: 0.021}}

	r := &Report{Volume: 3000, UsualVolume: ptr(10000), Trailing: make([]MonthRows, 6)}
	for _, c := range []profile.Compared{compared("a", profile.Numeric, 0.01, 0.02, 0, 0), cal, shift,
		compared("f", profile.Categorical, nan, nan, 0, 1)} {
		r.Fields = append(r.Fields, fieldDrift(c, th))
	}
	r.ArrestRate, r.ReferenceArrestRate = ptr(0.1), ptr(0.2)
	r.TestROCAUC, r.Realized = ptr(0.9), &Realized{Rows: 100, ROCAUC: ptr(0.85)}
	r.PredictionPSI = ptr(0.3)
	r.judge(th)
	kinds := map[string]string{}
	for _, a := range r.Alerts {
		kinds[a.Kind] = a.Message
	}
	for _, k := range []string{KindDrift, KindEmptyColumn, KindLabelShift, KindPerformance, KindVolume, KindPredictionDrift} {
		if _, ok := kinds[k]; !ok {
			t.Errorf("no %s alert in %v", k, r.Alerts)
		}
	}
	if !strings.Contains(kinds[KindDrift], "NARCOTICS 4.4% → 2.1%") || strings.Contains(kinds[KindDrift], "season") {
		t.Errorf("drift message %q", kinds[KindDrift])
	}
	if r.Verdict != Alert || r.DriftedShare != 2.0/3 || r.WorstField != "f" {
		t.Errorf("verdict %s drifted %v worst %q", r.Verdict, r.DriftedShare, r.WorstField)
	}
	quiet := &Report{Fields: []FieldDrift{fieldDrift(compared("a", profile.Numeric, 0.12, 0.02, 0, 0), th)}}
	quiet.judge(th)
	if quiet.Verdict != Warn || len(quiet.Alerts) != 0 || quiet.WorstField != "a" {
		t.Errorf("a warning only: %+v", quiet)
	}
}
