package forge

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"strconv"
	"testing"

	. "github.com/onsi/gomega"
)

// fakeGitLabGit answers GitLab's branches, repository files, commits and merge requests
// endpoints (docs.gitlab.com/api) for o/r from a gitStore, refusing actions GitLab refuses: a
// create of a file that exists, an update of one that does not, a start on an existing branch
// without force.
type fakeGitLabGit struct {
	*fakeAPI
	git *gitStore
	mrs []*fakePR
	// commits are the bodies of the commits created.
	commits []glCommit
}

type glCommit struct {
	Branch        string `json:"branch"`
	StartSHA      string `json:"start_sha"`
	StartBranch   string `json:"start_branch"`
	Force         bool   `json:"force"`
	CommitMessage string `json:"commit_message"`
	Actions       []struct {
		Action   string `json:"action"`
		FilePath string `json:"file_path"`
		Content  string `json:"content"`
	} `json:"actions"`
}

func newFakeGitLabGit(t *testing.T, files map[string]string) *fakeGitLabGit {
	f := &fakeGitLabGit{fakeAPI: newFakeAPI(t, "Private-Token", "tok"), git: newGitStore(files)}
	bad := func(w http.ResponseWriter, msg string) { writeJSON(w, 400, map[string]any{"message": msg}) }
	notFound := func(w http.ResponseWriter, what string) {
		writeJSON(w, 404, map[string]any{"message": "404 " + what + " Not Found"})
	}
	commitJSON := func(c *fakeCommit) map[string]any {
		return map[string]any{"id": c.SHA, "message": c.Message, "parent_ids": c.Parents}
	}
	f.mux.HandleFunc("GET "+glPattern+"/repository/branches/{branch}", func(w http.ResponseWriter, r *http.Request) {
		c := f.git.at(r.PathValue("branch"))
		if c == nil || r.PathValue("branch") == c.SHA {
			notFound(w, "Branch")
			return
		}
		writeJSON(w, 200, map[string]any{"name": r.PathValue("branch"), "commit": commitJSON(c)})
	})
	f.mux.HandleFunc("GET "+glPattern+"/repository/files/{path}", func(w http.ResponseWriter, r *http.Request) {
		c := f.git.at(r.URL.Query().Get("ref"))
		if c == nil {
			notFound(w, "Commit")
			return
		}
		content, ok := c.Files[r.PathValue("path")]
		if !ok {
			notFound(w, "File")
			return
		}
		writeJSON(w, 200, map[string]any{"file_path": r.PathValue("path"), "encoding": "base64", "ref": c.SHA,
			"content": base64.StdEncoding.EncodeToString([]byte(content)), "blob_id": objectID("blob", content)})
	})
	f.mux.HandleFunc("GET "+glPattern+"/repository/commits/{sha}/diff", func(w http.ResponseWriter, r *http.Request) {
		c := f.git.at(r.PathValue("sha"))
		if c == nil {
			notFound(w, "Commit")
			return
		}
		var out []map[string]any
		for _, p := range f.git.changed(c) {
			out = append(out, map[string]any{"old_path": p, "new_path": p, "diff": "@@"})
		}
		items := pageOf(w, r, out, 1)
		w.Header().Del("Link")
		writeJSON(w, 200, items)
	})
	f.mux.HandleFunc("POST "+glPattern+"/repository/commits", func(w http.ResponseWriter, r *http.Request) {
		var in glCommit
		_ = json.NewDecoder(r.Body).Decode(&in)
		f.git.mu.Lock()
		defer f.git.mu.Unlock()
		f.commits = append(f.commits, in)
		start := f.git.commits[in.StartSHA]
		if _, exists := f.git.branches[in.Branch]; start == nil || (exists && !in.Force) {
			bad(w, "A branch called '"+in.Branch+"' already exists. Switch to that branch in order to make changes")
			return
		}
		files := maps.Clone(start.Files)
		for _, a := range in.Actions {
			_, ok := files[a.FilePath]
			switch {
			case a.Action == "create" && ok:
				bad(w, "A file with this name already exists")
				return
			case a.Action == "update" && !ok:
				bad(w, "A file with this name doesn't exist")
				return
			}
			files[a.FilePath] = a.Content
		}
		c := f.git.commit(in.CommitMessage, []string{start.SHA}, files)
		f.git.branches[in.Branch] = c.SHA
		writeJSON(w, 201, commitJSON(c))
	})
	mrJSON := func(m *fakePR) map[string]any {
		mr := glMR(m.Number, "opened", f.git.branches[m.Branch], "", "")
		mr["title"], mr["description"], mr["source_branch"], mr["target_branch"] = m.Title, m.Body, m.Branch, m.Base
		mr["source_project_id"], mr["target_project_id"] = 42, 42
		return mr
	}
	f.mux.HandleFunc("GET "+glPattern+"/merge_requests", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f.git.mu.Lock()
		defer f.git.mu.Unlock()
		// A fork's merge request from a branch of the same name.
		out := []map[string]any{}
		if q.Get("source_branch") == "drplan/reverse" {
			fork := glMR(90, "opened", "forksha", "", "")
			fork["source_branch"], fork["source_project_id"], fork["target_project_id"] = "drplan/reverse", 77, 42
			out = append(out, fork)
		}
		for _, m := range f.mrs {
			if q.Get("state") == "opened" && q.Get("source_branch") == m.Branch && q.Get("target_branch") == m.Base {
				out = append(out, mrJSON(m))
			}
		}
		writeJSON(w, 200, out)
	})
	f.mux.HandleFunc("POST "+glPattern+"/merge_requests", func(w http.ResponseWriter, r *http.Request) {
		in := bodyOf(r)
		f.git.mu.Lock()
		defer f.git.mu.Unlock()
		m := &fakePR{Number: len(f.mrs) + 1, Title: in["title"], Body: in["description"], Branch: in["source_branch"], Base: in["target_branch"]}
		f.mrs = append(f.mrs, m)
		writeJSON(w, 201, mrJSON(m))
	})
	f.mux.HandleFunc("PUT "+glPattern+"/merge_requests/{iid}", func(w http.ResponseWriter, r *http.Request) {
		in := bodyOf(r)
		n, _ := strconv.Atoi(r.PathValue("iid"))
		f.git.mu.Lock()
		defer f.git.mu.Unlock()
		if n < 1 || n > len(f.mrs) {
			notFound(w, "Merge Request")
			return
		}
		m := f.mrs[n-1]
		m.Title, m.Body = in["title"], in["description"]
		writeJSON(w, 200, mrJSON(m))
	})
	return f
}

func (f *fakeGitLabGit) forge(t *testing.T) Forge {
	t.Helper()
	fg, err := New(Options{Kind: KindGitLab, URL: f.srv.URL, Repo: "o/r", Token: "tok", Retry: f.retry()})
	if err != nil {
		t.Fatal(err)
	}
	return fg
}

func TestGitLabProposeChange(t *testing.T) {
	t.Parallel()
	const branch = "drplan/reverse"
	base := map[string]string{"README.md": "# plans\n", "plans/payments.yaml": "primary: east\n"}
	p := Proposal{Base: "main", Branch: branch, Title: "Reverse payments", Body: "Fail back.", Message: "reverse payments",
		Files: map[string]string{"plans/payments.yaml": "primary: west\n", "plans/reverse.yaml": "wave: 1\n", "README.md": "# plans\n"}}
	changed := p
	changed.Body, changed.Files = "Fail back, again.", map[string]string{"plans/payments.yaml": "primary: west\nrpo: 5m\n", "plans/reverse.yaml": "wave: 1\n"}

	t.Run("one commit of the changed files, one merge request, nothing written again", func(t *testing.T) {
		t.Parallel()
		g := NewWithT(t)
		f := newFakeGitLabGit(t, base)
		fg := f.forge(t)
		pr, err := fg.ProposeChange(t.Context(), p)
		g.Expect(err).NotTo(HaveOccurred())
		mainSHA := f.git.at("main").SHA
		g.Expect(f.commits).To(HaveLen(1))
		c := f.commits[0]
		g.Expect([]any{c.Branch, c.StartSHA, c.StartBranch, c.Force, c.CommitMessage}).To(Equal([]any{branch, mainSHA, "", true, "reverse payments"}))
		g.Expect(c.Actions).To(HaveLen(2), "README.md is on the base already")
		g.Expect([]string{c.Actions[0].Action, c.Actions[0].FilePath, c.Actions[1].Action, c.Actions[1].FilePath}).To(
			Equal([]string{"update", "plans/payments.yaml", "create", "plans/reverse.yaml"}))
		head := f.git.at(branch)
		g.Expect(head.Parents).To(Equal([]string{mainSHA}))
		g.Expect(head.Files).To(Equal(map[string]string{"README.md": "# plans\n", "plans/payments.yaml": "primary: west\n", "plans/reverse.yaml": "wave: 1\n"}))
		g.Expect(pr).To(Equal(&PullRequest{Number: 1, Title: "Reverse payments", URL: "https://gitlab.example/o/r/-/merge_requests/1",
			Base: "main", HeadSHA: head.SHA, HeadRef: "refs/merge-requests/1/head", Branch: branch}))

		again, err := fg.ProposeChange(t.Context(), p)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(again).To(Equal(pr))
		g.Expect(f.commits).To(HaveLen(1), "no new commit")
		g.Expect(f.mrs).To(HaveLen(1), "no second merge request")
		g.Expect(f.count("PUT", glPrefix+"/merge_requests/1")).To(BeZero())

		moved, err := fg.ProposeChange(t.Context(), changed)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(f.commits).To(HaveLen(2))
		head = f.git.at(branch)
		g.Expect(head.Parents).To(Equal([]string{mainSHA}), "one commit on the base, not on the old one")
		g.Expect(head.Files).To(HaveKeyWithValue("plans/payments.yaml", "primary: west\nrpo: 5m\n"))
		g.Expect(moved.Number).To(Equal(1))
		g.Expect(moved.HeadSHA).To(Equal(head.SHA))
		g.Expect(f.mrs).To(HaveLen(1))
		g.Expect(f.mrs[0].Body).To(Equal("Fail back, again."))
		g.Expect(f.count("PUT", glPrefix+"/merge_requests/1")).To(Equal(1))
	})

	t.Run("nothing to propose", func(t *testing.T) {
		t.Parallel()
		g := NewWithT(t)
		f := newFakeGitLabGit(t, base)
		pr, err := f.forge(t).ProposeChange(t.Context(), Proposal{Base: "main", Branch: branch, Title: "t", Message: "m", Files: base})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(pr).To(BeNil())
		g.Expect(f.counts()).NotTo(HaveKey("POST"))
	})

	t.Run("a refused commit names the branch and keeps its answer", func(t *testing.T) {
		t.Parallel()
		g := NewWithT(t)
		f := newFakeGitLabGit(t, base)
		f.fail("POST", glPrefix+"/repository/commits", fault{status: 403, body: `{"message":"403 Forbidden"}`})
		_, err := f.forge(t).ProposeChange(t.Context(), p)
		g.Expect(err).To(MatchError(ErrUnauthorized))
		g.Expect(err.Error()).To(HavePrefix("propose drplan/reverse into main in gitlab o/r: commit 2 files to branch drplan/reverse: "))
		g.Expect(f.mrs).To(BeEmpty())
	})
}
