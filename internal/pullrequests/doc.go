// Package pullrequests keeps pull requests informed of what the plans they change would do
// and, after merge, of what was applied and how a failover progresses. It is the reporter
// stage of the pipeline for the forge, and it runs in a goroutine of its own so that a forge
// that is down or rate-limits never holds up reconciliation.
//
// Its rules, each tested alone with a fake forge and a fake clock:
//   - one preview per pull request head: a drplan/validate commit status and the sticky comment,
//     written once per head commit, not on every pass (lag figures change all the time);
//   - one applied comment per revision of the tracked branch, on the pull request the revision
//     came from, or, for a commit pushed without one, a commit comment and a commit status;
//   - a failover's progress edits that same comment at most every ProgressEvery, and only when
//     it changed;
//   - a forge that rate-limits or is unavailable is left alone until it may be asked again
//     (its Retry-After, 30s at least).
//
// It decides nothing itself: previews come from a PreviewFunc (the agent's one
// gather-and-decide path) and applied passes are handed over by the loop (PassDone).
package pullrequests
