package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// GetTable reads one of the project's tables: the binary format when its key
// ends in chain.BinaryExt or it has a binary twin, else the project's CSV.
// Rows the CSV reader refuses are counted as the run's rejects (the writer
// was ours, so there should be none). Columns named in without are left out
// (never held, from a binary table).
func (r *Run) GetTable(ctx context.Context, ref Ref, without ...string) (*table.Table, error) {
	return r.getTable(ctx, ref, nil, without)
}

// getTable is GetTable reading a binary table into reuse's columns (see
// table.ReadBinaryReusing; nil: new ones).
func (r *Run) getTable(ctx context.Context, ref Ref, reuse *table.Table, without []string) (*table.Table, error) {
	src, binary := ref.Ref, strings.HasSuffix(ref.Key, chain.BinaryExt)
	if ref.Twin != nil {
		src, binary = *ref.Twin, true
	}
	rc, obj, err := r.Env.Store.Open(ctx, src)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if err := r.input(ref, obj, ref.Twin != nil); err != nil {
		return nil, err
	}
	var res *crime.ReadResult
	if binary {
		var t *table.Table
		if reuse != nil && len(without) == 0 {
			t, err = table.ReadBinaryReusing(rc, obj.Size, reuse)
		} else {
			t, err = table.ReadBinaryWithout(rc, obj.Size, without...)
		}
		if err == nil {
			res = &crime.ReadResult{Table: t}
		}
	} else {
		// Parsed as it streams in: the file's bytes are never held whole.
		if res, err = crime.ReadCSVAs(ctx, crime.Sized(rc, obj.Size), numeric); err == nil {
			res.Table.Drop(without...)
		}
	}
	if err != nil {
		return nil, readError(ctx, err, "read "+src.Key)
	}
	r.rejected(ref.Key, len(res.Rejects))
	return res.Table, nil
}

// numeric is the kind of every CSV column the crime schema does not name:
// the pipeline made them numeric (encodings, frequencies, scaled values).
func numeric(string) table.Kind { return table.Numeric }

func readError(ctx context.Context, err error, doing string) error {
	if store.IsTransient(err) || ctx.Err() != nil {
		return fmt.Errorf("%s: %w", doing, err)
	}
	return &Permanent{fmt.Errorf("%s: %w", doing, err)}
}

func (r *Run) rejected(key string, n int) {
	if n > 0 {
		r.Count(0, 0, int64(n))
		r.Note("rejects_"+key, n)
	}
}

// GetTables reads several of the project's CSV tables with the same columns
// into one table, in order, as one CSV made of them would read. When every
// part has a binary twin, the twins are read one at a time into columns
// sized once from the refs' row counts; else each CSV is streamed once
// (merge's months: read apart and concatenated they were held twice). The
// refs' sizes, as a manifest or a listing gives them, only size the columns.
// Inputs and rejects are recorded as GetTable does.
func (r *Run) GetTables(ctx context.Context, parts []Ref) (*table.Table, error) {
	if t, ok, err := r.getTwins(ctx, parts); ok || err != nil {
		return t, err
	}
	sizes := make([]int64, len(parts)+1) // sizes[i]: bytes of parts[i:] together
	for i := len(parts) - 1; i >= 0; i-- {
		sizes[i] = sizes[i+1] + max(parts[i].Size, 0)
	}
	var openErr error
	t, rejects, err := crime.ReadCSVsAs(ctx, len(parts), func(i int) (io.Reader, func(), error) {
		rc, obj, err := r.Env.Store.Open(ctx, parts[i].Ref)
		if err == nil {
			if err = r.input(parts[i], obj, false); err != nil {
				rc.Close()
			}
		}
		if err != nil {
			openErr = err
			return nil, nil, err
		}
		// Len counts the later objects too, so the columns are sized once.
		return crime.Sized(rc, obj.Size+sizes[i+1]), func() { rc.Close() }, nil
	}, numeric)
	if openErr != nil {
		return nil, openErr
	}
	if err != nil {
		return nil, readError(ctx, err, fmt.Sprintf("read %d tables", len(parts)))
	}
	for i, rj := range rejects {
		r.rejected(parts[i].Key, len(rj))
	}
	return t, nil
}

// getTwins is GetTables through the parts' twins; ok is false (nothing
// read) when a part has none. Each twin is AsRead of its CSV, whose
// dictionaries are in the order its rows meet the strings, so appending
// them in order gives the dictionaries one read of the CSVs would.
func (r *Run) getTwins(ctx context.Context, parts []Ref) (*table.Table, bool, error) {
	rows := 0
	for _, p := range parts {
		if p.Twin == nil {
			return nil, false, nil
		}
		rows += int(max(p.Rows, 0))
	}
	all := table.NewAppender(rows)
	var part *table.Table // read into the columns of the part before: it was copied into all
	for _, p := range parts {
		var err error
		if part, err = r.getTable(ctx, p, part, nil); err != nil {
			return nil, true, err
		}
		if err := all.Append(part); err != nil {
			return nil, true, &Permanent{fmt.Errorf("read %s: %w", p.Twin.Key, err)}
		}
	}
	return all.Table(), true, nil
}

// PutTable writes t under key, in the format key's extension names (see
// GetTable). The bytes are produced as they are sent, never held whole. A
// CSV table gets its binary twin (chain.TwinKey), recorded with it: the next
// step reads the twin, and the CSV is what people read.
func (r *Run) PutTable(ctx context.Context, role, key string, t *table.Table) (Ref, error) {
	if strings.HasSuffix(key, chain.BinaryExt) {
		body, err := table.NewBinaryBody(t)
		if err != nil {
			return Ref{}, fmt.Errorf("encode %s: %w", key, err)
		}
		return r.PutReader(ctx, role, key, body, body.Size(), "application/octet-stream", int64(t.Len()))
	}
	r.checkWrites(role)
	put := func(ctx context.Context, key string, body io.Reader, size int64, contentType string) (store.Ref, error) {
		ref, err := r.put(ctx, key, body, size, contentType)
		return ref.Ref, err
	}
	body, size, err := crime.Upload(ctx, t, store.LengthFirst(r.Env.Store))
	if err != nil {
		return Ref{}, fmt.Errorf("encode %s: %w", key, err)
	}
	csv, err := put(ctx, key, body, size, "text/csv")
	if err != nil {
		return Ref{}, err
	}
	twin, err := PutTwin(ctx, put, csv, t)
	if err != nil {
		return Ref{}, err
	}
	ref := Ref{Role: role, Ref: csv, Rows: int64(t.Len()), Twin: twin}
	r.m.Outputs = append(r.m.Outputs, ref)
	return ref, nil
}

// Putter writes one object and returns what it wrote.
type Putter func(ctx context.Context, key string, body io.Reader, size int64, contentType string) (store.Ref, error)

// StorePutter puts into bucket of st.
func StorePutter(st store.Store, bucket string) Putter {
	return func(ctx context.Context, key string, body io.Reader, size int64, contentType string) (store.Ref, error) {
		obj, err := st.Put(ctx, bucket, key, body, size, contentType)
		return obj.Ref(), err
	}
}

// PutTwin writes the binary twin of t, the table just written as the CSV
// csv, and returns it (nil when t has none: see crime.AsRead). It goes
// after the CSV because it is named after the CSV's ETag.
func PutTwin(ctx context.Context, put Putter, csv store.Ref, t *table.Table) (*store.Ref, error) {
	key, ok := chain.TwinKey(csv.Key, csv.ETag)
	if !ok {
		return nil, nil
	}
	read, ok := crime.AsRead(t, numeric)
	if !ok {
		return nil, nil
	}
	bin, err := table.NewBinaryBody(read)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", key, err)
	}
	tw, err := put(ctx, key, bin, bin.Size(), "application/octet-stream")
	if err != nil {
		return nil, err
	}
	return &tw, nil
}

// Twin finds the binary twin of the CSV table obj, as PutCSV wrote it (nil
// when there is none: the CSV is then parsed).
func Twin(ctx context.Context, st store.Store, obj store.Object) (*store.Ref, error) {
	key, ok := chain.TwinKey(obj.Key, obj.ETag)
	if !ok {
		return nil, nil
	}
	twin, err := st.Stat(ctx, obj.Bucket, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ref := twin.Ref()
	return &ref, nil
}

// GroupRows is how many rows a table made while it is uploaded holds at
// once (PutGroups): 32k rows of 20 floats is 5 MB.
const GroupRows = 32 << 10

// PutGroups writes, in the binary format, a table of rows rows with schema's
// columns that fill makes GroupRows rows at a time as the upload reads it
// (see table.NewBinaryGroups): a step's large output is never held whole.
func (r *Run) PutGroups(ctx context.Context, role, key string, schema []*table.Column, rows int, fill func(lo int, g *table.Table) error) (Ref, error) {
	if !strings.HasSuffix(key, chain.BinaryExt) {
		return Ref{}, fmt.Errorf("put %s: tables made in groups are binary (%s)", key, chain.BinaryExt)
	}
	body, err := table.NewBinaryGroups(schema, rows, GroupRows, fill)
	if err != nil {
		return Ref{}, fmt.Errorf("encode %s: %w", key, err)
	}
	return r.PutReader(ctx, role, key, body, body.Size(), "application/octet-stream", int64(rows))
}

// PutRejects writes refused input records with their reasons (nothing when
// there are none).
func (r *Run) PutRejects(ctx context.Context, role, key string, rejects []crime.Reject) error {
	if len(rejects) == 0 {
		return nil
	}
	var buf bytes.Buffer
	if err := crime.WriteRejects(ctx, &buf, rejects); err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	_, err := r.Put(ctx, role, key, buf.Bytes(), "text/csv", int64(len(rejects)))
	return err
}
