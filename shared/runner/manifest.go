package runner

import (
	"time"

	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// Ref names one object a step read, wrote or handed on, and what it is to
// the chain (its role, see chain.Role*).
type Ref struct {
	Role string `json:"role,omitempty"`
	store.Ref
	Rows int64 `json:"rows,omitempty"` // rows it holds, for a table
	// Twin is, for a CSV table, the same table in the binary format
	// (chain.TwinKey): what the next step reads; people read the CSV.
	Twin *store.Ref `json:"twin,omitempty"`
}

// Manifest is the small JSON document a step writes last. Its presence means
// the step's outputs are complete; the next step's notification fires on it.
type Manifest struct {
	Step    string `json:"step"`
	RunDate string `json:"run_date"`
	Status  string `json:"status"`  // "done"
	Trigger string `json:"trigger"` // what started it (key@version/etag, or the plan's identity): the idempotency key
	// Generation names the run of its date this manifest belongs to: the
	// identity of the download that began it. A backfill that changes a
	// month begins a new generation of every run whose window holds it;
	// the older one's steps then stop (superseded).
	Generation  string    `json:"generation"`
	Error       string    `json:"error,omitempty"`
	Inputs      []Ref     `json:"inputs"`
	Outputs     []Ref     `json:"outputs"`
	Forward     []Ref     `json:"forward,omitempty"` // earlier steps' outputs handed on, by role
	RowsIn      int64     `json:"rows_in"`
	RowsOut     int64     `json:"rows_out"`
	Rejects     int64     `json:"rejects"`
	Seconds     float64   `json:"seconds"`
	CodeVersion string    `json:"code_version"`
	Started     time.Time `json:"started"`
	// Notes are facts about the run for people (counts, choices, scores);
	// no step reads another's notes.
	Notes map[string]any `json:"notes,omitempty"`
}

// Offers returns what a manifest hands the next step under role: its own
// outputs of that role and what it forwards under it (a step's outputs
// shadow what earlier steps wrote under the same role: see forward).
func (m *Manifest) Offers(role string) []Ref {
	var out []Ref
	for _, list := range [][]Ref{m.Outputs, m.Forward} {
		for _, o := range list {
			if o.Role == role {
				out = append(out, o)
			}
		}
	}
	return out
}

// Output is the output written at key.
func (m *Manifest) Output(key string) (Ref, bool) {
	for _, o := range m.Outputs {
		if o.Key == key {
			return o, true
		}
	}
	return Ref{}, false
}

// forward lists what the next step should receive from a step that read
// prev and wrote m: every role of prev (its outputs and what it forwarded)
// that m does not write itself.
func forward(prev, m *Manifest) []Ref {
	if prev == nil {
		return m.Forward
	}
	written := map[string]bool{}
	for _, o := range m.Outputs {
		written[o.Role] = true
	}
	for _, o := range m.Forward {
		written[o.Role] = true
	}
	out := append([]Ref(nil), m.Forward...)
	seen := map[string]bool{}
	for _, list := range [][]Ref{prev.Outputs, prev.Forward} {
		var roles []string
		for _, o := range list {
			if o.Role == "" || written[o.Role] || seen[o.Role] {
				continue
			}
			out = append(out, o)
			if !contains(roles, o.Role) {
				roles = append(roles, o.Role)
			}
		}
		for _, r := range roles {
			seen[r] = true // prev's own outputs of a role shadow what it forwarded under it
		}
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
