package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// drplan sandbox, as a newcomer runs it: up in seconds, backups restored on west within about a
// minute (the sandbox backs up every minute), drplan status shows it, and drplan sandbox --down
// from another shell stops everything, leaving no process behind.
func TestSandbox(t *testing.T) {
	requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	dir := t.TempDir()
	status := fmt.Sprintf("127.0.0.1:%d", freePorts(t, 1)[0])
	cmd := exec.Command(shared.bin, "sandbox", "--state-dir", dir, "--status-listen", status)
	stdout, err := cmd.StdoutPipe()
	g.Expect(err).NotTo(HaveOccurred())
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	g.Expect(cmd.Start()).To(Succeed())
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var out strings.Builder
	readUntil := func(re *regexp.Regexp, within time.Duration) string {
		deadline := time.After(within)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("sandbox exited; output:\n%s", out.String())
				}
				out.WriteString(l + "\n")
				if m := re.FindString(l); m != "" {
					return m
				}
			case <-deadline:
				t.Fatalf("no %q within %s; output:\n%s", re, within, out.String())
			}
		}
	}
	readUntil(regexp.MustCompile(`^ready in `), 2*time.Minute)
	t.Logf("sandbox ready after %s", time.Since(start).Round(100*time.Millisecond))
	readUntil(regexp.MustCompile(`stops everything`), 10*time.Second)
	g.Expect(out.String()).To(ContainSubstring("export KUBECONFIG=" + filepath.Join(dir, "kubeconfig")))
	g.Expect(out.String()).To(MatchRegexp(`git clone http://127\.0\.0\.1:\d+/drplan-admin/plans\.git`))

	g.Eventually(func(g Gomega) {
		st, code := runCLI(t, "status", "--address", status)
		g.Expect(code).To(Equal(0))
		g.Expect(st).To(MatchRegexp(`orders-pg-data\s+orders-pg-data\s+caught-up`))
		g.Expect(st).To(MatchRegexp(`shop-uploads\s+shop-uploads\s+caught-up`))
	}).WithTimeout(3 * time.Minute).WithPolling(2 * time.Second).Should(Succeed())
	t.Logf("standby volumes caught up %s after start", time.Since(start).Round(time.Second))

	downOut, code := runCLI(t, "sandbox", "--down", "--state-dir", dir)
	g.Expect(code).To(Equal(0), downOut)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		g.Expect(err).NotTo(HaveOccurred())
	case <-time.After(2 * time.Minute):
		t.Fatal("sandbox did not exit after --down")
	}
	for l := range lines {
		out.WriteString(l + "\n")
	}
	g.Expect(out.String()).To(ContainSubstring("stopped"))
	g.Expect(downOut).NotTo(ContainSubstring("left behind"), "the sandbox stopped its own processes")
	// Nothing runs from the state directory any more.
	g.Expect(processesNaming(dir)).To(BeEmpty())
}

func processesNaming(dir string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), dir+"/") {
			out = append(out, e.Name()+" "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return out
}

// drplan sandbox --demo plays the whole story by itself and exits 0: protection, a pull request
// flipping failover with its preview, the merge, three waves in order, the final comment.
func TestSandboxDemo(t *testing.T) {
	requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	dir := t.TempDir()
	status := fmt.Sprintf("127.0.0.1:%d", freePorts(t, 1)[0])
	start := time.Now()
	out, code := runCLI(t, "sandbox", "--demo", "--state-dir", dir, "--status-listen", status)
	t.Logf("drplan sandbox --demo took %s:\n%s", time.Since(start).Round(time.Second), out)
	g.Expect(code).To(Equal(0))
	g.Expect(out).To(ContainSubstring("preview comment: 🚨 **drplan preview: merging fails over `shop`**"))
	g.Expect(out).To(MatchRegexp(`failover wave/databases: done[\s\S]*failover wave/queues: done[\s\S]*failover wave/apps: done`))
	g.Expect(out).To(ContainSubstring("failover complete: RTO"))
	g.Expect(out).To(ContainSubstring("drplan: failover of `shop` complete"))
	g.Expect(out).To(MatchRegexp(`\*\*Timeline\*\*[\s\S]*failover complete: RTO`), "the comment ends with the timeline")
	g.Expect(out).To(ContainSubstring("demo finished"))
	g.Expect(processesNaming(dir)).To(BeEmpty())
}
