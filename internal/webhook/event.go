package webhook

import "strconv"

// Kind is the kind of an Event.
type Kind string

// Kinds of events.
const (
	// Push means a branch or tag moved.
	Push Kind = "push"
	// PullRequest means a pull (merge) request was opened, updated, closed or merged.
	PullRequest Kind = "pull_request"
)

// Forge names the sender of a delivery.
type Forge string

// Forges the handler understands.
const (
	Gitea  Forge = "gitea"
	GitHub Forge = "github"
	GitLab Forge = "gitlab"
)

// Event is one accepted delivery.
type Event struct {
	// Forge sent the delivery.
	Forge Forge
	// Kind is Push or PullRequest.
	Kind Kind
	// Repo is the repository's full name ("org/plans"; GitLab's path with namespace).
	Repo string
	// Ref is, for a push, the ref that moved ("refs/heads/main", "refs/tags/v1"); for a pull
	// request, its base branch ("refs/heads/main").
	Ref string
	// Before is the ref's previous commit (pushes only).
	Before string
	// After is the new commit: the pushed tip, or the pull request's head commit. All zeros when
	// a push deleted the ref.
	After string
	// PRNumber is the pull request's number (GitLab: the merge request's iid).
	PRNumber int
	// PRHead is the ref that holds the pull request's head in the base repository, for
	// source.FetchRef: "refs/pull/N/head" (Gitea, GitHub) or "refs/merge-requests/N/head" (GitLab).
	PRHead string
	// Action is the pull request action as the forge names it ("opened", "synchronize",
	// "synchronized", "update", "closed", "merge", ...).
	Action string
	// Merged is true when the pull request was merged.
	Merged bool
	// Delivery is the forge's delivery id, for logs.
	Delivery string
}

// key identifies the events that coalesce: the same ref, or the same pull request.
func (e Event) key() string {
	if e.Kind == PullRequest {
		return string(e.Forge) + " " + e.Repo + " pr " + strconv.Itoa(e.PRNumber)
	}
	return string(e.Forge) + " " + e.Repo + " push " + e.Ref
}
