// Package testenv starts the real components drplan is tested against, on loopback: two
// Kubernetes API servers ("east" and "west", each kube-apiserver with its own etcd, started by
// controller-runtime's envtest) and a Gitea server with an admin token. The binaries are built
// once by `make tools` into versioned directories under bin/ (see Tools); tests and the sandbox
// find them through environment variables the Makefile exports, or under the module's bin/.
//
// Every Start has a Stop that leaves no process behind.
package testenv
