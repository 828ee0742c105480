// Package revision holds how drplan shows a Git revision to people: abbreviated to ShortLen
// characters, as Flux shows them, in reports, timelines and error messages. It imports only the
// standard library, so that the pure planner can use it.
package revision
