package devstack

import "syscall"

// childAttr puts a supervised process in its own process group (a signal
// meant for the daemon's group does not reach it) and has the kernel send it
// sig (its stop signal) if the daemon dies without stopping it, so nothing
// outlives its supervisor.
func childAttr(sig syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: sig}
}

// detachedAttr starts a process in its own session, so it outlives `up`.
func detachedAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true}
}
