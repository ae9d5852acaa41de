package pipeline

import (
	"time"
)

// Ref names one object a step read or wrote.
type Ref struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	ETag   string `json:"etag,omitempty"`
	Size   int64  `json:"size,omitempty"`
	Rows   int64  `json:"rows,omitempty"`
}

// Manifest is the small JSON document a step writes last. Its presence means
// the step's outputs are complete; the next step's notification fires on it.
type Manifest struct {
	Step        string         `json:"step"`
	RunDate     string         `json:"run_date"`
	Status      string         `json:"status"`  // "done"
	Trigger     string         `json:"trigger"` // key@etag of what started it: the idempotency key
	Error       string         `json:"error,omitempty"`
	Inputs      []Ref          `json:"inputs"`
	Outputs     []Ref          `json:"outputs"`
	RowsIn      int64          `json:"rows_in"`
	RowsOut     int64          `json:"rows_out"`
	Rejects     int64          `json:"rejects"`
	Seconds     float64        `json:"seconds"`
	CodeVersion string         `json:"code_version"`
	Started     time.Time      `json:"started"`
	Notes       map[string]any `json:"notes,omitempty"`
}

// Output returns the output whose key ends in suffix.
func (m *Manifest) Output(key string) (Ref, bool) {
	for _, r := range m.Outputs {
		if r.Key == key {
			return r, true
		}
	}
	return Ref{}, false
}

// SameInputs reports whether two manifests were made from the same objects.
func SameInputs(a, b []Ref) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Bucket != b[i].Bucket || a[i].Key != b[i].Key || a[i].ETag != b[i].ETag {
			return false
		}
	}
	return true
}
