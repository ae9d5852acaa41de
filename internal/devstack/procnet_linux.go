package devstack

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ListenerPid finds the process listening on addr's TCP port (in this
// network namespace), from /proc/net/tcp{,6} and the processes' open sockets.
func ListenerPid(addr string) (int, bool) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, false
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return 0, false
	}
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			// sl local_address rem_address st ... inode (10th)
			if len(fields) < 10 || fields[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, ok := strings.Cut(fields[1], ":")
			if n, err := strconv.ParseUint(hexPort, 16, 16); ok && err == nil && int(n) == p {
				inodes["socket:["+fields[9]+"]"] = true
			}
		}
		f.Close()
	}
	if len(inodes) == 0 {
		return 0, false
	}
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		if link, err := os.Readlink(fd); err == nil && inodes[link] {
			pid, err := strconv.Atoi(strings.Split(fd, "/")[2])
			if err == nil {
				return pid, true
			}
		}
	}
	return 0, false
}

// processMentions reports whether a live process's executable, working
// folder or command line lies under (or names) dir: one of this stack's.
func processMentions(pid int, dir string) bool {
	if pid <= 0 || dir == "" {
		return false
	}
	for _, l := range []string{"exe", "cwd"} {
		if p, err := os.Readlink(fmt.Sprintf("/proc/%d/%s", pid, l)); err == nil && (p == dir || strings.HasPrefix(p, dir+string(os.PathSeparator))) {
			return true
		}
	}
	return cmdlineHas(pid, dir)
}

// StrayProcesses lists this stack's programs still running outside the
// daemon: a process whose executable lies under dev (a function's handler,
// the daemon, the stand-in), or is one of bins (MinIO, PostgreSQL's server)
// with dev on its command line (its data there) — a service restarted by
// hand, say. Never this process.
func StrayProcesses(dev string, bins ...string) []int {
	var out []int
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		pid, err := strconv.Atoi(filepath.Base(p))
		if err != nil || pid == os.Getpid() {
			continue
		}
		exe, err := os.Readlink(p + "/exe")
		if err != nil {
			continue
		}
		exe = strings.TrimSuffix(exe, " (deleted)")
		under := strings.HasPrefix(exe, dev+string(os.PathSeparator))
		if under || slices.Contains(bins, exe) && cmdlineHas(pid, dev) {
			out = append(out, pid)
		}
	}
	return out
}
