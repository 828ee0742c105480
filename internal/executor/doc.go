// Package executor carries out the planner's actions on the clusters: server-side apply with
// field manager "drplan" for the objects drplan owns (the RecurringJob), the smallest merge patch
// for single fields of objects it does not own (volume labels, syncRequestedAt), and create-once
// for standby volumes, whose spec Longhorn owns afterwards.
//
// Every action is idempotent: re-running a pass that was cut short does no harm. Actions run with
// bounded concurrency; one failing action never stops the others. The executor never deletes
// anything.
package executor
