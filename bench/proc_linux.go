//go:build linux

package main

import "syscall"

// childProcAttr returns the attributes of processes the bench starts: they
// are killed if the bench itself dies, so that no server is left behind.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
