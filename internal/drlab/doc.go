// Package drlab starts a whole disaster-recovery lab on loopback: two Kubernetes API servers
// ("east" and "west", internal/testenv) with Longhorn's CRDs and admission webhooks, a Longhorn
// simulator on each (internal/longhornsim) sharing one backup store, and optionally Gitea. The
// end-to-end tests and `drplan sandbox` use it; nothing in the agent imports it.
//
// Each piece can be stopped on its own to play a fault: a simulator (longhorn-manager frozen),
// an API server (a cluster that stops answering), Gitea (the forge is down).
package drlab
