package forge

import (
	"crypto/sha1" //nolint:gosec // names fake git objects, as git does
	"encoding/hex"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
)

func TestProposalValidate(t *testing.T) {
	t.Parallel()
	ok := Proposal{Base: "main", Branch: "drplan/reverse", Title: "Reverse", Message: "reverse",
		Files: map[string]string{"plans/a.yaml": "a: 1\n"}}
	with := func(change func(*Proposal)) Proposal {
		p := ok
		p.Files = maps.Clone(ok.Files)
		change(&p)
		return p
	}
	for _, tc := range []struct {
		name string
		p    Proposal
		want string
	}{
		{"valid", ok, ""},
		{"no branch", with(func(p *Proposal) { p.Branch = "" }), "base and branch are both required"},
		{"branch is the base", with(func(p *Proposal) { p.Branch = "main" }), "branch main is the base"},
		{"no title", with(func(p *Proposal) { p.Title = " " }), "no title"},
		{"no message", with(func(p *Proposal) { p.Message = "" }), "no commit message"},
		{"no files", with(func(p *Proposal) { p.Files = nil }), "no files"},
		{"empty content", with(func(p *Proposal) { p.Files["plans/b.yaml"] = "" }), "file plans/b.yaml has no content"},
		{"absolute path", with(func(p *Proposal) { p.Files["/etc/x"] = "x" }), `file path "/etc/x" is not a clean relative path`},
		{"path out of the repository", with(func(p *Proposal) { p.Files["../x"] = "x" }), `file path "../x" is not a clean relative path`},
		{"unclean path", with(func(p *Proposal) { p.Files["plans//x"] = "x" }), `file path "plans//x" is not a clean relative path`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			err := tc.p.validate()
			if tc.want == "" {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(MatchError(ContainSubstring(tc.want)))
		})
	}
}

func TestProposalChangesAndOnTop(t *testing.T) {
	t.Parallel()
	p := Proposal{Files: map[string]string{"b.yaml": "b\n", "a.yaml": "a\n", "c.yaml": "c\n"}}
	have := map[string]file{"a.yaml": {Content: "a\n"}, "b.yaml": {Content: "old\n"}}
	want := p.changes(have)
	for _, tc := range []struct {
		name             string
		parents, changed []string
		on               bool
	}{
		{"the proposal's commit", []string{"base"}, []string{"c.yaml", "b.yaml"}, true},
		{"on an older base", []string{"old"}, []string{"b.yaml", "c.yaml"}, false},
		{"a merge", []string{"base", "other"}, []string{"b.yaml", "c.yaml"}, false},
		{"a file more", []string{"base"}, []string{"b.yaml", "c.yaml", "d.yaml"}, false},
		{"a file less", []string{"base"}, []string{"b.yaml"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(want).To(Equal([]string{"b.yaml", "c.yaml"}), "a.yaml is on the base already")
			g.Expect(onTop("base", tc.parents, tc.changed, want)).To(Equal(tc.on))
		})
	}
}

// gitStore is a fake forge's repository: commits holding every file, and branches.
type gitStore struct {
	mu       sync.Mutex
	branches map[string]string
	commits  map[string]*fakeCommit
	n        int
}

type fakeCommit struct {
	SHA, Message string
	Parents      []string
	Files        map[string]string
}

// newGitStore has branch main at one commit with files.
func newGitStore(files map[string]string) *gitStore {
	s := &gitStore{branches: map[string]string{}, commits: map[string]*fakeCommit{}}
	s.branches["main"] = s.commit("first", nil, files).SHA
	return s
}

// objectID names content as git would, by hashing it.
func objectID(parts ...string) string {
	h := sha1.Sum([]byte(strings.Join(parts, "\x00"))) //nolint:gosec // fake object names
	return hex.EncodeToString(h[:])
}

// commit stores a new commit; two commits of the same files are two commits, as in git.
func (s *gitStore) commit(msg string, parents []string, files map[string]string) *fakeCommit {
	s.n++
	c := &fakeCommit{SHA: objectID("commit", strings.Repeat("x", s.n)), Message: msg, Parents: parents, Files: files}
	s.commits[c.SHA] = c
	return c
}

// at returns the commit a branch or commit names, nil when none.
func (s *gitStore) at(ref string) *fakeCommit {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sha, ok := s.branches[ref]; ok {
		ref = sha
	}
	return s.commits[ref]
}

// changed lists the paths a commit changes against its first parent, sorted.
func (s *gitStore) changed(c *fakeCommit) []string {
	var before map[string]string
	if len(c.Parents) > 0 {
		before = s.commits[c.Parents[0]].Files
	}
	var out []string
	for f, v := range c.Files {
		if old, ok := before[f]; !ok || old != v {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// fakePR is a pull request the fakes keep.
type fakePR struct {
	Number              int
	Title, Body, Branch string
	Base                string
}
