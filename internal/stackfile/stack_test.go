package stackfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/arrestcast/arrestcast/internal/repo"
)

func TestSubstitute(t *testing.T) {
	env := map[string]string{"SET": "x", "EMPTY": ""}
	look := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for in, want := range map[string]string{
		"${SET}":             "x",
		"${SET:-d}":          "x",
		"${EMPTY:-d}":        "d",
		"${UNSET:-a b * *}":  "a b * *",
		"${UNSET}":           "",
		"pre-${SET}-${SET}$": "pre-x-x$",
	} {
		if got := Substitute(in, look); got != want {
			t.Errorf("%q -> %q, want %q", in, got, want)
		}
	}
}

func TestLoadRepoStack(t *testing.T) {
	f, err := Load(repo.Path("stack.yml"), func(k string) (string, bool) {
		if k == "REGISTRY" {
			return "reg.example", true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != "1.0" || f.Provider.Gateway != "http://127.0.0.1:8080" {
		t.Errorf("provider %+v version %q", f.Provider, f.Version)
	}
	if f.Functions["predict"].Image != "reg.example/predict:latest" {
		t.Errorf("image %q", f.Functions["predict"].Image)
	}
	if s, ok := f.Functions["download"].Schedule(); !ok || s != "0 12 1 * *" {
		t.Errorf("download schedule %q %v", s, ok)
	}
	env, err := f.Env("train")
	if err != nil {
		t.Fatal(err)
	}
	if env["MINIO_ENDPOINT"] != "minio:9000" || env["TRAIN_BUDGET"] != "25s" {
		t.Errorf("train env %v", env)
	}
	for _, name := range f.Names() {
		fn := f.Functions[name]
		if _, err := os.Stat(filepath.Join(f.Path(fn.Handler), "handler.go")); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
