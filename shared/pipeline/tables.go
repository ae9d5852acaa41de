package pipeline

import (
	"bytes"
	"context"
	"fmt"

	"github.com/arrestcast/arrestcast/shared/crime"
	"github.com/arrestcast/arrestcast/shared/table"
)

// GetTable reads one of the project's CSV tables. Rows the reader refuses
// are counted as the run's rejects (the writer was ours, so there should be none).
func (r *Run) GetTable(ctx context.Context, key string) (*table.Table, error) {
	b, err := r.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	res, err := crime.ReadCSV(ctx, bytes.NewReader(b))
	if err != nil {
		return nil, &Permanent{fmt.Errorf("read %s: %w", key, err)}
	}
	if n := len(res.Rejects); n > 0 {
		r.Count(0, 0, int64(n))
		r.Note("rejects_"+key, n)
	}
	return res.Table, nil
}

// PutTable writes t as the project's CSV under key in the data bucket.
func (r *Run) PutTable(ctx context.Context, key string, t *table.Table) (Ref, error) {
	var buf bytes.Buffer
	buf.Grow(t.Len() * 64)
	if err := crime.WriteCSV(ctx, &buf, t); err != nil {
		return Ref{}, fmt.Errorf("encode %s: %w", key, err)
	}
	return r.Put(ctx, "", key, buf.Bytes(), "text/csv", int64(t.Len()))
}

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
