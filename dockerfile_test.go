package main

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The image's build step, run as the Dockerfile runs it (no Docker engine here): the binary is
// static, and stamped with the version given as the build argument.
func TestDockerfileBuildStep(t *testing.T) {
	if testing.Short() {
		t.Skip("builds drplan; skipped under -short")
	}
	f, err := os.Open("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var step string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "RUN ") && strings.Contains(line, "go build") {
			step = strings.TrimPrefix(line, "RUN ")
		}
	}
	if step == "" {
		t.Fatal("no RUN ... go build step in the Dockerfile")
	}
	out := t.TempDir()
	cmd := exec.Command("sh", "-c", strings.ReplaceAll(step, "/out/", out+"/"))
	cmd.Env = append(os.Environ(), "VERSION=v9.8.7-test")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", step, err, b)
	}
	bin := filepath.Join(out, "drplan")
	exe, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = exe.Close() }()
	for _, p := range exe.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary is dynamically linked: distroless/static has no libc")
		}
	}
	got, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(got), "drplan v9.8.7-test") {
		t.Errorf("drplan version = %q, want the version stamped by the build argument", got)
	}
}
