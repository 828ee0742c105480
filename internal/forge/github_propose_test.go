package forge

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

// fakeGitHubGit answers GitHub's git data and pull request endpoints (docs.github.com/rest/git)
// for o/r from a gitStore: trees are named by their files, as GitHub's are by their content.
type fakeGitHubGit struct {
	*fakeAPI
	git   *gitStore
	trees map[string]map[string]string
	prs   []*fakePR
}

func newFakeGitHubGit(t *testing.T, files map[string]string) *fakeGitHubGit {
	f := &fakeGitHubGit{fakeAPI: newFakeAPI(t, "Authorization", "Bearer tok"), git: newGitStore(files), trees: map[string]map[string]string{}}
	treeOf := func(files map[string]string) string {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(files)) {
			parts = append(parts, k, files[k])
		}
		sha := objectID(append([]string{"tree"}, parts...)...)
		f.trees[sha] = files
		return sha
	}
	commitJSON := func(c *fakeCommit) map[string]any {
		var parents []any
		for _, p := range c.Parents {
			parents = append(parents, map[string]any{"sha": p})
		}
		return map[string]any{"sha": c.SHA, "message": c.Message, "tree": map[string]any{"sha": treeOf(c.Files)}, "parents": parents}
	}
	refJSON := func(branch, sha string) map[string]any {
		return map[string]any{"ref": "refs/heads/" + branch, "object": map[string]any{"type": "commit", "sha": sha}}
	}
	notFound := func(w http.ResponseWriter) { writeJSON(w, 404, map[string]any{"message": "Not Found"}) }
	f.mux.HandleFunc("GET "+ghPrefix+"/git/ref/heads/{branch...}", func(w http.ResponseWriter, r *http.Request) {
		f.git.mu.Lock()
		defer f.git.mu.Unlock()
		sha, ok := f.git.branches[r.PathValue("branch")]
		if !ok {
			notFound(w)
			return
		}
		writeJSON(w, 200, refJSON(r.PathValue("branch"), sha))
	})
	f.mux.HandleFunc("GET "+ghPrefix+"/git/commits/{sha}", func(w http.ResponseWriter, r *http.Request) {
		f.git.mu.Lock()
		defer f.git.mu.Unlock()
		c := f.git.commits[r.PathValue("sha")]
		if c == nil {
			notFound(w)
			return
		}
		writeJSON(w, 200, commitJSON(c))
	})
	f.mux.HandleFunc("POST "+ghPrefix+"/git/trees", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			BaseTree string `json:"base_tree"`
			Tree     []struct{ Path, Mode, Type, Content string }
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		f.git.mu.Lock()
		defer f.git.mu.Unlock()
		base, ok := f.trees[in.BaseTree]
		if !ok {
			writeJSON(w, 422, map[string]any{"message": "base_tree is not a valid tree oid"})
			return
		}
		files := maps.Clone(base)
		for _, e := range in.Tree {
			if e.Mode != "100644" || e.Type != "blob" {
				t.Errorf("tree entry %s: mode %s type %s", e.Path, e.Mode, e.Type)
			}
			files[e.Path] = e.Content
		}
		writeJSON(w, 201, map[string]any{"sha": treeOf(files)})
	})
	f.mux.HandleFunc("POST "+ghPrefix+"/git/commits", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Message, Tree string
			Parents       []string
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		f.git.mu.Lock()
		defer f.git.mu.Unlock()
		files, ok := f.trees[in.Tree]
		if !ok {
			writeJSON(w, 422, map[string]any{"message": "Tree SHA does not exist"})
			return
		}
		writeJSON(w, 201, commitJSON(f.git.commit(in.Message, in.Parents, files)))
	})
	f.mux.HandleFunc("POST "+ghPrefix+"/git/refs", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Ref, SHA string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		branch := strings.TrimPrefix(in.Ref, "refs/heads/")
		f.git.mu.Lock()
		defer f.git.mu.Unlock()
		if _, ok := f.git.branches[branch]; ok {
			writeJSON(w, 422, map[string]any{"message": "Reference already exists"})
			return
		}
		f.git.branches[branch] = in.SHA
		writeJSON(w, 201, refJSON(branch, in.SHA))
	})
	f.mux.HandleFunc("PATCH "+ghPrefix+"/git/refs/heads/{branch...}", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			SHA   string
			Force bool
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		if !in.Force {
			t.Errorf("ref %s moved without force", r.PathValue("branch"))
		}
		f.git.mu.Lock()
		defer f.git.mu.Unlock()
		if _, ok := f.git.branches[r.PathValue("branch")]; !ok {
			notFound(w)
			return
		}
		f.git.branches[r.PathValue("branch")] = in.SHA
		writeJSON(w, 200, refJSON(r.PathValue("branch"), in.SHA))
	})
	prJSON := func(p *fakePR) map[string]any {
		pr := ghPR(p.Number, p.Base, p.Branch, f.git.branches[p.Branch], "")
		pr["title"], pr["body"] = p.Title, p.Body
		return pr
	}
	f.mux.HandleFunc("GET "+ghPrefix+"/pulls", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f.git.mu.Lock()
		defer f.git.mu.Unlock()
		var out []map[string]any
		for _, p := range f.prs {
			if q.Get("state") == "open" && q.Get("head") == "o:"+p.Branch && q.Get("base") == p.Base {
				out = append(out, prJSON(p))
			}
		}
		writeJSON(w, 200, out)
	})
	f.mux.HandleFunc("POST "+ghPrefix+"/pulls", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Title, Body, Head, Base string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		f.git.mu.Lock()
		defer f.git.mu.Unlock()
		p := &fakePR{Number: len(f.prs) + 1, Title: in.Title, Body: in.Body, Branch: in.Head, Base: in.Base}
		f.prs = append(f.prs, p)
		writeJSON(w, 201, prJSON(p))
	})
	f.mux.HandleFunc("PATCH "+ghPrefix+"/pulls/{n}", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Title, Body string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		n, _ := strconv.Atoi(r.PathValue("n"))
		f.git.mu.Lock()
		defer f.git.mu.Unlock()
		if n < 1 || n > len(f.prs) {
			notFound(w)
			return
		}
		p := f.prs[n-1]
		p.Title, p.Body = in.Title, in.Body
		writeJSON(w, 200, prJSON(p))
	})
	return f
}

func (f *fakeGitHubGit) forge(t *testing.T) Forge {
	t.Helper()
	fg, err := New(Options{Kind: KindGitHub, URL: f.srv.URL + "/", Repo: "o/r", Token: "tok", Retry: f.retry()})
	if err != nil {
		t.Fatal(err)
	}
	return fg
}

func TestGitHubProposeChange(t *testing.T) {
	t.Parallel()
	const branch = "drplan/reverse"
	base := map[string]string{"README.md": "# plans\n", "plans/payments.yaml": "primary: east\n"}
	p := Proposal{Base: "main", Branch: branch, Title: "Reverse payments", Body: "Fail back.", Message: "reverse payments",
		Files: map[string]string{"plans/payments.yaml": "primary: west\n", "plans/reverse.yaml": "wave: 1\n"}}
	changed := p
	changed.Title, changed.Files = "Reverse payments (2)", map[string]string{"plans/payments.yaml": "primary: west\nrpo: 5m\n"}
	writes := func(f *fakeGitHubGit) map[string]int {
		return map[string]int{
			"commits":  f.count("POST", ghPrefix+"/git/commits"),
			"new refs": f.count("POST", ghPrefix+"/git/refs"),
			"moves":    f.count("PATCH", ghPrefix+"/git/refs/heads/"+branch),
			"new prs":  f.count("POST", ghPrefix+"/pulls"),
			"edits":    f.count("PATCH", ghPrefix+"/pulls/1"),
		}
	}
	for _, tc := range []struct {
		name  string
		calls []Proposal
		// files are the branch's files after the calls; nil when there is no branch.
		files  map[string]string
		title  string
		writes map[string]int
	}{
		{"a new branch and pull request", []Proposal{p}, map[string]string{"README.md": "# plans\n",
			"plans/payments.yaml": "primary: west\n", "plans/reverse.yaml": "wave: 1\n"}, "Reverse payments",
			map[string]int{"commits": 1, "new refs": 1, "moves": 0, "new prs": 1, "edits": 0}},
		{"the same proposal twice writes once", []Proposal{p, p}, map[string]string{"README.md": "# plans\n",
			"plans/payments.yaml": "primary: west\n", "plans/reverse.yaml": "wave: 1\n"}, "Reverse payments",
			map[string]int{"commits": 1, "new refs": 1, "moves": 0, "new prs": 1, "edits": 0}},
		{"a changed proposal moves the branch and edits the pull request", []Proposal{p, changed},
			map[string]string{"README.md": "# plans\n", "plans/payments.yaml": "primary: west\nrpo: 5m\n"}, "Reverse payments (2)",
			map[string]int{"commits": 2, "new refs": 1, "moves": 1, "new prs": 1, "edits": 1}},
		{"nothing to propose", []Proposal{{Base: "main", Branch: branch, Title: "t", Message: "m", Files: map[string]string{"README.md": "# plans\n"}}},
			nil, "", map[string]int{"commits": 0, "new refs": 0, "moves": 0, "new prs": 0, "edits": 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			f := newFakeGitHubGit(t, base)
			fg := f.forge(t)
			var pr *PullRequest
			for _, call := range tc.calls {
				var err error
				pr, err = fg.ProposeChange(t.Context(), call)
				g.Expect(err).NotTo(HaveOccurred())
			}
			g.Expect(writes(f)).To(Equal(tc.writes))
			head := f.git.at(branch)
			if tc.files == nil {
				g.Expect(pr).To(BeNil())
				g.Expect(head).To(BeNil())
				return
			}
			g.Expect(head.Files).To(Equal(tc.files))
			g.Expect(head.Parents).To(Equal([]string{f.git.at("main").SHA}), "one commit on the base's head")
			g.Expect(f.prs).To(HaveLen(1))
			g.Expect(f.prs[0].Title).To(Equal(tc.title))
			g.Expect(pr).To(Equal(&PullRequest{Number: 1, Title: tc.title, URL: "https://github.example/o/r/pull/1",
				Base: "main", HeadSHA: head.SHA, HeadRef: "refs/pull/1/head", Branch: branch}))
		})
	}

	t.Run("a branch on an older base is rebuilt on the head", func(t *testing.T) {
		t.Parallel()
		g := NewWithT(t)
		f := newFakeGitHubGit(t, base)
		fg := f.forge(t)
		_, err := fg.ProposeChange(t.Context(), p)
		g.Expect(err).NotTo(HaveOccurred())
		f.git.mu.Lock()
		main := f.git.commits[f.git.branches["main"]]
		f.git.branches["main"] = f.git.commit("docs", []string{main.SHA}, map[string]string{"README.md": "# moved\n", "plans/payments.yaml": "primary: east\n"}).SHA
		f.git.mu.Unlock()
		_, err = fg.ProposeChange(t.Context(), p)
		g.Expect(err).NotTo(HaveOccurred())
		head := f.git.at(branch)
		g.Expect(head.Parents).To(Equal([]string{f.git.at("main").SHA}))
		g.Expect(head.Files).To(HaveKeyWithValue("README.md", "# moved\n"))
		g.Expect(f.count("PATCH", ghPrefix+"/git/refs/heads/"+branch)).To(Equal(1))
		g.Expect(f.prs).To(HaveLen(1))
	})

	t.Run("errors name the proposal and keep their class", func(t *testing.T) {
		t.Parallel()
		g := NewWithT(t)
		f := newFakeGitHubGit(t, base)
		fg := f.forge(t)
		_, err := fg.ProposeChange(t.Context(), Proposal{Base: "main", Branch: branch})
		g.Expect(err).To(MatchError(ContainSubstring("no files")))
		g.Expect(f.counts()).To(BeEmpty(), "an invalid proposal is refused before any request")

		f.fail("POST", ghPrefix+"/git/trees", fault{status: 403, body: `{"message":"Resource not accessible by integration"}`})
		_, err = fg.ProposeChange(t.Context(), p)
		g.Expect(err).To(MatchError(ErrUnauthorized))
		g.Expect(err.Error()).To(HavePrefix(fmt.Sprintf("propose %s into main in github o/r: create a tree of 2 files on ", branch)))

		none := p
		none.Base = "release"
		_, err = fg.ProposeChange(t.Context(), none)
		g.Expect(err).To(MatchError(ErrNotFound))
		g.Expect(err.Error()).To(ContainSubstring("read branch release"))
	})
}
