//go:build !linux

package main

import "syscall"

// childProcAttr returns the attributes of processes the bench starts. Only
// Linux can tie a child's life to the bench's; elsewhere the bench relies
// on stopping its servers itself.
func childProcAttr() *syscall.SysProcAttr { return nil }
