// Package freeport finds loopback TCP ports for local servers (the local
// stack, test services).
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
)

// Below Linux's ephemeral range (32768–60999 by default): a port the kernel
// hands out for port 0 comes from that range, where any outgoing connection
// may take it as its source port between our check and the server's bind —
// the local stack's PostgreSQL once lost its port that way.
const lo, hi = 20000, 32767

// Get returns a loopback port that was free a moment ago, preferring ports
// outside the ephemeral range.
func Get() (int, error) {
	for range 64 {
		p := lo + rand.IntN(hi-lo+1)
		if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			ln.Close()
			return p, nil
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
