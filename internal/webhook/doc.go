// Package webhook receives push and pull request deliveries from Gitea, GitHub and GitLab,
// checks that they come from the forge (HMAC-SHA256 signatures for Gitea and GitHub, the secret
// token for GitLab, all compared in constant time), and turns them into Events.
//
// The Handler answers at once and hands events to a callback from its own goroutine (Start).
// Deliveries that arrive while the callback is busy are coalesced: for each ref or pull request
// only the newest event waits, so a burst of pushes triggers one fetch, not a queue of them.
package webhook
