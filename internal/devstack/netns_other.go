//go:build unix && !linux

package devstack

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os/exec"
)

// netNS: network namespaces are Linux only; elsewhere functions run without
// of-watchdog (see Runtime).
type netNS struct{}

var errNoNetNS = errors.New("network namespaces are Linux only")

func newNetNS() (*netNS, error)                                         { return nil, errNoNetNS }
func (n *netNS) Dial(context.Context, string, string) (net.Conn, error) { return nil, errNoNetNS }
func (n *netNS) Start(*exec.Cmd) error                                  { return errNoNetNS }
func (n *netNS) Forward([]string, *slog.Logger) error                   { return errNoNetNS }
func (n *netNS) Close()                                                 {}

// NetNSAvailable reports why this system cannot make network namespaces.
func NetNSAvailable() error { return errNoNetNS }
