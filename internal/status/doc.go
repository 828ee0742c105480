// Package status holds what the agent reports of itself and of every plan after each pass
// (Status), the store that serves it on the agent's status endpoint (GET /status), and the
// client that reads it (Fetch) for `drplan status`, the sandbox and the end-to-end tests. It
// imports no other part of the agent beyond the planner's report types.
package status
