package loadgen

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// ReadBodies reads request bodies as JSON lines: every non-blank line is one
// body, sent as is.
func ReadBodies(r io.Reader) ([][]byte, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	var out [][]byte
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		out = append(out, bytes.Clone(line))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read bodies: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("read bodies: no body found")
	}
	return out, nil
}

// WriteBodies writes bodies as JSON lines, the form ReadBodies reads.
func WriteBodies(w io.Writer, bodies [][]byte) error {
	bw := bufio.NewWriter(w)
	for i, b := range bodies {
		if bytes.ContainsAny(b, "\r\n") {
			return fmt.Errorf("write bodies: body %d spans several lines", i)
		}
		bw.Write(b)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write bodies: %w", err)
	}
	return nil
}
