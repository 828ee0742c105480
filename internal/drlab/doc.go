// Package drlab starts a whole disaster-recovery lab on loopback: two Kubernetes API servers
// ("east" and "west", internal/testenv) with Longhorn's CRDs and admission webhooks, a Longhorn
// simulator on each (internal/longhornsim) sharing one backup store, one node per cluster
// ("<cluster>-node") whose stand-in kubelet (internal/kubeletstandin) runs the pods bound to it
// and serves pods/exec, and optionally Gitea. The simulator's workload loop binds Jobs' pods to
// that node. The end-to-end tests and `drplan sandbox` use it; nothing in the agent imports it.
//
// Each piece can be stopped on its own to play a fault: a simulator (longhorn-manager frozen),
// an API server (a cluster that stops answering), Gitea (the forge is down).
package drlab
