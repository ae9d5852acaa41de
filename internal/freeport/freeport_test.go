package freeport

import (
	"fmt"
	"net"
	"testing"
)

func TestGetGivesBindablePortsOutsideTheEphemeralRange(t *testing.T) {
	seen := map[int]bool{}
	for range 20 {
		p, err := Get()
		if err != nil {
			t.Fatal(err)
		}
		if p < lo || p > hi {
			t.Errorf("port %d outside [%d, %d]", p, lo, hi)
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("port %d: %v", p, err)
		}
		ln.Close()
		seen[p] = true
	}
	if len(seen) < 10 {
		t.Errorf("only %d distinct ports in 20 draws", len(seen))
	}
}
