package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// Run is one execution of one step for one run date: the step reads and
// writes through it, so inputs, outputs and counts land in the manifest.
type Run struct {
	Env  *Env
	Step chain.Step
	Date time.Time
	Plan Plan      // how a planned step's run was planned (download)
	Prev *Manifest // the manifest that started it (nil for download)

	m       Manifest
	started time.Time
}

// Started is when the run began: a step with a time limit counts from it.
func (r *Run) Started() time.Time { return r.started }

// Input is the one object the triggering manifest offers under role.
func (r *Run) Input(role string) (Ref, error) {
	refs, err := r.inputs(role)
	if err != nil {
		return Ref{}, err
	}
	if len(refs) != 1 {
		return Ref{}, Permanentf("%s's manifest offers %d objects as %s, want one", r.Prev.Step, len(refs), role)
	}
	return refs[0], nil
}

// Inputs are all the objects the triggering manifest offers under role (at
// least one).
func (r *Run) Inputs(role string) ([]Ref, error) { return r.inputs(role) }

func (r *Run) inputs(role string) ([]Ref, error) {
	if !r.Step.Reading(role) {
		panic(fmt.Sprintf("runner: step %s reads %s, which the chain table does not declare", r.Step.Name, role))
	}
	if r.Prev == nil {
		return nil, fmt.Errorf("step %s has no triggering manifest", r.Step.Name)
	}
	refs := r.Prev.Offers(role)
	if len(refs) == 0 {
		return nil, Permanentf("%s's manifest offers no %s", r.Prev.Step, role)
	}
	return refs, nil
}

// Pass hands ref on to the next steps under role, unread: encode hands the
// record-level test rows on as test_records.
func (r *Run) Pass(role string, ref Ref) {
	r.checkWrites(role)
	ref.Role = role
	r.m.Forward = append(r.m.Forward, ref)
}

func (r *Run) checkWrites(role string) {
	if !r.Step.Writing(role) {
		panic(fmt.Sprintf("runner: step %s writes %s, which the chain table does not declare", r.Step.Name, role))
	}
}

// input records ref as read (once, however often it is read), and checks
// that what was read is what ref names: reads are pinned to the version a
// manifest recorded, and in a store without versions an object written
// again since (another ETag) means a newer run of the date replaced it.
// viaTwin says obj is ref's binary twin, read in its place: the CSV is
// recorded as read, with the twin that was.
func (r *Run) input(ref Ref, obj store.Object, viaTwin bool) error {
	opened := ref.Ref
	if viaTwin {
		opened = *ref.Twin
	}
	if opened.VersionID == "" && opened.ETag != "" && obj.ETag != opened.ETag {
		return fmt.Errorf("%w: %s was written again since it was recorded", ErrSuperseded, opened.Key)
	}
	in := Ref{Role: ref.Role, Ref: obj.Ref(), Rows: ref.Rows}
	if viaTwin {
		twin := obj.Ref()
		in.Ref, in.Twin = ref.Ref, &twin
	}
	r.recordInput(in)
	return nil
}

// recordInput adds in to the run's inputs unless it is there: a table read
// again, as a CSV or through its twin both times, is one read.
func (r *Run) recordInput(in Ref) {
	if !slices.ContainsFunc(r.m.Inputs, func(have Ref) bool { return have.Ref == in.Ref && (have.Twin == nil) == (in.Twin == nil) }) {
		r.m.Inputs = append(r.m.Inputs, in)
	}
}

// Get reads a whole input object, the version ref names.
func (r *Run) Get(ctx context.Context, ref Ref) ([]byte, error) {
	b, obj, err := store.ReadAll(ctx, r.Env.Store, ref.Ref, 0)
	if err != nil {
		return nil, err
	}
	if err := r.input(ref, obj, false); err != nil {
		return nil, err
	}
	return b, nil
}

// GetJSON reads a JSON input into v.
func (r *Run) GetJSON(ctx context.Context, ref Ref, v any) error {
	b, err := r.Get(ctx, ref)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return &Permanent{fmt.Errorf("decode %s: %w", ref.Key, err)}
	}
	return nil
}

// Put writes an object under key in the step's bucket and records it as an
// output with role. rows is the row count it holds, when it is a table.
func (r *Run) Put(ctx context.Context, role, key string, data []byte, contentType string, rows int64) (Ref, error) {
	return r.PutReader(ctx, role, key, bytes.NewReader(data), int64(len(data)), contentType, rows)
}

// PutReader is Put for a body of size bytes read from body; the store may
// rewind it to retry, so it must be an io.ReadSeeker to be retried without
// spooling.
func (r *Run) PutReader(ctx context.Context, role, key string, body io.Reader, size int64, contentType string, rows int64) (Ref, error) {
	r.checkWrites(role)
	ref, err := r.put(ctx, key, body, size, contentType)
	if err != nil {
		return Ref{}, err
	}
	ref.Role, ref.Rows = role, rows
	r.m.Outputs = append(r.m.Outputs, ref)
	return ref, nil
}

// put writes into the step's bucket, refusing keys outside the chain's
// prefixes.
func (r *Run) put(ctx context.Context, key string, body io.Reader, size int64, contentType string) (Ref, error) {
	if !chain.Owns(r.Step.Bucket, key) {
		return Ref{}, fmt.Errorf("step %s may not write %s: outside the chain's prefixes", r.Step.Name, key)
	}
	obj, err := r.Env.Store.Put(ctx, r.Env.Buckets.Name(r.Step.Bucket), key, body, size, contentType)
	if err != nil {
		return Ref{}, err
	}
	return Ref{Ref: obj.Ref()}, nil
}

// Copy copies the version src names under key in the step's bucket (the
// store copies it itself where it can) and records it as an output with
// role.
func (r *Run) Copy(ctx context.Context, role string, src Ref, key string) (Ref, error) {
	r.checkWrites(role)
	if !chain.Owns(r.Step.Bucket, key) {
		return Ref{}, fmt.Errorf("step %s may not write %s: outside the chain's prefixes", r.Step.Name, key)
	}
	obj, err := r.Env.Store.Copy(ctx, src.Ref, r.Env.Buckets.Name(r.Step.Bucket), key)
	if err != nil {
		return Ref{}, err
	}
	ref := Ref{Role: role, Ref: obj.Ref(), Rows: src.Rows}
	r.m.Outputs = append(r.m.Outputs, ref)
	return ref, nil
}

// Adopt records an object already in the step's bucket as an output with
// role (an earlier attempt wrote it).
func (r *Run) Adopt(ctx context.Context, role, key string) (Ref, error) {
	r.checkWrites(role)
	obj, err := r.Env.Store.Stat(ctx, r.Env.Buckets.Name(r.Step.Bucket), key)
	if err != nil {
		return Ref{}, err
	}
	ref := Ref{Role: role, Ref: obj.Ref()}
	r.m.Outputs = append(r.m.Outputs, ref)
	return ref, nil
}

// PutJSON writes v as indented JSON (fitted state is read by people too).
func (r *Run) PutJSON(ctx context.Context, role, key string, v any) (Ref, error) {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return Ref{}, fmt.Errorf("encode %s: %w", key, err)
	}
	return r.Put(ctx, role, key, b, "application/json", 0)
}

// Count adds to the run's row counts.
func (r *Run) Count(in, out, rejects int64) {
	r.m.RowsIn += in
	r.m.RowsOut += out
	r.m.Rejects += rejects
}

// RowsIn is the rows counted in so far.
func (r *Run) RowsIn() int64 { return r.m.RowsIn }

// Note records a fact about the run in its manifest, for people.
func (r *Run) Note(key string, v any) {
	if r.m.Notes == nil {
		r.m.Notes = map[string]any{}
	}
	r.m.Notes[key] = v
}

// Concurrently runs each of work at once, each on a fork of r that records
// what it reads, writes, counts and notes apart, and adds the forks to r in
// work's order, so that the manifest does not depend on which finished
// first; the first error (in work's order) is returned. A step's train and
// test tables go up together this way: one upload at a time left a core
// idle (its MD5 is one stream, and MinIO's too). Each work uses its own
// Run only; r is not used until Concurrently returns.
func (r *Run) Concurrently(work ...func(*Run) error) error {
	forks, errs := make([]*Run, len(work)), make([]error, len(work))
	var wg sync.WaitGroup
	for i, w := range work {
		f := *r
		f.m.Inputs, f.m.Outputs, f.m.Forward, f.m.Notes = nil, nil, nil, nil
		f.m.RowsIn, f.m.RowsOut, f.m.Rejects = 0, 0, 0
		forks[i] = &f
		wg.Go(func() { errs[i] = w(forks[i]) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	for _, f := range forks {
		for _, in := range f.m.Inputs {
			r.recordInput(in)
		}
		r.m.Outputs = append(r.m.Outputs, f.m.Outputs...)
		r.m.Forward = append(r.m.Forward, f.m.Forward...)
		r.Count(f.m.RowsIn, f.m.RowsOut, f.m.Rejects)
		for k, v := range f.m.Notes {
			r.Note(k, v)
		}
	}
	return nil
}

// Manifest returns the manifest built so far.
func (r *Run) Manifest() Manifest { return r.m }
