// Command scaledata writes a bigger crimes file for the scale benchmark: the
// portal CSV export replicated K times. Copy 0 is the input as it is; every
// other copy gets new unique IDs (ID + k·10⁸) and case numbers ("JB146365-k"),
// its X/Y moved by a few feet (a different offset in each copy, never none,
// so no copy duplicates another after enrichment) and its latitude/longitude
// moved consistently. Dates are kept, so the copies stay in the same 365-day
// window. Input and output are streamed: memory does not grow with K.
//
//	go run ./cmd/scaledata -in data/chicago/crimes_2017.csv.gz -k 16 -out /tmp/crimes_x16.csv.gz
package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/geo"
)

// idStride separates the copies' IDs: the portal's IDs are below 10⁸.
const idStride = 100_000_000

type options struct {
	K      int    // copies, ≥ 1
	Jitter int    // largest X/Y offset in feet, ≥ 1
	Seed   uint64 // picks each row's offsets
	Level  int    // gzip level when the output is .gz
}

type stats struct {
	Rows     int64 // rows written
	Copies   int
	Jittered int64 // rows whose coordinates were moved
}

func main() {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	in := flag.String("in", "data/chicago/crimes_2017.csv.gz", "portal CSV export (.gz or plain)")
	out := flag.String("out", "", "output file (.gz is compressed); - for stdout")
	k := flag.Int("k", 4, "copies of the input")
	jitter := flag.Int("jitter", 5, "largest X/Y offset in feet")
	seed := flag.Uint64("seed", 1, "seed of the offsets")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "scaledata: -out is required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	st, err := writeFile(ctx, *in, *out, options{K: *k, Jitter: *jitter, Seed: *seed, Level: gzip.BestSpeed})
	if err != nil {
		fmt.Fprintln(os.Stderr, "scaledata:", err)
		os.Exit(1)
	}
	slog.Info("scaled", "in", *in, "out", *out, "copies", st.Copies, "rows", st.Rows, "jittered", st.Jittered,
		"seconds", time.Since(start).Seconds())
}

// writeFile replicates in into out, through a temporary file renamed at the
// end so a half-written output is never taken for a whole one.
func writeFile(ctx context.Context, in, out string, o options) (stats, error) {
	open := func() (io.ReadCloser, error) { return openInput(in) }
	if out == "-" {
		bw := bufio.NewWriterSize(os.Stdout, 1<<20)
		st, err := replicate(ctx, open, bw, o)
		if err == nil {
			err = bw.Flush()
		}
		return st, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".scaledata-*")
	if err != nil {
		return stats{}, fmt.Errorf("create output: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		return stats{}, fmt.Errorf("create output: %w", err)
	}
	bw := bufio.NewWriterSize(tmp, 1<<20)
	var w io.Writer = bw
	var zw *gzip.Writer
	if strings.HasSuffix(out, ".gz") {
		level := o.Level
		if level == 0 {
			level = gzip.BestSpeed
		}
		zw, _ = gzip.NewWriterLevel(bw, level)
		w = zw
	}
	st, err := replicate(ctx, open, w, o)
	if err == nil && zw != nil {
		err = zw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return st, fmt.Errorf("write %s: %w", out, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return st, fmt.Errorf("rename output: %w", err)
	}
	return st, nil
}

// openInput opens a file, decompressing it when it starts with gzip's magic.
func openInput(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open input: %w", err)
	}
	br := bufio.NewReaderSize(f, 1<<20)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("open input %s: %w", path, err)
		}
		return struct {
			io.Reader
			io.Closer
		}{zr, f}, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{br, f}, nil
}

// columns are the indexes of the fields scaledata changes.
type columns struct{ id, caseNo, x, y, lat, lon int }

func findColumns(header []string) (columns, error) {
	c := columns{-1, -1, -1, -1, -1, -1}
	for i, h := range header {
		switch crime.SnakeCase(strings.TrimPrefix(h, "\ufeff")) {
		case crime.ColID:
			c.id = i
		case crime.ColCaseNumber:
			c.caseNo = i
		case crime.ColX:
			c.x = i
		case crime.ColY:
			c.y = i
		case crime.ColLatitude:
			c.lat = i
		case crime.ColLongitude:
			c.lon = i
		}
	}
	for name, i := range map[string]int{"ID": c.id, "Case Number": c.caseNo, "X Coordinate": c.x, "Y Coordinate": c.y, "Latitude": c.lat, "Longitude": c.lon} {
		if i < 0 {
			return c, fmt.Errorf("header lacks column %q", name)
		}
	}
	return c, nil
}

// offset is an X/Y move in feet.
type offset struct{ dx, dy int }

// offsets lists every non-zero move within ±j feet, shuffled by seed.
func offsets(j int, seed uint64) []offset {
	var out []offset
	for dx := -j; dx <= j; dx++ {
		for dy := -j; dy <= j; dy++ {
			if dx != 0 || dy != 0 {
				out = append(out, offset{dx, dy})
			}
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x5ca1eda7a))
	rng.Shuffle(len(out), func(a, b int) { out[a], out[b] = out[b], out[a] })
	return out
}

// mix is splitmix64: a row's index to a well-spread number.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// replicate writes the header once and then K copies of the input's rows.
// Row i of copy k (k ≥ 1) moves by offs[(mix(seed^i) + k − 1) mod len(offs)]:
// the copies of one row all move differently, and none stays in place.
func replicate(ctx context.Context, open func() (io.ReadCloser, error), w io.Writer, o options) (stats, error) {
	var st stats
	if o.K < 1 {
		return st, fmt.Errorf("copies %d: want at least 1", o.K)
	}
	if o.Jitter < 1 {
		return st, fmt.Errorf("jitter %d ft: want at least 1", o.Jitter)
	}
	offs := offsets(o.Jitter, o.Seed)
	if o.K-1 > len(offs) {
		return st, fmt.Errorf("%d copies need more distinct offsets than ±%d ft gives (%d): raise -jitter", o.K, o.Jitter, len(offs))
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true // as the portal exports
	var header []string
	for k := 0; k < o.K; k++ {
		rc, err := open()
		if err != nil {
			return st, err
		}
		err = copyOnce(ctx, rc, cw, k, offs, o.Seed, &header, &st)
		rc.Close()
		if err != nil {
			return st, fmt.Errorf("copy %d: %w", k, err)
		}
		st.Copies++
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return st, fmt.Errorf("write csv: %w", err)
	}
	return st, nil
}

func copyOnce(ctx context.Context, r io.Reader, cw *csv.Writer, k int, offs []offset, seed uint64, header *[]string, st *stats) error {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return fmt.Errorf("read header: %w", err)
	}
	if *header == nil {
		*header = append([]string(nil), head...)
		if err := cw.Write(head); err != nil {
			return fmt.Errorf("write header: %w", err)
		}
	} else if strings.Join(head, ",") != strings.Join(*header, ",") {
		return errors.New("header changed between reads of the input")
	}
	cols, err := findColumns(head)
	if err != nil {
		return err
	}
	for i := uint64(0); ; i++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read row %d: %w", i+1, err)
		}
		if i%8192 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if k > 0 {
			off := offs[(mix(seed^i)+uint64(k-1))%uint64(len(offs))]
			moved, err := rewrite(rec, cols, k, off)
			if err != nil {
				return fmt.Errorf("row %d: %w", i+1, err)
			}
			if moved {
				st.Jittered++
			}
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write row: %w", err)
		}
		st.Rows++
	}
}

// rewrite turns rec into copy k of itself, in place. moved reports whether
// it had coordinates to move.
func rewrite(rec []string, c columns, k int, off offset) (moved bool, err error) {
	id, err := strconv.ParseInt(strings.TrimSpace(rec[c.id]), 10, 64)
	if err != nil {
		return false, fmt.Errorf("ID %q: %w", rec[c.id], err)
	}
	if id < 0 || id >= idStride {
		return false, fmt.Errorf("ID %d outside [0, %d): the copies' IDs would collide", id, idStride)
	}
	rec[c.id] = strconv.FormatInt(id+int64(k)*idStride, 10)
	rec[c.caseNo] = rec[c.caseNo] + "-" + strconv.Itoa(k)

	x, okX := parseCoord(rec[c.x])
	y, okY := parseCoord(rec[c.y])
	lat, okLat := parseCoord(rec[c.lat])
	lon, okLon := parseCoord(rec[c.lon])
	dx, dy := float64(off.dx), float64(off.dy)
	if okX && okY {
		rec[c.x] = strconv.FormatFloat(x+dx, 'f', -1, 64)
		rec[c.y] = strconv.FormatFloat(y+dy, 'f', -1, 64)
		moved = true
	}
	if okLat && okLon {
		dlat, dlon := feetToDegrees(lat, lon, dx, dy)
		rec[c.lat] = strconv.FormatFloat(lat+dlat, 'f', 9, 64)
		rec[c.lon] = strconv.FormatFloat(lon+dlon, 'f', 9, 64)
		moved = true
	}
	return moved, nil
}

func parseCoord(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// feetToDegrees converts a move of dx, dy feet in EPSG:3435 at lat, lon into
// degrees, by the projection's local Jacobian (exact to far below a foot over
// a few feet), so latitude/longitude stay consistent with X/Y.
func feetToDegrees(lat, lon, dx, dy float64) (dlat, dlon float64) {
	const h = 1e-4 // degrees, about 36 feet
	x1, y1 := geo.ToStatePlane(lat+h, lon)
	x0, y0 := geo.ToStatePlane(lat-h, lon)
	x3, y3 := geo.ToStatePlane(lat, lon+h)
	x2, y2 := geo.ToStatePlane(lat, lon-h)
	// J = [[∂x/∂lat, ∂x/∂lon], [∂y/∂lat, ∂y/∂lon]]
	a, b := (x1-x0)/(2*h), (x3-x2)/(2*h)
	c, d := (y1-y0)/(2*h), (y3-y2)/(2*h)
	det := a*d - b*c
	dlat = (d*dx - b*dy) / det
	dlon = (-c*dx + a*dy) / det
	return dlat, dlon
}
