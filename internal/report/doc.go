// Package report renders what drplan tells people in pull requests and on commits, as
// Markdown a reviewer reads in ten seconds: a summary line first, then warnings and problems,
// then tables, with the details folded in <details>.
//
// Three renderings, each a comment's content: Preview (what an open pull request would do
// once merged, against the live clusters: validation problems with file:line, per plan and
// cluster the changes, and for a pull request that turns failover on the waves, their volumes'
// lag now and the data-loss window if failover ran now), Applied (what a revision applied), and
// Progress (a failover under way, then its timeline with the RTO and the data-loss window as
// realised). Failover is described by this package's own Failover type, which the agent fills
// from the planner's report.
//
// A comment's life. The agent keeps one comment per pull request, found by Marker on its
// first line. Compose builds the new body from the previous one: when the new content is of
// another kind or revision than the previous content (a new head commit, then "applied"), the
// previous content goes, folded, into a History section, newest first and at most MaxHistory
// entries; content of the same kind and revision replaces its predecessor in place. Cut then
// fits the body into the forge's limit: history goes first, oldest entry first, then the
// content's tail, leaving the summary and a note "cut: N characters omitted".
//
// Everything that comes from a pull request (names, paths, messages) is escaped: it cannot
// open HTML, mention people, break a table or forge the markers this package parses.
package report
