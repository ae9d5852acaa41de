//go:build unix && !linux

package devstack

// ListenerPid needs /proc: unknown elsewhere.
func ListenerPid(addr string) (int, bool) { return 0, false }

func processMentions(pid int, dir string) bool { return cmdlineHas(pid, dir) }

// StrayProcesses needs /proc: none found elsewhere.
func StrayProcesses(dev string, bins ...string) []int { return nil }
