package testenv

import "testing"

// StartTestCluster starts an API server named name for the test, with its state in the test's
// temporary directory, and stops it when the test ends (Stop may also be called earlier). Under
// -short the test is skipped; a component that was not built fails it.
func StartTestCluster(t testing.TB, name string, opts ClusterOptions) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a real API server; skipped under -short")
	}
	tools, err := FindTools()
	if err != nil {
		t.Fatal(err)
	}
	c, err := StartCluster(name, t.TempDir(), tools, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stop cluster %s: %v", name, err)
		}
	})
	return c
}

// StartTestGitea starts Gitea for the test, with its state in the test's temporary directory,
// and stops it when the test ends (Stop may also be called earlier). Under -short the test is
// skipped; a component that was not built fails it.
func StartTestGitea(t testing.TB) *Gitea {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the real Gitea; skipped under -short")
	}
	tools, err := FindTools()
	if err != nil {
		t.Fatal(err)
	}
	g, err := StartGitea(t.Context(), t.TempDir(), tools)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Stop() })
	return g
}
