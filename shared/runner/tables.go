package runner

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// GetTable reads one of the project's tables: the binary format when its key
// ends in chain.BinaryExt, else the project's CSV. Rows the CSV reader
// refuses are counted as the run's rejects (the writer was ours, so there
// should be none). Columns named in without are left out (never held, from
// a binary table).
func (r *Run) GetTable(ctx context.Context, ref Ref, without ...string) (*table.Table, error) {
	rc, obj, err := r.Env.Store.Open(ctx, ref.Ref)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if err := r.input(ref, obj); err != nil {
		return nil, err
	}
	var res *crime.ReadResult
	if strings.HasSuffix(ref.Key, chain.BinaryExt) {
		var t *table.Table
		if t, err = table.ReadBinaryWithout(rc, obj.Size, without...); err == nil {
			res = &crime.ReadResult{Table: t}
		}
	} else {
		// Parsed as it streams in: the file's bytes are never held whole.
		if res, err = crime.ReadCSVAs(ctx, crime.Sized(rc, obj.Size), numeric); err == nil {
			res.Table.Drop(without...)
		}
	}
	if err != nil {
		return nil, readError(ctx, err, "read "+ref.Key)
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
// into one table, in order, each object streamed once (merge's months: read
// apart and concatenated they were held twice). The refs' sizes, as a
// manifest or a listing gives them, only size the columns. Inputs and
// rejects are recorded as GetTable does.
func (r *Run) GetTables(ctx context.Context, parts []Ref) (*table.Table, error) {
	sizes := make([]int64, len(parts)+1) // sizes[i]: bytes of parts[i:] together
	for i := len(parts) - 1; i >= 0; i-- {
		sizes[i] = sizes[i+1] + max(parts[i].Size, 0)
	}
	var openErr error
	t, rejects, err := crime.ReadCSVsAs(ctx, len(parts), func(i int) (io.Reader, func(), error) {
		rc, obj, err := r.Env.Store.Open(ctx, parts[i].Ref)
		if err == nil {
			if err = r.input(parts[i], obj); err != nil {
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

// PutTable writes t under key, in the format key's extension names (see
// GetTable). The bytes are produced as they are sent, never held whole.
func (r *Run) PutTable(ctx context.Context, role, key string, t *table.Table) (Ref, error) {
	if strings.HasSuffix(key, chain.BinaryExt) {
		body, err := table.NewBinaryBody(t)
		if err != nil {
			return Ref{}, fmt.Errorf("encode %s: %w", key, err)
		}
		return r.PutReader(ctx, role, key, body, body.Size(), "application/octet-stream", int64(t.Len()))
	}
	body, err := crime.NewBody(ctx, t)
	if err != nil {
		return Ref{}, fmt.Errorf("encode %s: %w", key, err)
	}
	return r.PutReader(ctx, role, key, body, body.Size(), "text/csv", int64(t.Len()))
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
