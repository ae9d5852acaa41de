// Package filesource serves the download step from the portal's CSV export
// on disk (plain or .gz) instead of the API: the command-line pipeline, the
// benchmarks and the tests use it.
package filesource

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/geo"
	"github.com/arrestcast/arrestcast/shared/data/table"
)

// Source serves crimes from the portal's CSV export (plain or .gz) and
// stations from its CSV: the command-line pipeline and benchmarks use it.
type Source struct {
	CrimesPath, StationsPath string

	once     sync.Once
	loaded   *crime.ReadResult
	err      error
	mu       sync.Mutex
	reported bool
}

// Crimes returns the rows of the file dated in [from, to).
func (f *Source) Crimes(ctx context.Context, from, to time.Time) (*crime.ReadResult, error) {
	f.once.Do(func() { f.loaded, f.err = readPortalFile(ctx, f.CrimesPath) })
	if f.err != nil {
		return nil, f.err
	}
	f.mu.Lock()
	loaded := f.loaded
	f.mu.Unlock()
	if loaded == nil {
		return nil, errReleased
	}
	t := loaded.Table
	dates, err := t.Lookup(crime.ColDate, table.Time)
	if err != nil {
		return nil, err
	}
	rows := table.RowsDated(dates, from, to)
	// An export sorted by date holds each month in one run of rows: shared,
	// not copied (the loaded year stays held; a copy per month doubled it).
	var out *table.Table
	if n := len(rows); n > 0 && rows[n-1]-rows[0] == n-1 {
		out = t.Slice(rows[0], rows[n-1]+1)
	} else {
		out = t.Select(rows)
	}
	// The file's rejects have no date: they are reported once, with the first call.
	var rejects []crime.Reject
	f.mu.Lock()
	if !f.reported {
		rejects, f.reported = loaded.Rejects, true
	}
	f.mu.Unlock()
	return &crime.ReadResult{Table: out, Rejects: rejects}, nil
}

var errReleased = errors.New("filesource: the export was released")

// Release lets the loaded export go: the steps after download never fetch,
// and a year of crimes is most of a run's memory.
func (f *Source) Release() {
	f.mu.Lock()
	f.loaded = nil
	f.mu.Unlock()
}

// Stations reads the stations file.
func (f *Source) Stations(ctx context.Context) ([]geo.Station, error) {
	fh, err := os.Open(f.StationsPath)
	if err != nil {
		return nil, fmt.Errorf("open stations: %w", err)
	}
	defer fh.Close()
	return geo.ReadStationsCSV(ctx, fh)
}

// readPortalFile reads a portal CSV export, gunzipping it when needed. The
// file is streamed, never held whole (at 16× the year the .gz alone is
// 270 MB); its uncompressed size (gzip's ISIZE trailer) sizes the columns.
func readPortalFile(ctx context.Context, path string) (*crime.ReadResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read crimes file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read crimes file: %w", err)
	}
	br := bufio.NewReaderSize(f, 1<<20)
	magic, _ := br.Peek(2)
	if len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		return crime.ReadPortalCSV(ctx, crime.Sized(br, fi.Size()))
	}
	// klauspost's inflate is ~1.4× compress/gzip's on this file (200 → 282 MB/s, AMD EPYC):
	// the read is the one goroutine the parsers wait on.
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("gunzip crimes file: %w", err)
	}
	return crime.ReadPortalCSV(ctx, crime.Sized(zr, gzipSize(f, fi.Size())))
}

// gzipSize is a gzip file's uncompressed size from its trailer, or 0 when it
// cannot be told (the trailer holds it modulo 4 GiB, and for the last member
// of a multi-member file only: a hint, never a limit).
func gzipSize(f *os.File, size int64) int64 {
	var b [4]byte
	if size < 20 {
		return 0
	}
	if _, err := f.ReadAt(b[:], size-4); err != nil {
		return 0
	}
	n := int64(binary.LittleEndian.Uint32(b[:]))
	if n < size {
		return 0
	}
	return n
}
