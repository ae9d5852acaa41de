// Command tablecat prints a binary table (the pipeline's *.tbl objects) as
// the project's CSV:
//
//	go run ./cmd/tablecat .dev/minio/data/2-processed-data/scale/2018-01-01/train.tbl | head
//	mc cat local/data/2-processed-data/scale/2018-01-01/train.tbl | go run ./cmd/tablecat
package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tablecat:", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	in, size := stdin, int64(-1)
	switch len(args) {
	case 0:
	case 1:
		f, err := os.Open(args[0])
		if err != nil {
			return err
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil {
			size = fi.Size()
		}
		in = f
	default:
		return fmt.Errorf("usage: tablecat [FILE.tbl] (standard input when no file)")
	}
	t, err := table.ReadBinary(bufio.NewReaderSize(in, 1<<16), size)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(stdout, 1<<16)
	if err := crime.WriteCSV(context.Background(), w, t); err != nil {
		return err
	}
	return w.Flush()
}
