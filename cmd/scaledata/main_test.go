package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/arrestcast/arrestcast/internal/repo"

	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/geo"
)

var crimesFile = repo.Path(repo.Crimes2017)

// sample writes the header and the first n rows of the real 2017 file.
func sample(t *testing.T, n int) string {
	t.Helper()
	f, err := os.Open(crimesFile)
	if err != nil {
		t.Skipf("needs %s: %v", crimesFile, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	cr := csv.NewReader(zr)
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.UseCRLF = true
	for i := 0; i <= n; i++ {
		rec, err := cr.Read()
		if err != nil {
			t.Fatal(err)
		}
		cw.Write(rec)
	}
	cw.Flush()
	path := filepath.Join(t.TempDir(), "sample.csv")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func readAll(t *testing.T, path string) [][]string {
	t.Helper()
	rc, err := openInput(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	recs, err := csv.NewReader(rc).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func num(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return v
}

func TestReplicateUniqueIDsAndBoundedJitter(t *testing.T) {
	const n, k, jitter = 400, 5, 3
	in := sample(t, n)
	out := filepath.Join(t.TempDir(), "x5.csv.gz")
	st, err := writeFile(context.Background(), in, out, options{K: k, Jitter: jitter, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	orig := readAll(t, in)
	got := readAll(t, out)
	if st.Rows != n*k || len(got) != 1+n*k || st.Copies != k {
		t.Fatalf("%d rows written (%d read back), want %d", st.Rows, len(got)-1, n*k)
	}
	if strings.Join(got[0], ",") != strings.Join(orig[0], ",") {
		t.Fatalf("header changed: %v", got[0])
	}
	c, err := findColumns(orig[0])
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	cases := map[string]bool{}
	origCases := map[string]bool{}
	for _, r := range orig[1:] {
		origCases[r[c.caseNo]] = true
	}
	var withXY, withLL int
	for copyK := 0; copyK < k; copyK++ {
		for i := 0; i < n; i++ {
			o, r := orig[1+i], got[1+copyK*n+i]
			if ids[r[c.id]] {
				t.Fatalf("copy %d row %d: ID %s repeated", copyK, i, r[c.id])
			}
			ids[r[c.id]] = true
			cases[r[c.caseNo]] = true
			for j := range o {
				switch j {
				case c.id, c.caseNo, c.x, c.y, c.lat, c.lon:
				default:
					if o[j] != r[j] {
						t.Fatalf("copy %d row %d: column %s changed %q → %q", copyK, i, orig[0][j], o[j], r[j])
					}
				}
			}
			if copyK == 0 {
				if strings.Join(o, ",") != strings.Join(r, ",") {
					t.Fatalf("copy 0 row %d differs from the input", i)
				}
				continue
			}
			if o[c.x] == "" {
				if r[c.x] != "" || r[c.lat] != "" {
					t.Fatalf("row without coordinates got some: %v", r)
				}
				continue
			}
			withXY++
			dx, dy := num(t, r[c.x])-num(t, o[c.x]), num(t, r[c.y])-num(t, o[c.y])
			if math.Abs(dx) > jitter || math.Abs(dy) > jitter || (dx == 0 && dy == 0) {
				t.Fatalf("copy %d row %d moved by (%v, %v) ft, want within ±%d and not zero", copyK, i, dx, dy, jitter)
			}
			if dx != math.Trunc(dx) || dy != math.Trunc(dy) {
				t.Fatalf("moved by fractional feet (%v, %v): X/Y stay whole feet as the portal gives them", dx, dy)
			}
			if o[c.lat] == "" {
				continue
			}
			withLL++
			// Latitude/longitude moved consistently: the projection of the new
			// lat/lon sits where the new X/Y are, as close as it did before.
			ox, oy := geo.ToStatePlane(num(t, o[c.lat]), num(t, o[c.lon]))
			nx, ny := geo.ToStatePlane(num(t, r[c.lat]), num(t, r[c.lon]))
			e0x, e0y := ox-num(t, o[c.x]), oy-num(t, o[c.y])
			e1x, e1y := nx-num(t, r[c.x]), ny-num(t, r[c.y])
			if math.Abs(e1x-e0x) > 0.05 || math.Abs(e1y-e0y) > 0.05 {
				t.Fatalf("copy %d row %d: lat/lon moved by (%.3f, %.3f) ft, X/Y by (%v, %v)", copyK, i, nx-ox, ny-oy, dx, dy)
			}
		}
	}
	if withXY == 0 || withLL == 0 {
		t.Fatal("sample has no coordinates to check")
	}
	if len(cases) != len(origCases)*k {
		t.Fatalf("%d distinct case numbers, want %d", len(cases), len(origCases)*k)
	}
	// Every copy of a row moved differently: none duplicates another.
	for i := 0; i < n; i++ {
		seen := map[string]int{}
		for copyK := 0; copyK < k; copyK++ {
			r := got[1+copyK*n+i]
			if r[c.x] == "" {
				continue
			}
			key := r[c.x] + "," + r[c.y]
			if prev, ok := seen[key]; ok {
				t.Fatalf("row %d: copies %d and %d have the same X/Y %s", i, prev, copyK, key)
			}
			seen[key] = copyK
		}
	}
	if int(st.Jittered) != withXY {
		t.Fatalf("reported %d jittered rows, counted %d", st.Jittered, withXY)
	}
}

func TestReplicatedFileReadsAsPortalCSV(t *testing.T) {
	in := sample(t, 200)
	out := filepath.Join(t.TempDir(), "x3.csv.gz")
	if _, err := writeFile(context.Background(), in, out, options{K: 3, Jitter: 5, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	rc, err := openInput(out)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	res, err := crime.ReadPortalCSV(context.Background(), rc)
	if err != nil {
		t.Fatal(err)
	}
	if res.Table.Len() != 600 || len(res.Rejects) != 0 {
		t.Fatalf("%d rows, %d rejects; want 600 and none (first reject: %+v)", res.Table.Len(), len(res.Rejects), res.Rejects)
	}
}

func TestReplicateDeterministicAndBounded(t *testing.T) {
	in := sample(t, 50)
	run := func(seed uint64) []byte {
		var buf bytes.Buffer
		_, err := replicate(context.Background(), func() (io.ReadCloser, error) { return openInput(in) }, &buf, options{K: 3, Jitter: 2, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	if !bytes.Equal(run(3), run(3)) {
		t.Fatal("same seed, different output")
	}
	if bytes.Equal(run(3), run(4)) {
		t.Fatal("the seed changes nothing")
	}
	open := func() (io.ReadCloser, error) { return openInput(in) }
	// ±1 ft gives 8 distinct moves: 10 copies need 9.
	if _, err := replicate(context.Background(), open, io.Discard, options{K: 10, Jitter: 1}); err == nil {
		t.Fatal("more copies than distinct offsets accepted")
	}
	if _, err := replicate(context.Background(), open, io.Discard, options{K: 0, Jitter: 5}); err == nil {
		t.Fatal("zero copies accepted")
	}
}

func TestRewriteRefusesIDsThatWouldCollide(t *testing.T) {
	c := columns{0, 1, 2, 3, 4, 5}
	rec := []string{strconv.Itoa(idStride), "JA1", "", "", "", ""}
	if _, err := rewrite(rec, c, 1, offset{1, 0}); err == nil {
		t.Fatal("ID ≥ stride accepted")
	}
}
