package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recTB records what Unavailable does instead of ending the test.
type recTB struct {
	testing.TB
	fatal, skip string
}

func (r *recTB) Helper()                      {}
func (r *recTB) Fatal(args ...any)            { r.fatal = fmt.Sprint(args...) }
func (r *recTB) Skip(args ...any)             { r.skip = fmt.Sprint(args...) }
func (r *recTB) Fatalf(f string, args ...any) { r.fatal = fmt.Sprintf(f, args...) }

func TestUnavailableFailsInCI(t *testing.T) {
	t.Setenv("CI", "true")
	r := &recTB{TB: t}
	Unavailable(r, "MinIO missing: run make minio")
	if r.fatal != "MinIO missing: run make minio" || r.skip != "" {
		t.Errorf("in CI: fatal %q skip %q", r.fatal, r.skip)
	}
	t.Setenv("CI", "")
	r = &recTB{TB: t}
	Unavailable(r, "MinIO missing: run make minio")
	if r.skip != "MinIO missing: run make minio" || r.fatal != "" {
		t.Errorf("outside CI: fatal %q skip %q", r.fatal, r.skip)
	}
}

func TestWithDatabase(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:p@h:5/postgres?sslmode=disable": "postgres://u:p@h:5/t_x?sslmode=disable",
		"postgresql://h/":               "postgresql://h/t_x",
		"host=h user=u dbname=postgres": "host=h user=u dbname=postgres dbname=t_x",
	} {
		if got, err := withDatabase(in, "t_x"); err != nil || got != want {
			t.Errorf("withDatabase(%q) = %q %v, want %q", in, got, err, want)
		}
	}
}

func TestSlugAndBucketName(t *testing.T) {
	if got := slug("TestX/Sub_Case #2", '-', 40); got != "testx-sub-case-2" {
		t.Errorf("slug = %q", got)
	}
	b := BucketName(t)
	if len(b) > 63 || strings.ToLower(b) != b || !strings.HasPrefix(b, "t-testslugandbucketname-") {
		t.Errorf("bucket name %q", b)
	}
	if BucketName(t) == b {
		t.Error("two calls gave the same bucket name")
	}
}

func TestMinIOBinaryMessage(t *testing.T) {
	t.Setenv("MINIO_BIN", "")
	t.Setenv("PATH", "/nonexistent")
	t.Chdir(t.TempDir())
	_, err := MinIOBinary()
	if err == nil || !strings.Contains(err.Error(), "make minio") || !strings.Contains(err.Error(), MinIOModule) {
		t.Errorf("MinIOBinary outside the repo: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "minio")
	os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755)
	t.Setenv("MINIO_BIN", bin)
	if got, err := MinIOBinary(); err != nil || got != bin {
		t.Errorf("MINIO_BIN not honoured: %q %v", got, err)
	}
}
