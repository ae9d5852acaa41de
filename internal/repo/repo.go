// Package repo finds files of this repository from a test, wherever the
// test's package sits: the real Chicago data (data/chicago/), the golden
// files made by bench/reference (internal/testdata/), stack.yml.
package repo

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

var (
	rootOnce sync.Once
	root     string
)

// Root is the repository's root: the nearest folder above the working
// directory holding go.mod ("" when there is none).
func Root() string {
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				root = dir
				return
			}
			up := filepath.Dir(dir)
			if up == dir {
				return
			}
			dir = up
		}
	})
	return root
}

// Path is rel (slash-separated, from the root) as a path to open.
func Path(rel string) string { return filepath.Join(Root(), filepath.FromSlash(rel)) }

// Need is Path for a file the test cannot do without: it fails the test
// when the file is absent.
func Need(t testing.TB, rel string) string {
	t.Helper()
	p := Path(rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is needed: %v", rel, err)
	}
	return p
}

// Data files used by many tests.
const (
	Crimes2017 = "data/chicago/crimes_2017.csv.gz"
	Stations   = "data/chicago/police_stations.csv"
)
