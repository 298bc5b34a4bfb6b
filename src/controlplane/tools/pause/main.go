// Command pause is the pod sandbox ("infra") container's process for the
// local node: containerd cannot pull registry.k8s.io/pause, so the harness
// builds this and imports it as an image. Like upstream's pause.c it holds
// the pod's namespaces, sleeps until SIGINT or SIGTERM, and, being PID 1 of
// the pod's PID namespace when that is shared, reaps re-parented children.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		reapChildren()
	}
}

func reapChildren() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
