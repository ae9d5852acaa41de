//go:build unix && !linux

package devstack

import "syscall"

// childAttr puts a function in its own process group (no parent-death signal
// outside Linux: `down` stops the functions through the daemon).
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// detachedAttr starts a service in its own session, so it outlives `up`.
func detachedAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
