package testenv_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/drplan/drplan/internal/testenv"
)

// TestEnvironment brings up the whole environment, uses every component for real, and checks
// that Stop leaves no process and no listener behind.
func TestEnvironment(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real API servers and Gitea")
	}
	g := NewWithT(t)
	ctx := t.Context()

	start := time.Now()
	env, err := testenv.Start(ctx, testenv.Options{Dir: t.TempDir()})
	g.Expect(err).NotTo(HaveOccurred())
	t.Logf("environment started in %s", time.Since(start).Round(time.Millisecond))
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = env.Stop()
		}
	})
	g.Expect(env.Clusters).To(HaveKey("east"))
	g.Expect(env.Clusters).To(HaveKey("west"))

	// One object in each cluster, through the kubeconfig files the environment wrote: each has a
	// context named after its cluster and reaches only its own etcd.
	for _, name := range []string{"east", "west"} {
		cfg, err := clientcmd.BuildConfigFromFlags("", env.Clusters[name].Kubeconfig)
		g.Expect(err).NotTo(HaveOccurred())
		raw, err := clientcmd.LoadFromFile(env.Clusters[name].Kubeconfig)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(raw.CurrentContext).To(Equal(name))
		cs, err := kubernetes.NewForConfig(cfg)
		g.Expect(err).NotTo(HaveOccurred())
		_, err = cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "hello-" + name},
			Data:       map[string]string{"cluster": name},
		}, metav1.CreateOptions{})
		g.Expect(err).NotTo(HaveOccurred())
	}
	for _, name := range []string{"east", "west"} {
		cs := kubernetes.NewForConfigOrDie(env.Clusters[name].Config)
		list, err := cs.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		var names []string
		for _, cm := range list.Items {
			if strings.HasPrefix(cm.Name, "hello-") {
				names = append(names, cm.Name)
			}
		}
		g.Expect(names).To(ConsistOf("hello-" + name))
	}

	// A commit pushed to Gitea reads back by a fresh clone.
	cloneURL, err := env.Gitea.CreateRepo(ctx, "plans")
	g.Expect(err).NotTo(HaveOccurred())
	auth := &githttp.BasicAuth{Username: env.Gitea.Admin, Password: env.Gitea.Token}
	repo, err := git.Init(memory.NewStorage(), memfs.New())
	g.Expect(err).NotTo(HaveOccurred())
	_, err = repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{cloneURL}})
	g.Expect(err).NotTo(HaveOccurred())
	mainSHA := commitFile(g, repo, "plans/hello.yaml", "kind: DRPlan\n", "first plan")
	g.Expect(repo.PushContext(ctx, &git.PushOptions{Auth: auth,
		RefSpecs: []config.RefSpec{"refs/heads/master:refs/heads/main"}})).To(Succeed())

	clone, err := git.CloneContext(ctx, memory.NewStorage(), memfs.New(), &git.CloneOptions{
		URL: cloneURL, Auth: auth, ReferenceName: plumbing.NewBranchReferenceName("main"),
	})
	g.Expect(err).NotTo(HaveOccurred())
	head, err := clone.Head()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(head.Hash()).To(Equal(mainSHA))
	wt, err := clone.Worktree()
	g.Expect(err).NotTo(HaveOccurred())
	f, err := wt.Filesystem.Open("plans/hello.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	body, _ := io.ReadAll(f)
	g.Expect(string(body)).To(Equal("kind: DRPlan\n"))

	// A pull request from a branch, opened through Gitea's API, is fetchable at refs/pull/N/head.
	branchSHA := commitFile(g, repo, "plans/second.yaml", "kind: DRPlan\n", "second plan")
	g.Expect(repo.PushContext(ctx, &git.PushOptions{Auth: auth,
		RefSpecs: []config.RefSpec{"refs/heads/master:refs/heads/add-second"}})).To(Succeed())
	api, err := env.Gitea.Client(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	// Gitea registers a pushed branch from a queue: the pull request can be opened once it has.
	var pr *gitea.PullRequest
	g.Eventually(func() error {
		pr, _, err = api.CreatePullRequest(env.Gitea.Admin, "plans", gitea.CreatePullRequestOption{
			Head: "add-second", Base: "main", Title: "Add a second plan",
		})
		return err
	}).WithTimeout(10 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
	g.Expect(pr.Head.Sha).To(Equal(branchSHA.String()))
	// Gitea writes refs/pull/N/head from a queue, shortly after the pull request exists.
	prRef := fmt.Sprintf("refs/pull/%d/head", pr.Index)
	g.Eventually(func() error {
		err := clone.FetchContext(ctx, &git.FetchOptions{Auth: auth,
			RefSpecs: []config.RefSpec{config.RefSpec("+" + prRef + ":refs/remotes/pr/head")}})
		if errors.Is(err, git.NoErrAlreadyUpToDate) {
			return nil
		}
		return err
	}).WithTimeout(10 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
	prHead, err := clone.Reference("refs/remotes/pr/head", true)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(prHead.Hash()).To(Equal(branchSHA))

	// Teardown: no child process stays, and nothing listens where the servers did.
	addrs := []string{hostPort(g, env.Gitea.URL)}
	for _, c := range env.Clusters {
		addrs = append(addrs, hostPort(g, c.Config.Host))
	}
	g.Expect(env.Stop()).To(Succeed())
	stopped = true
	g.Eventually(childProcesses, 10*time.Second, 100*time.Millisecond).Should(BeEmpty())
	for _, a := range addrs {
		_, err := net.DialTimeout("tcp", a, time.Second)
		g.Expect(err).To(HaveOccurred(), "something still listens on %s", a)
	}
}

func commitFile(g Gomega, repo *git.Repository, path, content, msg string) plumbing.Hash {
	wt, err := repo.Worktree()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(wt.Filesystem.MkdirAll(filepath.Dir(path), 0o755)).To(Succeed())
	f, err := wt.Filesystem.Create(path)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = f.Write([]byte(content))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(f.Close()).To(Succeed())
	_, err = wt.Add(path)
	g.Expect(err).NotTo(HaveOccurred())
	sha, err := wt.Commit(msg, &git.CommitOptions{Author: &object.Signature{
		Name: "drplan test", Email: "test@drplan.test", When: time.Now()}})
	g.Expect(err).NotTo(HaveOccurred())
	return sha
}

func hostPort(g Gomega, raw string) string {
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	g.Expect(err).NotTo(HaveOccurred())
	return u.Host
}

// childProcesses lists the live (non-zombie) children of this test process.
func childProcesses() []string {
	me := strconv.Itoa(os.Getpid())
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces, so split after the last ')'.
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) >= 2 && fields[1] == me && fields[0] != "Z" {
			out = append(out, e.Name()+" "+s[:i+1])
		}
	}
	return out
}
