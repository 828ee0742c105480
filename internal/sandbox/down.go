package sandbox

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Down stops the sandbox running from dir in another process: SIGTERM to it, then any process
// it left behind (an API server, etcd or Gitea whose command line names dir) is killed.
func Down(dir string, out io.Writer) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("sandbox down: %w", err)
	}
	if pid, alive := running(dir); alive {
		fmt.Fprintf(out, "stopping the sandbox (pid %d)...", pid)
		_ = syscall.Kill(pid, syscall.SIGTERM)
		deadline := time.Now().Add(90 * time.Second)
		for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
		if syscall.Kill(pid, 0) == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		fmt.Fprintln(out, " done")
	} else {
		fmt.Fprintln(out, "no sandbox process is running from", dir)
	}
	left := leftovers(dir)
	for _, pid := range left {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if len(left) > 0 {
		fmt.Fprintf(out, "killed %d process(es) left behind\n", len(left))
	}
	_ = os.Remove(filepath.Join(dir, pidFile))
	return nil
}

// leftovers lists the processes whose command line names dir.
func leftovers(dir string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if strings.Contains(string(b), dir+string(filepath.Separator)) {
			out = append(out, pid)
		}
	}
	return out
}
