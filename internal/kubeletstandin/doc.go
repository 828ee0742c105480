// Package kubeletstandin stands in for the kubelet of one node in the test and sandbox
// clusters. Those clusters are bare kube-apiservers (internal/testenv): no kubelet can run there
// (it needs a container runtime, cgroups and root), so without a stand-in no Pod ever runs and
// the API server's pods/exec subresource has nowhere to go. drplan runs exec hooks through
// pods/exec as kubectl does (client-go's remotecommand, websocket falling back to SPDY); the
// stand-in lets the tests run them for real, through a real API server.
//
// What it does, as the kubelet would:
//
//   - It registers a Node (Options.NodeName) whose address is 127.0.0.1 (InternalIP) and whose
//     status.daemonEndpoints.kubeletEndpoint.port is the HTTPS port it serves on, with Ready=True,
//     and renews the Ready condition's heartbeat every Options.HeartbeatInterval.
//   - It serves /exec/{namespace}/{pod}/{container} (and the form with the pod's UID) over HTTPS
//     with a certificate signed by a CA (NewCA) that the API server trusts through
//     --kubelet-certificate-authority (testenv.ClusterOptions.KubeletCA). The streams are the
//     kubelet's own: k8s.io/cri-streaming's remotecommand.ServeExec, which the kubelet's CRI
//     streaming server moved to in Kubernetes 1.36. The command runs as a real process
//     (os/exec) in the pod's work directory, Options.WorkDir/<namespace>/<pod>, with a minimal
//     environment (PATH, HOME: the pod's directory, HOSTNAME), the container's literal env
//     values, and POD_NAME, POD_NAMESPACE and CONTAINER_NAME; a non-zero exit reaches the
//     client as "command terminated with exit code N". Exec into a pod not bound to the node,
//     a container not in the pod's spec, or a container not running is refused.
//   - For the pods bound to its node (spec.nodeName) it writes the status a kubelet would. A pod
//     with restartPolicy Always is reported Running and Ready (phase, conditions, running and
//     ready container statuses, podIP 127.0.0.1) and nothing runs for it. A pod with
//     restartPolicy Never or OnFailure is run once: its init containers one after the other,
//     then its containers side by side, each container's command and args as a process (the
//     image is ignored) with its output in Options.WorkDir/<namespace>_<pod>_<uid>/<container>.log;
//     the pod ends Succeeded when every container exits 0, else Failed, with terminated
//     container states and exit codes.
//   - It deletes a pod marked for deletion once its processes are killed, as the kubelet
//     confirms a graceful deletion: without that, a bound pod would stay Terminating forever.
//
// No scheduler runs either: a pod runs here only if it is created with spec.nodeName set. The
// lab's Job stand-in (internal/longhornsim, WorkloadOptions.NodeName) creates Jobs' pods so.
//
// Every process is bounded: its process group is killed when its exec stream ends (the client
// went away and the API server closed the connection, with SPDY or websockets alike; a real
// node may let such a process run on), when the pod is deleted, when the stand-in stops, after
// the pod's activeDeadlineSeconds (the pod then fails with reason DeadlineExceeded), and after
// Options.MaxRunTime in any case. A process's children die with it, as a container's do.
//
// What it does not do: images, container isolation (a process runs as the test's user on the
// host, in the pod's directory), volumes, probes, resources, restarts (OnFailure is run once
// like Never), sidecar init containers (restartPolicy Always on an init container: not run),
// env valueFrom and $(VAR) expansion, terminals (a TTY exec gets plain pipes), attach,
// port-forward, logs, metrics, authentication of the API server's requests (it listens on
// loopback only), node leases, and marking its Node NotReady when it stops.
package kubeletstandin
