//go:build unix && !linux

package devstack

import "syscall"

// childAttr puts a supervised process in its own process group (no
// parent-death signal outside Linux: `down` stops them through the daemon).
func childAttr(syscall.Signal) *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// detachedAttr starts a process in its own session, so it outlives `up`.
func detachedAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
