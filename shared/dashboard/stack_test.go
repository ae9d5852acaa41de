package dashboard_test

import (
	"testing"

	"github.com/arrestcast/arrestcast/internal/repo"
	"github.com/arrestcast/arrestcast/internal/stackfile"
)

// The dashboard's next tick is download's schedule: stack.yml gives both the
// same value, with or without DOWNLOAD_SCHEDULE set; the dashboard reads
// only the database secret.
func TestStackSchedule(t *testing.T) {
	for _, env := range []map[string]string{{}, {"DOWNLOAD_SCHEDULE": "30 6 2 * *"}} {
		f, err := stackfile.Load(repo.Path("stack.yml"), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			t.Fatal(err)
		}
		want, ok := f.Functions["download"].Schedule()
		got := f.Functions["dashboard"].Environment["DOWNLOAD_SCHEDULE"]
		if !ok || got != want {
			t.Errorf("with %v: dashboard DOWNLOAD_SCHEDULE %q, download's schedule %q", env, got, want)
		}
		if s := f.Functions["dashboard"].Secrets; len(s) != 1 || s[0] != "arrestcast-database-url" {
			t.Errorf("dashboard secrets %v", s)
		}
	}
}
