// Package planner decides, without any I/O, what makes both clusters match the plans: a pure
// function of the valid plans, the observed state of each cluster and the clock. It returns the
// actions for the executor and a report of every plan and volume for the reporters.
//
// The decisions read like a runbook, one small function each: which recurring job the primary
// needs, which volumes it must bind, whether a standby volume can be created yet, whether the
// secondary lags the primary enough to ask for a sync, how far behind each standby volume is.
// Nothing is remembered between passes: rate limits read the timestamps the clusters keep
// (spec.syncRequestedAt), so a restarted agent decides exactly as the one before it.
package planner
