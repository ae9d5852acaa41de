package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// BinaryExt ends the keys of tables kept in table's binary format: the
// intermediate outputs of split, outliers, encode, scale and balance. Between
// two of our own steps, CSV's float formatting and parsing were most of a
// step's time; the files people read (raw, 12-month, enriched, ML-ready)
// stay CSV.
const BinaryExt = ".tbl"

// GetTable reads one of the project's tables: the binary format when key
// ends in BinaryExt, else the project's CSV. Rows the CSV reader refuses are
// counted as the run's rejects (the writer was ours, so there should be none).
// Columns named in without are left out (never held, from a binary table).
func (r *Run) GetTable(ctx context.Context, key string, without ...string) (*table.Table, error) {
	rc, obj, err := r.Env.Store.Get(ctx, r.Env.Data, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var res *crime.ReadResult
	if strings.HasSuffix(key, BinaryExt) {
		var t *table.Table
		if t, err = table.ReadBinaryWithout(rc, obj.Size, without...); err == nil {
			res = &crime.ReadResult{Table: t}
		}
	} else {
		// Parsed as it streams in: the file's bytes are never held whole.
		// Every column the crime schema does not name is one the pipeline
		// made numeric (encodings, frequencies, scaled values).
		numeric := func(string) table.Kind { return table.Numeric }
		if res, err = crime.ReadCSVAs(ctx, &sizedReader{r: rc, n: int(obj.Size)}, numeric); err == nil {
			res.Table.Drop(without...)
		}
	}
	if err != nil {
		if store.IsTransient(err) || ctx.Err() != nil {
			return nil, fmt.Errorf("read %s: %w", key, err)
		}
		return nil, &Permanent{fmt.Errorf("read %s: %w", key, err)}
	}
	in := Ref{Bucket: r.Env.Data, Key: key, ETag: obj.ETag, Size: obj.Size}
	if !slices.Contains(r.m.Inputs, in) { // a table read twice is one input
		r.m.Inputs = append(r.m.Inputs, in)
	}
	if n := len(res.Rejects); n > 0 {
		r.Count(0, 0, int64(n))
		r.Note("rejects_"+key, n)
	}
	return res.Table, nil
}

// GetTables reads several of the project's CSV tables with the same columns
// (parts' keys, in the data bucket) into one table, in order, each object
// streamed once (merge's months: read apart and concatenated they were held
// twice). parts' sizes, as a manifest or a listing gives them, only size the
// columns. Inputs and rejects are recorded as GetTable does.
func (r *Run) GetTables(ctx context.Context, parts []Ref) (*table.Table, error) {
	keys := make([]string, len(parts))
	sizes := make([]int64, len(parts)+1) // sizes[i]: bytes of parts[i:] together
	for i := len(parts) - 1; i >= 0; i-- {
		keys[i], sizes[i] = parts[i].Key, sizes[i+1]+max(parts[i].Size, 0)
	}
	var openErr error
	numeric := func(string) table.Kind { return table.Numeric } // as in GetTable
	t, rejects, err := crime.ReadCSVsAs(ctx, len(keys), func(i int) (io.Reader, func(), error) {
		rc, obj, err := r.Env.Store.Get(ctx, r.Env.Data, keys[i])
		if err != nil {
			openErr = err
			return nil, nil, err
		}
		r.m.Inputs = append(r.m.Inputs, Ref{Bucket: r.Env.Data, Key: keys[i], ETag: obj.ETag, Size: obj.Size})
		// Len counts the later objects too, so the columns are sized once.
		return &sizedReader{r: rc, n: int(obj.Size + sizes[i+1])}, func() { rc.Close() }, nil
	}, numeric)
	if openErr != nil {
		return nil, openErr
	}
	if err != nil {
		if store.IsTransient(err) || ctx.Err() != nil {
			return nil, fmt.Errorf("read %d tables: %w", len(keys), err)
		}
		return nil, &Permanent{fmt.Errorf("read %d tables: %w", len(keys), err)}
	}
	for i, rj := range rejects {
		if n := len(rj); n > 0 {
			r.Count(0, 0, int64(n))
			r.Note("rejects_"+keys[i], n)
		}
	}
	return t, nil
}

// PutTable writes t under key in the data bucket, in the format key's
// extension names (see GetTable). The bytes are produced as they are sent,
// never held whole.
func (r *Run) PutTable(ctx context.Context, key string, t *table.Table) (Ref, error) {
	if strings.HasSuffix(key, BinaryExt) {
		body, err := table.NewBinaryBody(t)
		if err != nil {
			return Ref{}, fmt.Errorf("encode %s: %w", key, err)
		}
		return r.PutReader(ctx, "", key, body, body.Size(), "application/octet-stream", int64(t.Len()))
	}
	body, err := crime.NewBody(ctx, t)
	if err != nil {
		return Ref{}, fmt.Errorf("encode %s: %w", key, err)
	}
	return r.PutReader(ctx, "", key, body, body.Size(), "text/csv", int64(t.Len()))
}

// GroupRows is how many rows a table made while it is uploaded holds at
// once (PutGroups): 32k rows of 20 floats is 5 MB.
const GroupRows = 32 << 10

// PutGroups writes, in the binary format, a table of rows rows with schema's
// columns that fill makes GroupRows rows at a time as the upload reads it
// (see table.NewBinaryGroups): a step's large output is never held whole.
func (r *Run) PutGroups(ctx context.Context, key string, schema []*table.Column, rows int, fill func(lo int, g *table.Table) error) (Ref, error) {
	if !strings.HasSuffix(key, BinaryExt) {
		return Ref{}, fmt.Errorf("put %s: tables made in groups are binary (%s)", key, BinaryExt)
	}
	body, err := table.NewBinaryGroups(schema, rows, GroupRows, fill)
	if err != nil {
		return Ref{}, fmt.Errorf("encode %s: %w", key, err)
	}
	return r.PutReader(ctx, "", key, body, body.Size(), "application/octet-stream", int64(rows))
}

// sizedReader tells the CSV reader how many bytes are left, so it sizes its
// columns once.
type sizedReader struct {
	r io.Reader
	n int
}

func (s *sizedReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n -= n
	return n, err
}

func (s *sizedReader) Len() int { return max(s.n, 0) }

// PutRejects writes refused input records with their reasons.
func (r *Run) PutRejects(ctx context.Context, key string, rejects []crime.Reject) error {
	if len(rejects) == 0 {
		return nil
	}
	var buf bytes.Buffer
	if err := crime.WriteRejects(ctx, &buf, rejects); err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	_, err := r.Put(ctx, "", key, buf.Bytes(), "text/csv", int64(len(rejects)))
	return err
}

// prevOutput returns the key of the previous step's output whose key ends
// in suffix (a whole key names exactly that output).
func (r *Run) prevOutput(suffix string) (string, error) {
	if r.Prev == nil {
		return "", fmt.Errorf("step %s has no previous manifest", r.Step)
	}
	for _, o := range r.Prev.Outputs {
		if len(o.Key) >= len(suffix) && o.Key[len(o.Key)-len(suffix):] == suffix {
			return o.Key, nil
		}
	}
	return "", &Permanent{fmt.Errorf("previous step %s wrote no %s", r.Prev.Step, suffix)}
}
