package forge

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Forge is what the agent needs of a Git forge.
type Forge interface {
	// Kind says which forge this is.
	Kind() Kind
	// MaxCommentLen is the longest comment body the forge accepts, in characters (runes).
	MaxCommentLen() int
	// OpenPullRequests lists the open pull requests into base, oldest first.
	OpenPullRequests(ctx context.Context, base string) ([]PullRequest, error)
	// ChangedFiles lists the paths a pull request adds, changes or removes; a renamed file is
	// listed under its old and its new path.
	ChangedFiles(ctx context.Context, number int) ([]string, error)
	// PullRequestForCommit returns the merged pull request whose merge put sha on its base
	// branch (a merge, squash or rebase commit, or a commit of the merged branch), or nil when
	// sha came from no merged pull request.
	PullRequestForCommit(ctx context.Context, sha string) (*PullRequest, error)
	// UpsertComment keeps the agent's one comment on a pull request, found by marker: it edits
	// the comment in place with render(previous body), or creates it with render("").
	UpsertComment(ctx context.Context, number int, marker string, render Render) (Comment, error)
	// SetCommitStatus sets a commit status on sha.
	SetCommitStatus(ctx context.Context, sha string, st Status) error
	// CommentOnCommit keeps the agent's one comment on a commit, like UpsertComment. Forges
	// without commit comments (Gitea) return ErrNotSupported.
	CommentOnCommit(ctx context.Context, sha, marker string, render Render) (Comment, error)
	// Reviews lists every review of a pull request, oldest first as the forge lists them (on
	// GitLab, the merge request's current approvals). Approvers decides which of them count.
	Reviews(ctx context.Context, number int) ([]Review, error)
	// TeamMembers lists the logins of a team written org/team (on GitLab, the members of the
	// group at that path, with those inherited from its parent groups), sorted. A team that
	// does not exist, or that the token cannot see, is an error naming it that wraps
	// ErrNotFound.
	TeamMembers(ctx context.Context, team string) ([]string, error)
	// ProposeChange keeps one pull request of the agent's that changes files on p.Base: it
	// creates (or moves) p.Branch to one commit on top of the base's head that writes p.Files
	// with p.Message, and opens a pull request from it into the base with p.Title and p.Body,
	// or updates the open one from that branch (title, body). It returns the pull request, its
	// HeadSHA the branch's commit. Calling it again with the same proposal changes nothing: no
	// new commit while the branch is that commit on the base's head, no second pull request.
	// When the base already holds every file's content there is nothing to propose: it
	// returns nil and leaves the branch and any pull request as they are.
	ProposeChange(ctx context.Context, p Proposal) (*PullRequest, error)
}

// Kind names a forge.
type Kind string

// The forges drplan talks to.
const (
	KindGitea  Kind = "gitea"
	KindGitHub Kind = "github"
	KindGitLab Kind = "gitlab"
)

// PullRequest is an open or merged pull request (a merge request on GitLab).
type PullRequest struct {
	// Number is the pull request's number in its repository (GitLab's IID).
	Number int `json:"number"`
	// Title is the pull request's title, as its author wrote it.
	Title string `json:"title"`
	// URL is the pull request's web page.
	URL string `json:"url"`
	// Base is the branch it merges into.
	Base string `json:"base"`
	// HeadSHA is the commit at the pull request's head.
	HeadSHA string `json:"headSHA"`
	// HeadRef is a ref of the base repository that can be fetched for the head, also for a
	// pull request from a fork: refs/pull/N/head, or refs/merge-requests/N/head on GitLab.
	HeadRef string `json:"headRef"`
	// Branch is the head branch's name in its own repository, for display.
	Branch string `json:"branch"`
	// Merged is true for a merged pull request, with MergeSHA the commit the merge made on the
	// base branch when the forge says.
	Merged   bool   `json:"merged,omitempty"`
	MergeSHA string `json:"mergeSHA,omitempty"`
}

// Comment is a comment of the agent's.
type Comment struct {
	// ID is the forge's id of the comment (GitLab: of the note).
	ID int64 `json:"id"`
	// URL is the comment's web address when the forge gives one.
	URL string `json:"url,omitempty"`
	// Body is the body now on the forge.
	Body string `json:"body"`
	// Result says what UpsertComment or CommentOnCommit did.
	Result CommentResult `json:"result"`
}

// CommentResult says what an upsert did.
type CommentResult string

// What an upsert did.
const (
	CommentCreated   CommentResult = "created"
	CommentUpdated   CommentResult = "updated"
	CommentUnchanged CommentResult = "unchanged"
)

// Render computes a comment's new body from its previous body ("" when there is none). The
// marker line is put first when the body does not start with it.
type Render func(previous string) string

// Text is a Render that ignores the previous body.
func Text(body string) Render { return func(string) string { return body } }

// State is a commit status's state.
type State string

// Commit status states, as GitHub and Gitea name them; GitLab calls failure and error "failed".
const (
	StatePending State = "pending"
	StateSuccess State = "success"
	StateFailure State = "failure"
	StateError   State = "error"
)

// ValidateContext is the commit status context drplan sets on every pull request head.
const ValidateContext = "drplan/validate"

// ShardContext is the commit status context of one shard of sharded agents; ValidateContext
// without shard.
func ShardContext(shard string) string {
	if shard == "" {
		return ValidateContext
	}
	return ValidateContext + "/" + shard
}

// Status is a commit status.
type Status struct {
	// Context names the check, ValidateContext for drplan's.
	Context string
	// State is the outcome.
	State State
	// Description is a one-line reason; line breaks are flattened and it is cut to the forge's
	// limit with an ellipsis.
	Description string
	// TargetURL links the status to a page with details, such as the pull request comment.
	TargetURL string
}

// Options select and configure a forge.
type Options struct {
	// Kind is the forge.
	Kind Kind
	// URL is the forge's base URL, for self-hosted instances: https://git.example.com/.
	// Required for Gitea; GitHub defaults to https://api.github.com/ (a GitHub Enterprise
	// Server URL gets /api/v3/), GitLab to https://gitlab.com/ (/api/v4/ is added).
	URL string
	// Repo is the repository, owner/name (GitLab: group/subgroup/name).
	Repo string
	// Token authenticates the agent. Never logged.
	Token string `json:"-"`
	// HTTPClient is the client whose transport (TLS, proxy) requests go through; a default
	// client when nil. It is not modified: requests go through a copy with retries added.
	HTTPClient *http.Client `json:"-"`
	// Timeout bounds each request attempt; 30s when zero.
	Timeout time.Duration
	// Retry bounds retries; DefaultRetry when zero.
	Retry RetryPolicy
	// UserAgent is sent with every request; "drplan" when empty.
	UserAgent string
}

// String describes the options without the token.
func (o Options) String() string {
	tok := "unset"
	if o.Token != "" {
		tok = "set"
	}
	return fmt.Sprintf("forge %s %s at %s (token %s)", o.Kind, o.Repo, o.URL, tok)
}

// New returns the forge o names. It makes no request.
func New(o Options) (Forge, error) {
	owner, name, ok := strings.Cut(strings.Trim(o.Repo, "/"), "/")
	if !ok || owner == "" || name == "" {
		return nil, fmt.Errorf("new %s forge: repo %q is not owner/name", o.Kind, o.Repo)
	}
	if o.Token == "" {
		return nil, fmt.Errorf("new %s forge for %s: no token", o.Kind, o.Repo)
	}
	hc := o.httpClient()
	switch o.Kind {
	case KindGitea:
		return newGitea(o, owner, name, hc)
	case KindGitHub:
		return newGitHub(o, owner, name, hc)
	case KindGitLab:
		return newGitLab(o, hc)
	default:
		return nil, fmt.Errorf("new forge for %s: unknown kind %q (want gitea, github or gitlab)", o.Repo, o.Kind)
	}
}

// httpClient returns a copy of the caller's client with the retrying transport.
func (o Options) httpClient() *http.Client {
	hc := &http.Client{}
	if o.HTTPClient != nil {
		c := *o.HTTPClient
		hc = &c
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	ua := o.UserAgent
	if ua == "" {
		ua = "drplan"
	}
	hc.Transport = &retryTransport{base: hc.Transport, policy: o.Retry.withDefaults(), timeout: o.Timeout, userAgent: ua}
	// The per-attempt timeout lives in the transport so that retries are not cut by it.
	hc.Timeout = 0
	return hc
}

// withMarker puts marker as the body's first line when it is not.
func withMarker(marker, body string) string {
	if strings.HasPrefix(body, marker) {
		return body
	}
	return marker + "\n" + body
}

// hasMarker reports whether a comment body is one of the agent's comments for marker.
func hasMarker(marker, body string) bool {
	// Comments edited in a web UI may come back with CRLF line ends.
	return strings.HasPrefix(strings.TrimLeft(body, " \t\r\n"), marker)
}

// oneLine flattens s to one line and cuts it to at most limit runes, ending in "…" when cut.
func oneLine(s string, limit int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if limit <= 0 || len(r) <= limit {
		return s
	}
	return string(r[:limit-1]) + "…"
}
