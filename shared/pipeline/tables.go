package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/arrestcast/arrestcast/shared/crime"
	"github.com/arrestcast/arrestcast/shared/store"
	"github.com/arrestcast/arrestcast/shared/table"
)

// GetTable reads one of the project's CSV tables. Rows the reader refuses
// are counted as the run's rejects (the writer was ours, so there should be none).
func (r *Run) GetTable(ctx context.Context, key string) (*table.Table, error) {
	rc, obj, err := r.Env.Store.Get(ctx, r.Env.Data, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	// Parsed as it streams in: the file's bytes are never held whole.
	// Every column the crime schema does not name is one the pipeline made
	// numeric (encodings, frequencies, scaled values).
	numeric := func(string) table.Kind { return table.Numeric }
	res, err := crime.ReadCSVAs(ctx, &sizedReader{r: rc, n: int(obj.Size)}, numeric)
	if err != nil {
		if store.IsTransient(err) || ctx.Err() != nil {
			return nil, fmt.Errorf("read %s: %w", key, err)
		}
		return nil, &Permanent{fmt.Errorf("read %s: %w", key, err)}
	}
	r.m.Inputs = append(r.m.Inputs, Ref{Bucket: r.Env.Data, Key: key, ETag: obj.ETag, Size: obj.Size})
	if n := len(res.Rejects); n > 0 {
		r.Count(0, 0, int64(n))
		r.Note("rejects_"+key, n)
	}
	return res.Table, nil
}

// PutTable writes t as the project's CSV under key in the data bucket.
func (r *Run) PutTable(ctx context.Context, key string, t *table.Table) (Ref, error) {
	var buf bytes.Buffer
	buf.Grow(csvSize(t))
	if err := crime.WriteCSV(ctx, &buf, t); err != nil {
		return Ref{}, fmt.Errorf("encode %s: %w", key, err)
	}
	return r.Put(ctx, "", key, buf.Bytes(), "text/csv", int64(t.Len()))
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

// csvSize estimates the size of t as CSV from a sample of its rows, so the
// buffer is allocated once and about right: growing a 60 MB buffer by
// doubling costs copies, and a generous bound costs as much in zeroing.
func csvSize(t *table.Table) int {
	n := t.Len()
	if n == 0 {
		return 4096
	}
	const samples = 256
	step := max(1, n/samples)
	bytes, rows := 0, 0
	for i := 0; i < n; i += step {
		bytes += len(crime.FormatRow(t, i)) + 1
		rows++
	}
	return 4096 + int(float64(bytes)/float64(rows)*float64(n)*1.05)
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
