package runner_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/arrestcast/arrestcast/internal/steptest"
	"github.com/arrestcast/arrestcast/internal/storetest"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/platform/store"
	"github.com/arrestcast/arrestcast/shared/runner"
)

// sameColumns fails unless a and b hold the same columns bit for bit,
// dictionaries and codes included (table.Equal compares strings only).
func sameColumns(t *testing.T, what string, a, b *table.Table) {
	t.Helper()
	if err := table.Equal(a, b); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	for j, c := range a.Columns() {
		d := b.Columns()[j]
		if !reflect.DeepEqual(c.Dict, d.Dict) || !reflect.DeepEqual(c.Codes, d.Codes) {
			t.Fatalf("%s: column %q: dictionary %v codes %v, want %v %v", what, c.Name, d.Dict, d.Codes, c.Dict, c.Codes)
		}
	}
}

// window is a table whose dictionaries are not as a read of its CSV makes
// them: rows reordered and dropped, so entries are unused and out of order.
func window(t *testing.T) *table.Table {
	tb := steptest.ReadPortal(t, steptest.CrimeRow(1, "01/05/2017 10:00:00 AM", "", false)+
		steptest.CrimeRow(2, "01/06/2017 10:00:00 AM", "", true)+
		steptest.CrimeRow(3, "01/07/2017 10:00:00 AM", "", false))
	types := tb.Col("primary_type")
	types.Dict = append(types.Dict, "BATTERY", "UNUSED")
	types.Codes[1] = 1
	return tb.Select([]int{2, 1})
}

// putWindow writes window(t) as merge does, into a fresh in-memory store.
func putWindow(t *testing.T) (*runner.Env, *storetest.Mem, *runner.Run, runner.Ref) {
	t.Helper()
	env, mem := steptest.MemEnv(t)
	merge := &runner.Run{Env: env, Step: chain.MustLookup(chain.Merge), Date: steptest.Date(2018, 1, 1)}
	ref, err := merge.PutTable(context.Background(), chain.RoleWindow, chain.WindowKey(merge.Date), window(t))
	if err != nil {
		t.Fatal(err)
	}
	return env, mem, merge, ref
}

func TestPutTableWritesATwinTheNextStepReads(t *testing.T) {
	ctx := context.Background()
	env, mem, merge, ref := putWindow(t)
	d := merge.Date
	want, _ := chain.TwinKey(chain.WindowKey(d), ref.ETag)
	if ref.Twin == nil || ref.Twin.Key != want {
		t.Fatalf("twin %+v, want one at %s", ref.Twin, want)
	}
	if out := merge.Manifest().Outputs; len(out) != 1 || !reflect.DeepEqual(out[0], ref) {
		t.Fatalf("outputs %+v: the CSV with its twin, once", out)
	}

	read := func(ref runner.Ref) (*table.Table, runner.Manifest) {
		r := &runner.Run{Env: env, Step: chain.MustLookup(chain.Enrich), Date: d, Prev: &runner.Manifest{Outputs: []runner.Ref{ref}}}
		tb, err := r.GetTable(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		return tb, r.Manifest()
	}
	viaTwin, m := read(ref)
	noTwin := ref
	noTwin.Twin = nil
	parsed, _ := read(noTwin)
	sameColumns(t, "the twin against the parsed CSV", parsed, viaTwin)
	if in := m.Inputs; len(in) != 1 || in[0].Key != ref.Key || in[0].Twin == nil || in[0].Twin.Key != ref.Twin.Key {
		t.Errorf("inputs %+v: the CSV, read through its twin", in)
	}

	// GetTables (merge's months) gives through twins what it parses, the
	// dictionaries merged in the same order.
	d2 := steptest.Date(2018, 2, 1)
	ref2, err := merge.PutTable(ctx, chain.RoleWindow, chain.WindowKey(d2), steptest.ReadPortal(t,
		steptest.CrimeRow(4, "02/05/2017 10:00:00 AM", "", true)))
	if err != nil {
		t.Fatal(err)
	}
	r := &runner.Run{Env: env, Step: chain.MustLookup(chain.Merge), Date: d}
	both, err := r.GetTables(ctx, []runner.Ref{ref, ref2})
	if err != nil {
		t.Fatal(err)
	}
	noTwin2 := ref2
	noTwin2.Twin = nil
	bothParsed, err := r.GetTables(ctx, []runner.Ref{noTwin, noTwin2})
	if err != nil {
		t.Fatal(err)
	}
	sameColumns(t, "two twins against two parsed CSVs", bothParsed, both)

	// A twin written again since the manifest named it is a newer run's.
	if _, err := store.PutBytes(ctx, mem, chain.DataBucket, ref.Twin.Key, []byte("other"), "application/octet-stream"); err != nil {
		t.Fatal(err)
	}
	rr := &runner.Run{Env: env, Step: chain.MustLookup(chain.Enrich), Date: d, Prev: &runner.Manifest{Outputs: []runner.Ref{ref}}}
	if _, err := rr.GetTable(ctx, ref); !errors.Is(err, runner.ErrSuperseded) {
		t.Errorf("reading a replaced twin: %v, want superseded", err)
	}
}

// A CSV written again has no twin until one is written for its content:
// the twin of the old content is never paired with the new.
func TestTwinIsFoundOnlyForItsContent(t *testing.T) {
	ctx := context.Background()
	_, mem, _, ref := putWindow(t)
	obj, err := mem.Stat(ctx, chain.DataBucket, ref.Key)
	if err != nil {
		t.Fatal(err)
	}
	if twin, err := runner.Twin(ctx, mem, obj); err != nil || twin == nil || *twin != *ref.Twin {
		t.Fatalf("Twin(%s) = %+v, %v; want %+v", ref.Key, twin, err, ref.Twin)
	}
	newer := steptest.PutTable(t, mem, chain.RoleWindow, ref.Key, steptest.ReadPortal(t, steptest.CrimeRow(9, "01/09/2017 10:00:00 AM", "", true)))
	obj, err = mem.Stat(ctx, chain.DataBucket, newer.Key)
	if err != nil {
		t.Fatal(err)
	}
	if twin, err := runner.Twin(ctx, mem, obj); err != nil || twin != nil {
		t.Fatalf("Twin of the rewritten CSV = %+v, %v; want none", twin, err)
	}
}
