// Package forge talks to the Git forge that hosts the plans repository: Gitea, GitHub or GitLab.
//
// The agent needs seven things of a forge, and Forge is exactly those: list the open pull
// requests into the tracked branch (and the files each changes), find the merged pull request
// an applied commit came from, keep one comment of its own per pull request up to date, set a
// commit status (drplan/validate), where the forge has them, comment on a commit pushed
// without a pull request, to authorise a failover, read who reviewed a pull request and who is
// in a team and, after one, propose a change (the reversed plan) as a pull request of its own.
// New builds the provider for Options.Kind.
//
// One proposal per branch. ProposeChange writes its files as one commit on the base's head,
// on a branch only the agent pushes to, and keeps one open pull request from that branch. It
// reads before it writes: a branch that already is that commit (its only parent the base's
// head, changing exactly the files whose content differs from the base's, to the proposal's
// contents) is left alone, so that a retried or repeated call makes no commit; otherwise the
// branch is moved (force-pushed) to a new commit. A pull request's title and body are edited
// only when they differ. Several files make one commit on every forge: Gitea's ChangeFiles,
// GitHub's git data API (a tree on the base's tree, then a commit), GitLab's commit actions.
//
// Approvals after the last push. Reviews lists a pull request's reviews and Approvers, a pure
// function, keeps the users whose latest verdict approves the head that was merged. What each
// forge tells: GitHub gives every review the commit it was given on (an older head's approval
// does not count) and marks reviews dismissed on push only when the branch protection says
// so; Gitea gives the commit too and marks a review stale after a push that changed the pull
// request; GitLab lists only the current approvals, removed on push only when the project
// says so (Premium), and dates them (approved_at) only in releases since late 2025: drplan
// then places each on the head of the diff version it followed; without the date it cannot
// tell an approval from before a push.
//
// One comment per pull request. The agent's comment starts with a hidden marker line such as
// <!-- drplan:pr -->. UpsertComment lists the pull request's comments, takes the oldest one by
// the agent's own user that starts with the marker and edits it in place; it creates a comment
// only when there is none, and deletes any further copy (left by a crash between a create and
// its retry). The new body is computed from the previous one (Render), so the caller can fold
// the previous content into a history section; a body equal to the current one is not written.
//
// Resilience. Every provider sends its requests through one retrying transport: 5xx answers,
// 429 and rate-limited 403 answers (GitHub's primary and secondary limits), and network errors
// of idempotent requests are retried with exponential backoff and jitter, honouring
// Retry-After and the forges' reset headers. Retries are bounded in count and never outlast
// the caller's context: a wait that would pass its deadline is not started and the last answer
// is returned at once. Errors are classified once, in this package: errors.Is(err,
// ErrRateLimited), ErrUnavailable, ErrUnauthorized, ErrNotFound, ErrNotSupported;
// RetryAfter(err) says when a rate-limited forge asked to be called again.
//
// Tokens are values the caller read (from a file or the environment); they go only into
// request headers, never into logs, errors or Options' String.
package forge
