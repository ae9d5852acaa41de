package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// benchPackages lists the packages under shared/ whose tests define a
// benchmark, as ./shared/... paths.
func benchPackages(root string) ([]string, error) {
	seen := map[string]bool{}
	err := filepath.WalkDir(filepath.Join(root, "shared"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte("\nfunc Benchmark")) {
			rel, _ := filepath.Rel(root, filepath.Dir(path))
			seen["./"+filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find benchmarks: %w", err)
	}
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	slices.Sort(out)
	return out, nil
}

// parseBenchOutput reads the result lines of `go test -bench -benchmem`:
//
//	BenchmarkName-2   	      10	 123456 ns/op	  4096 B/op	  12 allocs/op	  45.6 MB/s
func parseBenchOutput(pkg string, out []byte) []MicroResult {
	var res []MicroResult
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		iters, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue // a benchmark's log line, not a result
		}
		r := MicroResult{Package: pkg, Name: strings.TrimPrefix(f[0], "Benchmark"), Procs: 1, Iterations: iters}
		if i := strings.LastIndexByte(r.Name, '-'); i > 0 {
			if p, err := strconv.Atoi(r.Name[i+1:]); err == nil {
				r.Name, r.Procs = r.Name[:i], p
			}
		}
		for j := 2; j+1 < len(f); j += 2 {
			v, err := strconv.ParseFloat(f[j], 64)
			if err != nil {
				break
			}
			switch unit := f[j+1]; unit {
			case "ns/op":
				r.NsPerOp = v
			case "B/op":
				r.BytesPerOp = v
			case "allocs/op":
				r.AllocsPerOp = v
			default:
				if r.Extra == nil {
					r.Extra = map[string]float64{}
				}
				r.Extra[unit] = v
			}
		}
		res = append(res, r)
	}
	return res
}

// micro runs each package's benchmarks on its own, so one failing package
// does not lose the others.
func (b *bench) micro(ctx context.Context) *MicroPart {
	p := &MicroPart{MeasuredAt: time.Now().UTC(), Benchtime: b.cfg.Benchtime}
	pkgs := b.cfg.MicroPkgs
	if len(pkgs) == 0 {
		var err error
		if pkgs, err = benchPackages(b.cfg.Root); err != nil {
			p.Skipped = err.Error()
			return p
		}
	}
	for _, pkg := range pkgs {
		args := []string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "1", "-timeout", "30m"}
		if b.cfg.Benchtime != "" {
			args = append(args, "-benchtime", b.cfg.Benchtime)
		}
		args = append(args, pkg)
		slog.Info("micro benchmarks", "package", pkg)
		name := "micro-" + strings.ReplaceAll(strings.TrimPrefix(pkg, "./"), "/", "_")
		out, _, err := b.run(ctx, name, "go", args, nil, 40*time.Minute)
		rs := parseBenchOutput(strings.TrimPrefix(pkg, "./"), out)
		p.Results = append(p.Results, rs...)
		if err != nil {
			p.Failed = append(p.Failed, fmt.Sprintf("%s: %v%s", pkg, firstLine(err.Error()), lastLines(out, 6)))
		}
		if ctx.Err() != nil {
			break
		}
	}
	return p
}

// lastLines quotes the end of a command's output (go test reports failures
// on stdout).
func lastLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 1 && lines[0] == "" {
		return ""
	}
	return ": " + strings.Join(lines, " | ")
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
