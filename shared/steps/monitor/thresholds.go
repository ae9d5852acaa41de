package monitor

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/arrestcast/arrestcast/shared/config"
)

// Thresholds judge a month. Every one is set from the monitor's
// environment (the variable in brackets); DefaultThresholds are the values
// when unset.
type Thresholds struct {
	PSIWarn  float64 `json:"psi_warn"`  // a field warns from this PSI [MONITOR_PSI_WARN]
	PSIAlert float64 `json:"psi_alert"` // and alerts from this one [MONITOR_PSI_ALERT]
	KSAlert  float64 `json:"ks_alert"`  // a numeric field alerts from this KS statistic [MONITOR_KS_ALERT]
	// A category of at least ShareMin of either side alerts when its share
	// is ShareRatio times or 1/ShareRatio of the reference's and moved by at
	// least ShareMin: PSI hardly sees a small category halved (NARCOTICS,
	// 4.3 % of 2017, halved is PSI 0.015). In 2017 its monthly share
	// ranged 3.6-5.5 %, within a factor 1.27 of the year's.
	ShareRatio float64 `json:"share_ratio"` // [MONITOR_SHARE_RATIO]
	ShareMin   float64 `json:"share_min"`   // [MONITOR_SHARE_MIN]
	// A field at least EmptyShare missing, that the reference mostly had,
	// has gone empty; one whose missing share rose by MissingWarn warns.
	EmptyShare  float64 `json:"empty_share"`  // [MONITOR_EMPTY_SHARE]
	MissingWarn float64 `json:"missing_warn"` // [MONITOR_MISSING_WARN]
	// The arrest rate moved by at least ArrestShift (absolute) from the
	// reference's: label shift. 2017's months ranged 0.180-0.213 around 0.196.
	ArrestShift float64 `json:"arrest_shift"` // [MONITOR_ARREST_SHIFT]
	// The champion's ROC-AUC on the month fell more than AUCDrop below its
	// own test ROC-AUC.
	AUCDrop float64 `json:"auc_drop"` // [MONITOR_AUC_DROP]
	// The month holds fewer than VolumeDrop times the usual records of the
	// trailing TrailingMonths months (their median).
	VolumeDrop     float64 `json:"volume_drop"`     // [MONITOR_VOLUME_DROP]
	TrailingMonths int     `json:"trailing_months"` // [MONITOR_TRAILING_MONTHS]
	// The decoder refused more than RejectsAlert of the month's records.
	RejectsAlert float64 `json:"rejects_alert"` // [MONITOR_REJECTS_ALERT]
}

// DefaultThresholds are the monitor's thresholds when the environment sets none.
var DefaultThresholds = Thresholds{
	PSIWarn: 0.1, PSIAlert: 0.25, KSAlert: 0.1, ShareRatio: 1.5, ShareMin: 0.01, EmptyShare: 0.99, MissingWarn: 0.05,
	ArrestShift: 0.05, AUCDrop: 0.02, VolumeDrop: 0.5, TrailingMonths: 6, RejectsAlert: 0.01,
}

// ThresholdsFrom reads the thresholds from r's environment; a malformed or
// out-of-range value is an error naming its variable.
func ThresholdsFrom(r config.Reader) (Thresholds, error) {
	t := DefaultThresholds
	var errs []error
	num := func(dst *float64, name string, lo, hi float64) {
		v := r.Env(name, "")
		if v == "" {
			return
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < lo || f > hi {
			errs = append(errs, fmt.Errorf("%s=%q: want a number in [%g, %g]", name, v, lo, hi))
			return
		}
		*dst = f
	}
	num(&t.PSIWarn, "MONITOR_PSI_WARN", 0, 10)
	num(&t.PSIAlert, "MONITOR_PSI_ALERT", 0, 10)
	num(&t.KSAlert, "MONITOR_KS_ALERT", 0, 1)
	num(&t.ShareRatio, "MONITOR_SHARE_RATIO", 1, 100)
	num(&t.ShareMin, "MONITOR_SHARE_MIN", 0, 1)
	num(&t.EmptyShare, "MONITOR_EMPTY_SHARE", 0, 1)
	num(&t.MissingWarn, "MONITOR_MISSING_WARN", 0, 1)
	num(&t.ArrestShift, "MONITOR_ARREST_SHIFT", 0, 1)
	num(&t.AUCDrop, "MONITOR_AUC_DROP", 0, 1)
	num(&t.VolumeDrop, "MONITOR_VOLUME_DROP", 0, 1)
	num(&t.RejectsAlert, "MONITOR_REJECTS_ALERT", 0, 1)
	if v := r.Env("MONITOR_TRAILING_MONTHS", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 24 {
			errs = append(errs, fmt.Errorf("MONITOR_TRAILING_MONTHS=%q: want 1 to 24", v))
		} else {
			t.TrailingMonths = n
		}
	}
	if t.PSIAlert < t.PSIWarn {
		errs = append(errs, fmt.Errorf("MONITOR_PSI_ALERT %g is below MONITOR_PSI_WARN %g", t.PSIAlert, t.PSIWarn))
	}
	return t, errors.Join(errs...)
}

// orDefault is t, or DefaultThresholds when t is the zero value.
func (t Thresholds) orDefault() Thresholds {
	if t == (Thresholds{}) {
		return DefaultThresholds
	}
	return t
}
