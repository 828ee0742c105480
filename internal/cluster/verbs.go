package cluster

import (
	"net/http"
	"strings"
	"sync/atomic"
)

// Verbs are the Kubernetes verbs of the requests the agent counts, in the order metrics list
// them. A watch is counted apart (Cluster.Watches).
var Verbs = []string{"get", "list", "create", "update", "patch", "delete", "deletecollection", "other"}

// requestCounters counts requests by verb.
type requestCounters struct {
	n [8]atomic.Int64 // by index in Verbs
}

func (r *requestCounters) add(verb string) {
	for i, v := range Verbs {
		if v == verb {
			r.n[i].Add(1)
			return
		}
	}
	r.n[len(Verbs)-1].Add(1)
}

func (r *requestCounters) total() int64 {
	var t int64
	for i := range r.n {
		t += r.n[i].Load()
	}
	return t
}

func (r *requestCounters) byVerb() map[string]int64 {
	out := make(map[string]int64, len(Verbs))
	for i, v := range Verbs {
		out[v] = r.n[i].Load()
	}
	return out
}

// Verb is the Kubernetes verb of a request that is not a watch, from its method and path, as
// the API server's request info names it: GET of a named object is get, of a collection list;
// DELETE of a collection is deletecollection. Paths that name no resource (discovery, /readyz)
// are get.
func Verb(method, path string) string {
	switch method {
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		if named(path) {
			return "delete"
		}
		return "deletecollection"
	case http.MethodGet, http.MethodHead:
		if named(path) {
			return "get"
		}
		return "list"
	}
	return "other"
}

// named reports whether an API path names one object (or a subresource of one) rather than a
// collection: /api/v1/namespaces/ns/configmaps/x, /apis/g/v/things/x/status. Paths outside
// /api and /apis count as named (a single read).
func named(path string) bool {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(segs) >= 2 && segs[0] == "api":
		segs = segs[2:] // api, version
	case len(segs) >= 3 && segs[0] == "apis":
		segs = segs[3:] // apis, group, version
	default:
		return true
	}
	if len(segs) >= 3 && segs[0] == "namespaces" {
		segs = segs[2:]
	}
	return len(segs) >= 2
}
