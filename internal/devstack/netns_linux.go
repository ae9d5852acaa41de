package devstack

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// netNS is a network namespace of one function, as its container has: its
// own loopback, so of-watchdog listens on its ports (8080, metrics on 8081,
// the handler on 8082) beside every other function's. One locked OS thread
// lives in it; whatever must happen inside (listening, dialing, starting the
// watchdog, which inherits the thread's namespace) runs on that thread. The
// thread is never unlocked: it ends with the namespace.
type netNS struct {
	reqs      chan func()
	done      chan struct{}
	closeOnce sync.Once
	mu        sync.Mutex
	lns       []net.Listener
}

func newNetNS() (*netNS, error) {
	n := &netNS{reqs: make(chan func()), done: make(chan struct{})}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the runtime ends the thread with this goroutine
		if err := syscall.Unshare(syscall.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("new network namespace: %w", err)
			return
		}
		if err := loopbackUp(); err != nil {
			errc <- err
			return
		}
		errc <- nil
		for {
			select {
			case f := <-n.reqs:
				f()
			case <-n.done:
				return
			}
		}
	}()
	if err := <-errc; err != nil {
		return nil, err
	}
	return n, nil
}

// loopbackUp brings up lo in the calling thread's namespace (a new one has it down).
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: socket: %w", err)
	}
	defer syscall.Close(fd)
	var ifr [40]byte // struct ifreq: name[16], then the flags (a short)
	copy(ifr[:], "lo")
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		return fmt.Errorf("loopback: get flags: %w", e)
	}
	flags := binary.NativeEndian.Uint16(ifr[16:]) | syscall.IFF_UP | syscall.IFF_RUNNING
	binary.NativeEndian.PutUint16(ifr[16:], flags)
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		return fmt.Errorf("loopback: set up: %w", e)
	}
	return nil
}

// do runs f on the namespace's thread.
func (n *netNS) do(f func()) error {
	ran := make(chan struct{})
	select {
	case n.reqs <- func() { f(); close(ran) }:
	case <-n.done:
		return errors.New("network namespace closed")
	}
	<-ran
	return nil
}

// Dial connects to addr inside the namespace.
func (n *netNS) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	var err error
	if derr := n.do(func() { c, err = (&net.Dialer{Timeout: 3 * time.Second}).DialContext(ctx, network, addr) }); derr != nil {
		return nil, derr
	}
	return c, err
}

// Start starts cmd inside the namespace.
func (n *netNS) Start(cmd *exec.Cmd) error {
	var err error
	if derr := n.do(func() { err = cmd.Start() }); derr != nil {
		return derr
	}
	return err
}

// Forward listens on each address inside the namespace and carries every
// connection to the same address on the host, the way faasd's functions reach
// minio:9000 or postgres:5432: here the services stay on 127.0.0.1.
func (n *netNS) Forward(addrs []string, log *slog.Logger) error {
	for _, a := range addrs {
		var ln net.Listener
		var err error
		if derr := n.do(func() { ln, err = net.Listen("tcp", a) }); derr != nil {
			return derr
		}
		if err != nil {
			return fmt.Errorf("forward %s into the function's namespace: %w", a, err)
		}
		n.mu.Lock()
		n.lns = append(n.lns, ln)
		n.mu.Unlock()
		go forward(ln, a, log)
	}
	return nil
}

func forward(ln net.Listener, to string, log *slog.Logger) {
	for {
		in, err := ln.Accept()
		if err != nil {
			return // closed with the namespace
		}
		go func() {
			defer in.Close()
			out, err := net.DialTimeout("tcp", to, 3*time.Second)
			if err != nil {
				if log != nil {
					log.Debug("forward", "to", to, "err", err.Error())
				}
				return
			}
			defer out.Close()
			done := make(chan struct{}, 2)
			pipe := func(dst, src net.Conn) {
				_, _ = io.Copy(dst, src)
				if tc, ok := dst.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
				}
				done <- struct{}{}
			}
			go pipe(out, in)
			go pipe(in, out)
			<-done
			<-done
		}()
	}
}

// Close stops the forwarders and ends the namespace's thread; the namespace
// goes once its last process has exited.
func (n *netNS) Close() {
	n.closeOnce.Do(func() {
		n.mu.Lock()
		for _, ln := range n.lns {
			ln.Close()
		}
		n.mu.Unlock()
		close(n.done)
	})
}

// NetNSAvailable reports whether this process may make network namespaces
// (root, or CAP_SYS_ADMIN), and why not.
func NetNSAvailable() error {
	n, err := newNetNS()
	if err != nil {
		return err
	}
	n.Close()
	return nil
}
