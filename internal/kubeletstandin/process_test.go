package kubeletstandin

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name           string
		argv           []string
		stdin          string
		code           int
		stdout, stderr string
	}{
		{"exit code and streams", []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, "", 3, "out\n", "err\n"},
		{"stdin", []string{"cat"}, "hello", 0, "hello", ""},
		{"environment and directory", []string{"sh", "-c", `echo "$X $(pwd)"`}, "", 0, "y DIR\n", ""},
		{"killed by a signal", []string{"sh", "-c", "kill -TERM $$"}, "", 128 + int(syscall.SIGTERM), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			dir := t.TempDir()
			var out, errOut bytes.Buffer
			p := process{argv: tc.argv, dir: dir, env: []string{"PATH=" + containerPath, "X=y"}, stdout: &out, stderr: &errOut}
			if tc.stdin != "" {
				p.stdin = strings.NewReader(tc.stdin)
			}
			code, err := run(t.Context(), p)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(code).To(Equal(tc.code))
			g.Expect(out.String()).To(Equal(strings.ReplaceAll(tc.stdout, "DIR", dir)))
			g.Expect(errOut.String()).To(Equal(tc.stderr))
		})
	}
}

// A command that cannot start is an error, not an exit code.
func TestRunNotFound(t *testing.T) {
	_, err := run(t.Context(), process{argv: []string{"/no/such/command"}, dir: t.TempDir()})
	NewWithT(t).Expect(err).To(HaveOccurred())
}

// When the context ends, the process and everything it started are killed, even a child that
// holds the output open; run returns at once.
func TestRunKillsProcessGroup(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	var out bytes.Buffer
	start := time.Now()
	code, err := run(ctx, process{argv: []string{"sh", "-c", "sleep 300 & echo $! > child; echo started; wait"},
		dir: dir, env: []string{"PATH=" + containerPath}, stdout: &out})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(code).To(Equal(128 + int(syscall.SIGKILL)))
	g.Expect(time.Since(start)).To(BeNumerically("<", 5*time.Second))
	g.Expect(out.String()).To(Equal("started\n"))
	raw, err := os.ReadFile(filepath.Join(dir, "child"))
	g.Expect(err).NotTo(HaveOccurred())
	child, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	g.Expect(err).NotTo(HaveOccurred())
	// The orphaned child is reaped by init, not by us: wait for it to be gone or a zombie.
	g.Eventually(func() bool { return gone(child) }).WithTimeout(5 * time.Second).Should(BeTrue())
}

// gone tells whether process pid no longer exists or is a zombie.
func gone(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && len(s) > i+2 && s[i+2] == 'Z'
}
