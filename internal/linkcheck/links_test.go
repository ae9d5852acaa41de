package linkcheck

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/arrestcast/arrestcast/internal/repo"
	"github.com/arrestcast/arrestcast/internal/stackfile"
)

const module = "github.com/arrestcast/arrestcast/"

// deps lists the module's packages a function links (with test: also what
// its handler's tests compile, as the image build runs them).
func deps(t *testing.T, fn string, test bool) []string {
	t.Helper()
	args := []string{"list", "-deps", "-f", "{{.ImportPath}}"}
	if test {
		args = append(args, "-test")
	}
	cmd := exec.Command("go", append(args, "./functions/"+fn)...)
	cmd.Dir = repo.Root()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v", fn, err)
	}
	var pkgs []string
	for _, p := range strings.Fields(string(out)) {
		p, _, _ = strings.Cut(p, " ") // "pkg [pkg.test]" variants
		if rel, ok := strings.CutPrefix(p, module); ok {
			pkgs = append(pkgs, rel)
		}
	}
	return pkgs
}

// only names the functions a package may be linked by (every other
// function must not link it).
var only = map[string][]string{
	"shared/platform/socrata":  {"download"},
	"shared/ml/gbt":            {"train", "predict", "monitor"}, // the monitor scores months through the artifact
	"shared/ml/linear":         {"train", "predict", "monitor"},
	"shared/ml/tune":           {"train"},
	"shared/ml/sample":         {"balance"},
	"shared/ml/knn":            {"balance", "features"},
	"shared/ml/mi":             {"features"},
	"shared/model":             {"train", "predict", "monitor"},
	"shared/platform/registry": {"train", "predict", "dashboard", "monitor"},
	"shared/runner":            {"download", "merge", "enrich", "split", "outliers", "encode", "scale", "balance", "features", "train", "monitor"},
}

func TestFunctionsLinkOnlyTheirOwnStep(t *testing.T) {
	f, err := stackfile.Load(repo.Path("stack.yml"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	linked := map[string]bool{}
	for _, fn := range f.Names() {
		for _, p := range deps(t, fn, false) {
			switch {
			case strings.HasPrefix(p, "shared/steps/") && !strings.HasPrefix(p, "shared/steps/internal/"):
				if step := strings.TrimPrefix(p, "shared/steps/"); step != fn {
					t.Errorf("functions/%s links the %s step (%s)", fn, step, p)
				}
			case !strings.HasPrefix(p, "shared/") && !strings.HasPrefix(p, "functions/"+fn):
				t.Errorf("functions/%s links %s, which is not under shared/", fn, p)
			}
			if fns, ok := only[p]; ok && !contains(fns, fn) {
				t.Errorf("functions/%s links %s (only %v should)", fn, p, fns)
			}
		}
		for _, p := range deps(t, fn, true) {
			linked[p] = true
		}
	}
	// The template's main package is compiled into every image too.
	for _, p := range templateDeps(t) {
		linked[p] = true
	}
	// Every package under shared/ is compiled by some function's image
	// build (its handler or the handler's tests): shared/ holds nothing else.
	cmd := exec.Command("go", "list", "./shared/...")
	cmd.Dir = repo.Root()
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var unused []string
	for _, p := range strings.Fields(string(out)) {
		rel := strings.TrimPrefix(p, module)
		if !linked[rel] {
			unused = append(unused, rel)
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		t.Errorf("no function compiles %v: they belong in internal/", unused)
	}
}

// templateDeps lists the module's packages template/golang-http's main.go
// links (its own module: read its imports, list theirs from the root).
func templateDeps(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), repo.Path("template/golang-http/main.go"), nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"list", "-deps", "-f", "{{.ImportPath}}"}
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); strings.HasPrefix(p, module) {
			args = append(args, p)
		}
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = repo.Root()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list the template's imports: %v", err)
	}
	var pkgs []string
	for _, p := range strings.Fields(string(out)) {
		if rel, ok := strings.CutPrefix(p, module); ok {
			pkgs = append(pkgs, rel)
		}
	}
	return pkgs
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x || path.Base(v) == x {
			return true
		}
	}
	return false
}

// shared/ is copied whole into every function's build context
// (configuration.copy): it holds no test data (internal/testdata does) nor
// any file the image build does not compile but Go sources.
func TestSharedHoldsNoTestData(t *testing.T) {
	err := filepath.WalkDir(repo.Path("shared"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repo.Root(), p)
		switch {
		case d.IsDir() && d.Name() == "testdata":
			t.Errorf("%s: test data belongs in internal/testdata", rel)
		case !d.IsDir():
			if fi, err := d.Info(); err == nil && fi.Size() > 1<<20 {
				t.Errorf("%s is %d bytes: shared/ is copied into every image's build context", rel, fi.Size())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
