// Package monitoring holds the JSON shapes of a monitor report's parts as
// stored in monitor_reports' jsonb columns: the monitor step writes them,
// the dashboard reads them, so both use these types.
package monitoring

// Realized is the champion's performance on a month's labelled records.
type Realized struct {
	Rows             int64    `json:"rows"`
	Positives        int64    `json:"positives"`
	ROCAUC           *float64 `json:"roc_auc,omitempty"`
	AveragePrecision *float64 `json:"average_precision,omitempty"`
	LogLoss          *float64 `json:"log_loss,omitempty"`
	Brier            *float64 `json:"brier,omitempty"`
	MeanPredicted    *float64 `json:"mean_predicted,omitempty"`
	ObservedRate     *float64 `json:"observed_rate,omitempty"`
	MCC              *float64 `json:"mcc,omitempty"`
	Threshold        *float64 `json:"threshold,omitempty"`
}

// FieldDrift is one field's drift in a month.
type FieldDrift struct {
	Field      string   `json:"field"`
	Kind       string   `json:"kind"`            // numeric or categorical
	Input      string   `json:"input,omitempty"` // raw (a report-time field) or model (a model input)
	PSI        *float64 `json:"psi,omitempty"`   // absent: undefined (no value on a side)
	KS         *float64 `json:"ks,omitempty"`    // numeric fields only
	MissingRef float64  `json:"missing_ref"`
	MissingCur float64  `json:"missing_cur"`
	Status     string   `json:"status"` // ok, warn or alert
	Bins       []Bin    `json:"bins,omitempty"`
	Shifts     []string `json:"shifts,omitempty"` // categories halved or doubled, "NARCOTICS 4.4% → 1.9%"
}

// PSIOr is the field's PSI, or v when it is undefined.
func (f FieldDrift) PSIOr(v float64) float64 {
	if f.PSI == nil {
		return v
	}
	return *f.PSI
}

// Bin is one bin (numeric) or category of a field: the reference's
// (training data's) and the month's shares in it.
type Bin struct {
	Label string  `json:"label"`
	Ref   float64 `json:"ref"`
	Cur   float64 `json:"cur"`
}

// Note is one alert of a report.
type Note struct {
	Kind    string `json:"kind"` // drift, performance, volume, empty_column, …
	Message string `json:"message"`
}
