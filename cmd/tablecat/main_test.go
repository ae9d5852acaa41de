package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/arrestcast/arrestcast/shared/data/table"
)

func TestPrintsCSV(t *testing.T) {
	tb, err := table.New(table.NewNumeric("x", []float64{1.5, -2}), table.NewCategorical("c", []int32{1, -1}, []string{"A", "B"}))
	if err != nil {
		t.Fatal(err)
	}
	body, err := table.NewBinaryBody(tb)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(body)
	path := filepath.Join(t.TempDir(), "t.tbl")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	const want = "x,c\n1.5,B\n-2,\n"
	for _, args := range [][]string{{path}, nil} {
		var out bytes.Buffer
		if err := run(args, bytes.NewReader(data), &out); err != nil {
			t.Fatal(err)
		}
		if out.String() != want {
			t.Errorf("args %v: %q, want %q", args, out.String(), want)
		}
	}
	var out bytes.Buffer
	if err := run(nil, bytes.NewReader([]byte("x,c\n1,2\n")), &out); err == nil {
		t.Error("a CSV file was accepted as a binary table")
	}
}
