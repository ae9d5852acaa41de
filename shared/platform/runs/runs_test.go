package runs

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestInputsHash(t *testing.T) {
	a := []Ref{{Bucket: "data", Key: "a.csv", ETag: "1"}, {Bucket: "data", Key: "b.csv", ETag: "2"}}
	b := []Ref{a[1], a[0]}
	if InputsHash(a) != InputsHash(b) {
		t.Error("input order changed the hash")
	}
	c := []Ref{a[0], {Bucket: "data", Key: "b.csv", ETag: "3"}}
	if InputsHash(a) == InputsHash(c) {
		t.Error("an ETag change kept the hash")
	}
	// Fields are delimited: moving a character between key and etag changes the hash.
	if InputsHash([]Ref{{Key: "ab", ETag: "c"}}) == InputsHash([]Ref{{Key: "a", ETag: "bc"}}) {
		t.Error("ambiguous encoding")
	}
	if InputsHash(nil) != InputsHash([]Ref{}) {
		t.Error("nil and empty inputs differ")
	}
	if a[0].Key != "a.csv" || b[0].Key != "b.csv" {
		t.Error("InputsHash reordered its argument")
	}
}

func TestMigrationsEmbedded(t *testing.T) {
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if m.Version != i+1 || m.Name == "" || !strings.Contains(m.SQL, ";") {
			t.Errorf("migration %d: %+v", i, m)
		}
	}
	if !strings.Contains(ms[0].SQL, "step_runs_one_done") {
		t.Error("the first migration lacks the one-done unique index")
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{Started: "started", AlreadyDone: "already-done", InProgress: "in-progress", FailedPermanently: "failed-permanently"} {
		if o.String() != want {
			t.Errorf("%d: %q", o, o.String())
		}
	}
}

func TestWriteStatus(t *testing.T) {
	day := time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
	start := time.Date(2018, 1, 1, 6, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	err := WriteStatus(&buf, []PipelineRun{{
		RunDate: day, Status: Failed, StartedAt: start, FinishedAt: start.Add(90 * time.Second),
		Steps: []StepRun{
			{RunDate: day, Step: "merge", Status: Done, RowsIn: 10, RowsOut: 9, Rejects: 1, Duration: 1500 * time.Millisecond, Attempts: 2},
			{RunDate: day, Step: "enrich", Status: Failed, Error: strings.Repeat("é", 100), Permanent: true, Attempts: 1},
			{RunDate: day, Step: "split", Status: Running, Attempts: 1},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	for i, want := range [][]string{
		{"RUN DATE", "ROWS IN", "SECONDS", "ATTEMPTS"},
		{"2018-01-01", "(pipeline)", "failed", "90.0"},
		{"merge", "done", "10", "9", "1", "1.5", "2"},
		{"enrich", "[permanent] ééé", "..."},
		{"split", "running", "-"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d %q lacks %q", i, lines[i], w)
			}
		}
	}
	buf.Reset()
	WriteStatus(&buf, nil)
	if !strings.Contains(buf.String(), "no runs yet") {
		t.Errorf("empty status: %q", buf.String())
	}
}
