package kubeletstandin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// containerPath is the PATH of a process: the one container runtimes default to.
const containerPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ioGrace is how long a process's output may still be copied after it exited, when something
// it started holds its pipes open.
const ioGrace = time.Second

// process is one command run for a container: by an exec or as the container itself.
type process struct {
	argv   []string
	dir    string
	env    []string
	stdin  io.Reader // nil: no input
	stdout io.Writer // nil: discarded
	stderr io.Writer // nil: discarded
}

// run starts p and waits until it exits or ctx ends; either way its whole process group is
// killed then, as a container's processes end with it. It returns the exit code (128+signal
// when killed by a signal) or an error when p could not start.
func run(ctx context.Context, p process) (int, error) {
	if len(p.argv) == 0 {
		return 0, errors.New("no command")
	}
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Dir, cmd.Env = p.dir, p.env
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = ioGrace
	var stdin io.WriteCloser
	if p.stdin != nil {
		var err error
		if stdin, err = cmd.StdinPipe(); err != nil {
			return 0, fmt.Errorf("run %q: %w", p.argv[0], err)
		}
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("run %q: %w", p.argv[0], err)
	}
	pgid := cmd.Process.Pid
	kill := func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) }
	if stdin != nil {
		// Not through cmd.Stdin: Wait would wait for the client's input to end.
		go func() {
			_, _ = io.Copy(stdin, p.stdin)
			_ = stdin.Close()
		}()
	}
	stop := context.AfterFunc(ctx, kill)
	_ = cmd.Wait() // the exit status is in ProcessState; ErrWaitDelay only cut the output short
	stop()
	kill()
	return exitCode(cmd.ProcessState), nil
}

// exitCode is the code a shell would report for a finished process.
func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// environment is a container's process environment: PATH, HOME (the pod's directory) and
// HOSTNAME (the pod's name), the container's literal env values, then POD_NAME, POD_NAMESPACE
// and CONTAINER_NAME. Later entries win.
func environment(pod *corev1.Pod, c *corev1.Container, home string) []string {
	env := []string{"PATH=" + containerPath, "HOME=" + home, "HOSTNAME=" + pod.Name}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env = append(env, e.Name+"="+e.Value)
		}
	}
	return append(env, "POD_NAME="+pod.Name, "POD_NAMESPACE="+pod.Namespace, "CONTAINER_NAME="+c.Name)
}

// podDir is a pod's working directory: dir/<namespace>/<pod>.
func podDir(dir, namespace, name string) string { return filepath.Join(dir, namespace, name) }

// logDir holds the output of a pod's containers, named as the kubelet names /var/log/pods
// entries (neither a namespace nor a pod name holds an underscore, so it never meets a podDir).
func logDir(dir string, pod *corev1.Pod) string {
	return filepath.Join(dir, pod.Namespace+"_"+pod.Name+"_"+string(pod.UID))
}
