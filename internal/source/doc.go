// Package source keeps a local, bare clone of the plans repository and turns one of its commits
// into a Snapshot: the revision, its commit metadata and the files under the plans path, read
// straight from git objects (go-git, no git binary and no work tree).
//
// A Source clones once into its cache directory, then fetches incrementally. Fetch skips all
// work when the tracked revision did not move, and when the remote cannot be reached it returns
// the last good snapshot together with the error, so the caller can keep reconciling from it and
// report "using last good revision X since T" (see Status and Backoff). The cache survives
// restarts; a cache that cannot be read is removed and cloned again.
//
// FetchRef loads any other ref, typically a pull request head (refs/pull/N/head on Gitea and
// GitHub, refs/merge-requests/N/head on GitLab), without touching the tracked snapshot.
//
// Credentials are secret values already read by the caller (Auth). They never reach logs or
// errors: URLs are stripped of user info and every error is redacted before it leaves the
// package.
package source
