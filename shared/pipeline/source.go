package pipeline

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/csv"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/geo"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/platform/socrata"
)

// Source is where download gets crimes and police stations.
type Source interface {
	// Crimes returns the crimes dated in [from, to) (Chicago wall clock), and
	// the records that could not be read.
	Crimes(ctx context.Context, from, to time.Time) (*crime.ReadResult, error)
	Stations(ctx context.Context) ([]geo.Station, error)
}

// PortalSource reads the Chicago Data Portal's SODA API (or a stand-in).
type PortalSource struct{ Client *socrata.Client }

// NewPortalSource builds the portal source from SOCRATA_BASE_URL,
// SOCRATA_FORMAT (csv, the default, or json) and the optional app-token
// secret. CSV is the default: a page of 50,000 crimes is 14 MB against
// JSON's 34 MB, and decodes several times faster.
func NewPortalSource(log *slog.Logger) (*PortalSource, error) {
	token, err := config.OptionalSecret(config.SecretSocrataToken)
	if err != nil {
		return nil, err
	}
	c, err := socrata.New(socrata.Config{BaseURL: config.Env("SOCRATA_BASE_URL", socrata.DefaultBaseURL), AppToken: token, Logger: log,
		Format: socrata.Format(config.Env("SOCRATA_FORMAT", string(socrata.FormatCSV)))})
	if err != nil {
		return nil, fmt.Errorf("portal client: %w", err)
	}
	return &PortalSource{Client: c}, nil
}

// Crimes pages through the crimes dataset and decodes each page.
func (p *PortalSource) Crimes(ctx context.Context, from, to time.Time) (*crime.ReadResult, error) {
	var parts []*table.Table
	var rejects []crime.Reject
	offset := 0
	decode := crime.ReadSODA
	if p.Client.Format() == socrata.FormatCSV {
		// The API's CSV has the JSON's field names as its header and the
		// same value spellings; the portal CSV reader takes both.
		decode = crime.ReadPortalCSV
	}
	err := p.Client.Crimes(ctx, from, to, func(body []byte) (int, error) {
		res, err := decode(ctx, bytes.NewReader(body))
		if err != nil {
			return 0, fmt.Errorf("decode crimes page: %w", err)
		}
		for _, rj := range res.Rejects {
			rj.Line += offset
			rejects = append(rejects, rj)
		}
		n := res.Table.Len() + len(res.Rejects)
		offset += n
		parts = append(parts, res.Table)
		return n, nil
	})
	if err != nil {
		if !socrata.IsTransient(err) && ctx.Err() == nil {
			return nil, &Permanent{fmt.Errorf("fetch crimes: %w", err)}
		}
		return nil, fmt.Errorf("fetch crimes: %w", err)
	}
	t, err := table.Concat(parts...)
	if err != nil {
		return nil, fmt.Errorf("join crime pages: %w", err)
	}
	return &crime.ReadResult{Table: t, Rejects: rejects}, nil
}

// Stations fetches the police stations dataset.
func (p *PortalSource) Stations(ctx context.Context) ([]geo.Station, error) {
	var out []geo.Station
	decode := geo.ReadStationsJSON
	if p.Client.Format() == socrata.FormatCSV {
		decode = geo.ReadStationsCSV
	}
	err := p.Client.Stations(ctx, func(body []byte) (int, error) {
		s, err := decode(ctx, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		out = append(out, s...)
		return len(s), nil
	})
	if err != nil {
		return nil, fmt.Errorf("fetch stations: %w", err)
	}
	return out, nil
}

// FileSource serves crimes from the portal's CSV export (plain or .gz) and
// stations from its CSV: the command-line pipeline and benchmarks use it.
type FileSource struct {
	CrimesPath, StationsPath string

	once     sync.Once
	loaded   *crime.ReadResult
	err      error
	mu       sync.Mutex
	reported bool
}

// Crimes returns the rows of the file dated in [from, to).
func (f *FileSource) Crimes(ctx context.Context, from, to time.Time) (*crime.ReadResult, error) {
	f.once.Do(func() { f.loaded, f.err = readPortalFile(ctx, f.CrimesPath) })
	if f.err != nil {
		return nil, f.err
	}
	t := f.loaded.Table
	dates, err := t.Lookup("date", table.Time)
	if err != nil {
		return nil, err
	}
	lo, hi := table.WallSeconds(from), table.WallSeconds(to)
	var rows []int
	for i, d := range dates.Times {
		if d != table.NoTime && d >= lo && d < hi {
			rows = append(rows, i)
		}
	}
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
		rejects, f.reported = f.loaded.Rejects, true
	}
	f.mu.Unlock()
	return &crime.ReadResult{Table: out, Rejects: rejects}, nil
}

// Stations reads the stations file.
func (f *FileSource) Stations(ctx context.Context) ([]geo.Station, error) {
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
		return crime.ReadPortalCSV(ctx, &sizedReader{r: br, n: int(fi.Size())})
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("gunzip crimes file: %w", err)
	}
	return crime.ReadPortalCSV(ctx, &sizedReader{r: zr, n: gzipSize(f, fi.Size())})
}

// gzipSize is a gzip file's uncompressed size from its trailer, or 0 when it
// cannot be told (the trailer holds it modulo 4 GiB, and for the last member
// of a multi-member file only: a hint, never a limit).
func gzipSize(f *os.File, size int64) int {
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
	return int(n)
}

// stationsCSV writes stations with the portal API's snake_case names.
func stationsCSV(stations []geo.Station) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	_ = w.Write([]string{"district", "district_name", "address", "x_coordinate", "y_coordinate", "latitude", "longitude"})
	for _, s := range stations {
		_ = w.Write([]string{s.District, s.Name, strings.TrimSpace(s.Address), f(s.X), f(s.Y), f(s.Lat), f(s.Lon)})
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}
