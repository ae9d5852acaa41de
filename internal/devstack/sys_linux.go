package devstack

import "syscall"

// childAttr puts a function in its own process group (a signal meant for the
// daemon's group does not reach it) and has the kernel send it SIGTERM if the
// daemon dies without stopping it, so no function outlives its supervisor.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// detachedAttr starts a service in its own session, so it outlives `up`.
func detachedAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true}
}
