package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/drplan/drplan/internal/drlab"
)

// shared is the lab most scenarios share, started once for the test binary.
var shared struct {
	lab *drlab.Lab
	err error
	bin string
}

// sharedPoll is the shared lab's BackupTarget poll interval: long, like Longhorn's default, so
// that anything reaching the secondary quickly got there through the agent's sync requests.
const sharedPoll = 5 * time.Minute

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(func() int {
		if testing.Short() {
			return m.Run()
		}
		dir, err := os.MkdirTemp("", "drplan-e2e-")
		if err != nil {
			shared.err = err
			return m.Run()
		}
		defer func() { _ = os.RemoveAll(dir) }()
		// controller-runtime's clients log through its global logger: send it to the lab's log.
		ctrl.SetLogger(labLogger(dir))
		shared.bin, shared.err = drplanBinary(dir)
		if shared.err == nil {
			start := time.Now()
			shared.lab, shared.err = drlab.Start(context.Background(), drlab.Options{
				Dir: filepath.Join(dir, "lab"), PollInterval: sharedPoll, Gitea: true, Logger: labLogger(dir),
			})
			fmt.Fprintf(os.Stderr, "e2e: shared lab started in %s\n", time.Since(start).Round(time.Millisecond))
		}
		if shared.lab != nil {
			defer func() { _ = shared.lab.Stop() }()
		}
		return m.Run()
	}())
}

// requireLab skips under -short and fails when the shared lab did not start.
func requireLab(t *testing.T) *drlab.Lab {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: needs real API servers and Gitea; skipped under -short")
	}
	if shared.err != nil {
		t.Fatalf("shared lab: %v", shared.err)
	}
	return shared.lab
}

// drplanBinary is $DRPLAN_BIN (make test builds it), or a fresh build into dir.
func drplanBinary(dir string) (string, error) {
	if p := os.Getenv("DRPLAN_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("DRPLAN_BIN=%s: %w", p, err)
		}
		return p, nil
	}
	out := filepath.Join(dir, "drplan")
	cmd := exec.Command("go", "build", "-o", out, "github.com/drplan/drplan")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build drplan: %w: %s", err, b)
	}
	return out, nil
}

// labLogger writes the simulators' logs to a file in dir (E2E_LOG=1: to stderr).
func labLogger(dir string) logr.Logger {
	out := os.Stderr
	if os.Getenv("E2E_LOG") == "" {
		f, err := os.Create(filepath.Join(dir, "lab.log"))
		if err != nil {
			return logr.Discard()
		}
		out = f
	}
	return funcr.New(func(prefix, args string) { fmt.Fprintln(out, time.Now().Format("15:04:05.000"), prefix, args) }, funcr.Options{Verbosity: 0})
}
