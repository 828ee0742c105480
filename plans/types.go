package plans

import "github.com/drplan/drplan/plans/strictyaml"

// APIVersion and Kind identify a DRPlan document.
const (
	APIVersion = "drplan.io/v1alpha1"
	Kind       = "DRPlan"
)

// Group is the API group of drplan's own kinds.
const Group = "drplan.io"

// Duration is a length of time written like 90s, 30m or 1h30m.
type Duration = strictyaml.Duration

// DRPlan protects a set of Longhorn volumes of a primary cluster with standby volumes in a
// secondary cluster, and says how to fail over to them.
type DRPlan struct {
	// APIVersion must be drplan.io/v1alpha1.
	APIVersion string `json:"apiVersion" jsonschema:"required,enum=drplan.io/v1alpha1"`
	// Kind must be DRPlan.
	Kind string `json:"kind" jsonschema:"required,enum=DRPlan"`
	// Metadata names the plan.
	Metadata Metadata `json:"metadata" jsonschema:"required"`
	// Spec is what the plan protects and how.
	Spec Spec `json:"spec" jsonschema:"required"`
}

// Metadata names a plan.
type Metadata struct {
	// Name identifies the plan in the whole plans repository, in status and in pull-request
	// comments. A DNS-1123 label of at most 32 characters: the agent derives object names
	// from it, such as the name of the plan's Longhorn RecurringJob.
	Name string `json:"name" jsonschema:"required,minLength=1,maxLength=32,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"`
	// Labels are Kubernetes-style labels of the plan. Agents sharded by plan select their plans
	// with them (the AgentConfig's shard.selector); drplan gives them no other meaning.
	Labels map[string]string `json:"labels,omitempty"`
}

// Spec is what a plan protects and how.
type Spec struct {
	// Primary is the name, in the agent's config, of the cluster that runs the workloads and
	// holds the source volumes today.
	Primary string `json:"primary" jsonschema:"required,minLength=1,maxLength=63,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"`
	// Secondary is the name, in the agent's config, of the disaster-recovery cluster that holds
	// the standby volumes. It must differ from primary.
	Secondary string `json:"secondary" jsonschema:"required,minLength=1,maxLength=63,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"`
	// BackupTarget is the name of the Longhorn BackupTarget, the same in both clusters, whose
	// store receives the backups; both clusters must point it at the same store. Default: `default`.
	BackupTarget string `json:"backupTarget" jsonschema:"maxLength=63,pattern=^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"`
	// Schedule is the recurring backup of the source volumes on the primary.
	Schedule Schedule `json:"schedule" jsonschema:"required"`
	// RPO is the recovery point objective: the most data, in time, the plan accepts to lose.
	// A standby volume whose newest restored backup is older than this is reported as a breach.
	// It must be longer than the largest interval between two scheduled backups, or it could
	// never be met.
	RPO Duration `json:"rpo" jsonschema:"required"`
	// Volumes are the Longhorn volumes to protect, at least one.
	Volumes []Volume `json:"volumes" jsonschema:"required,minItems=1"`
	// Waves are the steps of activation on failover, in order: each wave activates its
	// volumes, creates their PersistentVolumes and claims, scales its workloads and waits for
	// its gates before the next one starts. Default: `[{"name": "default"}]` (one wave).
	Waves []Wave `json:"waves"`
	// Failover is the switch: setting it to true activates the standby volumes in the
	// secondary, wave by wave. Activation is one-way: setting it back to false afterwards
	// changes nothing. Default: `false`.
	Failover bool `json:"failover"`
	// Suspend, when true, makes the agent change nothing for the plan in either cluster: no
	// backup job, no standby volume, no failover step, until it is set back to false. Status
	// says the plan is suspended. For maintenance on a plan's volumes, as Flux's suspend is.
	Suspend bool `json:"suspend,omitempty"`
	// FailoverAuthorization adds to what the agent's config requires before this plan's
	// failover may start: a signed commit, more approvals, reviewers allowed by this list too.
	// It never asks for less than the agent's config. Off when absent.
	FailoverAuthorization *FailoverAuthorization `json:"failoverAuthorization,omitempty"`
	// Activation tunes failover.
	Activation Activation `json:"activation"`
	// Traffic is the failover's last step, after every wave's gates are ready: manifests
	// applied to the secondary with server-side apply, such as a Service's selector, an
	// Ingress, or an annotation a DNS controller acts on. Off when absent.
	Traffic *Apply `json:"traffic,omitempty"`
	// Drill asks for a rehearsal of the failover in the secondary that touches nothing the
	// plan protects: drill copies of the standby volumes, restored from the backups the
	// standbys last restored, brought up wave by wave in a namespace of its own, measured and
	// torn down. A new id starts a new drill. Off when absent.
	Drill *Drill `json:"drill,omitempty"`
	// StaleVolumes says what becomes of the old primary's volumes once a plan protects again
	// after a failover (the plan with primary and secondary swapped, which the agent proposes):
	// they are stale, older than the data the failover activated. Keep labels them
	// drplan.io/stale=true and keeps them; Delete also deletes each one once the plan's standby
	// volume that replaces it holds a backup taken after that failover finished, and the stale
	// volume is detached. Default: `Keep`.
	StaleVolumes StaleVolumes `json:"staleVolumes" jsonschema:"enum=Keep,enum=Delete"`
}

// StaleVolumes is a plan's policy for the old primary's volumes after a failover.
type StaleVolumes string

// The StaleVolumes policies.
const (
	StaleKeep   StaleVolumes = "Keep"
	StaleDelete StaleVolumes = "Delete"
)

// Drill is a failover rehearsal (see Spec.Drill).
type Drill struct {
	// ID names the drill; setting another value starts a new drill (the previous drill's
	// objects are torn down first). Objects the drill creates carry it in the label
	// drplan.io/drill.
	ID string `json:"id" jsonschema:"required,minLength=1,maxLength=63,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"`
	// Namespace is where the drill brings the waves up, in the secondary: the claims of the
	// drill copies, copies of the waves' workloads, the namespaced objects of the waves'
	// manifests and gates. It must be none of the namespaces the plan's claims, workloads,
	// gates or hooks name. Created by the drill when missing (and then deleted with it).
	// Changing it starts a new drill there, after the one in the old namespace is torn down.
	Namespace string `json:"namespace" jsonschema:"required,minLength=1,maxLength=63,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"`
	// KeepFor is how long the drill's objects stay after the drill ended, for people to look
	// at, before they are deleted. Default: `1h`.
	KeepFor Duration `json:"keepFor"`
}

// Schedule is the recurring backup of a plan's source volumes: one Longhorn RecurringJob with
// task backup on the primary.
type Schedule struct {
	// Cron is when backups run, in the five-field cron syntax Longhorn parses
	// (robfig/cron ParseStandard: minute hour day-of-month month day-of-week, or a descriptor
	// such as @hourly or @every 10m), in UTC.
	Cron string `json:"cron" jsonschema:"required,minLength=1"`
	// Retain is how many backups of each volume the job keeps in the backup store (1 to 100,
	// Longhorn's default recurring-job-max-retention). Default: `10`.
	Retain int `json:"retain" jsonschema:"minimum=1,maximum=100"`
	// Concurrency is how many volumes the job backs up at the same time (1 to 100). Default: `1`.
	Concurrency int `json:"concurrency" jsonschema:"minimum=1,maximum=100"`
	// Consistency is what the scheduled backups capture. `crash`: Longhorn's recurring job
	// backs the volumes up, as a power cut would leave them. `application`: the agent runs the
	// schedule itself (the same cron semantics) and, for each wave's volumes in turn, runs the
	// wave's backupHooks.pre, snapshots its volumes together (Snapshot CRs), runs
	// backupHooks.post and backs the snapshots up (Backup CRs), keeping retain backups of each
	// volume; no Longhorn recurring job is used. Default: `crash`.
	Consistency Consistency `json:"consistency" jsonschema:"enum=crash,enum=application"`
}

// Consistency is what a backup captures of the application using the volume.
type Consistency string

// The consistencies of a plan's scheduled backups.
const (
	// CrashConsistent backups are what a power cut would leave on the volume.
	CrashConsistent Consistency = "crash"
	// ApplicationConsistent backups are taken between the wave's pre and post hooks.
	ApplicationConsistent Consistency = "application"
)

// Volume is one Longhorn volume of the primary and its standby volume in the secondary.
type Volume struct {
	// Name is the name of the Longhorn volume in the primary, and of its backup volume in the
	// backup store: a DNS-1123 label (no dots) of at most 40 characters, as Longhorn requires.
	Name string `json:"name" jsonschema:"required,minLength=1,maxLength=40,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"`
	// StandbyName is the name of the standby volume in the secondary, a DNS-1123 label of at
	// most 40 characters. Longhorn recommends naming standby volumes like their sources; a new
	// name replaces a faulted standby (the old one is kept, labelled orphaned). Default: the
	// volume's name.
	StandbyName string `json:"standbyName" jsonschema:"maxLength=40,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"`
	// Replicas is the number of replicas of the standby volume (1 to 20, Longhorn's range). Default: `3`.
	Replicas int `json:"replicas" jsonschema:"minimum=1,maximum=20"`
	// Wave is the name of the wave that activates this volume on failover. Default: the first wave's name.
	Wave string `json:"wave" jsonschema:"maxLength=63,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"`
	// PV asks for a PersistentVolume bound to the standby volume once it is activated, the way
	// Longhorn's own "create PV" does (CSI driver driver.longhorn.io, reclaim policy Retain).
	// Default: set when pvc is set.
	PV *PersistentVolume `json:"pv,omitempty"`
	// PVC asks for a PersistentVolumeClaim bound to that PersistentVolume once the standby volume
	// is activated, so that workloads find their data under the claim name they use.
	PVC *PersistentVolumeClaim `json:"pvc,omitempty"`
}

// PersistentVolume is the PersistentVolume created for a standby volume on activation.
type PersistentVolume struct {
	// Name of the PersistentVolume. Default: the standby volume's name.
	Name string `json:"name" jsonschema:"maxLength=253,pattern=^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"`
	// StorageClassName of the PersistentVolume and of its claim. Default: `longhorn`.
	StorageClassName string `json:"storageClassName" jsonschema:"maxLength=253,pattern=^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"`
	// FSType is the filesystem on the volume. Default: `ext4`.
	FSType string `json:"fsType" jsonschema:"enum=ext4,enum=xfs"`
	// AccessModes of the PersistentVolume and of its claim. Default: `["ReadWriteOnce"]`.
	AccessModes []AccessMode `json:"accessModes" jsonschema:"uniqueItems=true"`
}

// AccessMode is a Kubernetes PersistentVolume access mode.
type AccessMode string

// The access modes Longhorn volumes support.
const (
	ReadWriteOnce    AccessMode = "ReadWriteOnce"
	ReadWriteOncePod AccessMode = "ReadWriteOncePod"
	ReadOnlyMany     AccessMode = "ReadOnlyMany"
	ReadWriteMany    AccessMode = "ReadWriteMany"
)

// PersistentVolumeClaim is the claim created for a standby volume on activation.
type PersistentVolumeClaim struct {
	// Namespace of the claim.
	Namespace string `json:"namespace" jsonschema:"required,minLength=1,maxLength=63,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"`
	// Name of the claim, as the workload refers to it (for a StatefulSet,
	// <template>-<statefulset>-<ordinal>).
	Name string `json:"name" jsonschema:"required,minLength=1,maxLength=253,pattern=^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"`
}

// Wave is one step of activation on failover.
type Wave struct {
	// Name identifies the wave within the plan; volumes refer to it.
	Name string `json:"name" jsonschema:"required,minLength=1,maxLength=63,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"`
	// Gates are resources in the secondary that must be ready (kstatus Current) before the next
	// wave starts.
	Gates []Gate `json:"gates,omitempty"`
	// Scale are the workloads in the secondary scaled up once the wave's volumes are active.
	Scale []Scale `json:"scale,omitempty"`
	// Apply are manifests applied to the secondary with server-side apply when the wave starts,
	// before its volumes are activated: namespaces, RBAC, CRDs, operators. Namespaces and
	// CustomResourceDefinitions go first and must be ready (a CRD established) before the rest
	// is applied; every applied object must be ready (kstatus Current) before the wave's
	// volumes are activated. Off when absent.
	Apply *Apply `json:"apply,omitempty"`
	// BackupHooks run in the primary around every backup of the wave's volumes the agent takes:
	// the final backup of a planned switchover, and the scheduled backups of a plan whose
	// schedule.consistency is application. The wave's volumes are snapshotted together between
	// them. Off when absent.
	BackupHooks *BackupHooks `json:"backupHooks,omitempty"`
}

// Apply is a set of manifests of the plans repository applied to the secondary with server-side
// apply (field manager drplan, conflicts forced).
type Apply struct {
	// Path is a YAML file or a directory of them (read recursively), relative to the directory
	// of the plan's file, inside the plans repository. Every document must be a Kubernetes
	// object with apiVersion, kind and metadata.name; a namespaced object without a namespace
	// goes to `default`.
	Path string `json:"path" jsonschema:"required,minLength=1"`
	// Timeout is how long the failover waits for the applied objects to be ready before it
	// stops there and reports them. Default: `10m`.
	Timeout Duration `json:"timeout"`
}

// BackupHooks quiesce an application around the snapshot of its volumes.
type BackupHooks struct {
	// Pre run in order before the snapshots are taken.
	Pre []Hook `json:"pre,omitempty"`
	// Post run in order after the snapshots are taken, and always once any pre hook ran, even
	// when a pre hook or a snapshot failed. Workloads scaled down by a pre hook are scaled back
	// after them.
	Post []Hook `json:"post,omitempty"`
	// SnapshotTimeout bounds how long the snapshots may take between the pre and the post hooks
	// (the application stays quiesced meanwhile); snapshots not taken by then fail, and the post
	// hooks run. Default: `2m`.
	SnapshotTimeout Duration `json:"snapshotTimeout"`
}

// Hook is one step of BackupHooks: exactly one of exec and scaleToZero.
type Hook struct {
	// Name identifies the hook in status, logs and comments. Default: `pre-<index>` or `post-<index>`.
	Name string `json:"name" jsonschema:"maxLength=63,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"`
	// Exec runs a command in every running pod its selector selects, through the API server's
	// pods/exec, as kubectl exec does.
	Exec *ExecHook `json:"exec,omitempty"`
	// ScaleToZero scales a workload of the primary to zero replicas and waits until it has
	// none; it is scaled back to its replicas after the post hooks. Only in pre.
	ScaleToZero *WorkloadRef `json:"scaleToZero,omitempty"`
	// OnError is what a failing hook does: `Fail` stops, and no snapshot is taken (post hooks
	// still run); `Continue` goes on and the backup is not called application-consistent.
	// Default: `Fail`.
	OnError HookOnError `json:"onError" jsonschema:"enum=Fail,enum=Continue"`
	// Timeout bounds the hook; a hook that runs longer is stopped and failed. Default: `1m`.
	Timeout Duration `json:"timeout"`
}

// HookOnError is what a failing hook does.
type HookOnError string

// The choices of Hook.OnError.
const (
	HookFail     HookOnError = "Fail"
	HookContinue HookOnError = "Continue"
)

// ExecHook is a command run in pods of the primary.
type ExecHook struct {
	// Namespace of the pods.
	Namespace string `json:"namespace" jsonschema:"required,minLength=1,maxLength=63,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"`
	// Selector selects the pods by label (all must match); the command runs in each running one.
	// A selector that selects no running pod fails the hook.
	Selector map[string]string `json:"selector" jsonschema:"required,minProperties=1"`
	// Container is the container the command runs in. Default: the pod's first container.
	Container string `json:"container,omitempty" jsonschema:"maxLength=63"`
	// Command is the command and its arguments, run without a shell (write ["sh", "-c", "..."]
	// for one). A non-zero exit status fails the hook.
	Command []string `json:"command" jsonschema:"required,minItems=1"`
}

// WorkloadRef names a workload with a scale subresource.
type WorkloadRef struct {
	// APIVersion of the workload. Default: `apps/v1` for Deployment, StatefulSet and
	// ReplicaSet; required for any other kind.
	APIVersion string `json:"apiVersion" jsonschema:"pattern=^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?v[0-9]+((alpha|beta)[0-9]+)?$"`
	// Kind of the workload.
	Kind string `json:"kind" jsonschema:"required,minLength=1,pattern=^[A-Z][A-Za-z0-9]*$"`
	// Namespace of the workload.
	Namespace string `json:"namespace" jsonschema:"required,minLength=1,maxLength=63,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"`
	// Name of the workload.
	Name string `json:"name" jsonschema:"required,minLength=1,maxLength=253,pattern=^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"`
}

// Gate is a resource in the secondary that must become ready before the next wave starts.
type Gate struct {
	// APIVersion of the resource. Default: `apps/v1` for Deployment, StatefulSet, DaemonSet and
	// ReplicaSet, `batch/v1` for Job, `v1` for Pod, Service and PersistentVolumeClaim; required
	// for any other kind.
	APIVersion string `json:"apiVersion" jsonschema:"pattern=^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?v[0-9]+((alpha|beta)[0-9]+)?$"`
	// Kind of the resource.
	Kind string `json:"kind" jsonschema:"required,minLength=1,pattern=^[A-Z][A-Za-z0-9]*$"`
	// Namespace of the resource; empty for a cluster-scoped resource.
	Namespace string `json:"namespace,omitempty" jsonschema:"maxLength=63,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"`
	// Name of the resource.
	Name string `json:"name" jsonschema:"required,minLength=1,maxLength=253,pattern=^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"`
	// Timeout is how long the failover waits for the resource to be ready before it stops
	// there and reports it. Default: `10m`.
	Timeout Duration `json:"timeout"`
	// Current is a CEL expression over the object (its top-level fields, such as status and
	// data, are the variables) that makes the gate ready when true, in place of kstatus: for a
	// kind kstatus cannot judge, or a readiness of the application's own. Evaluated as Flux's
	// custom health checks are: a status.observedGeneration behind metadata.generation is in
	// progress; then inProgress, failed and current, in that order. Off when empty.
	Current string `json:"current,omitempty"`
	// Failed is a CEL expression that marks the gate failed (not ready, said so) when true.
	// Only with current.
	Failed string `json:"failed,omitempty"`
	// InProgress is a CEL expression that marks the gate in progress when true. Only with
	// current.
	InProgress string `json:"inProgress,omitempty"`
	// Job makes the gate run a Job in the secondary once the wave's workloads are scaled up,
	// such as a pg_isready or a smoke test, and wait for it to succeed: the gate's kind must be
	// Job; the agent creates it under the gate's namespace and name (replacing one a previous
	// failover left), and the gate is ready when the Job completes, failed when it fails.
	// Off when absent.
	Job *JobGate `json:"job,omitempty"`
}

// JobGate is the Job a gate runs: one container, restartPolicy Never, the restricted Pod
// Security Standard's security context.
type JobGate struct {
	// Image of the container.
	Image string `json:"image" jsonschema:"required,minLength=1"`
	// Command of the container.
	Command []string `json:"command" jsonschema:"required,minItems=1"`
	// Args of the container.
	Args []string `json:"args,omitempty"`
	// Env are environment variables of the container.
	Env []EnvVar `json:"env,omitempty"`
	// ServiceAccountName the Job's pod runs as. Default: the namespace's default.
	ServiceAccountName string `json:"serviceAccountName,omitempty" jsonschema:"maxLength=253"`
	// BackoffLimit is how many times a failed pod is retried before the Job fails (0 to 10).
	// Default: `2`.
	BackoffLimit int32 `json:"backoffLimit" jsonschema:"minimum=0,maximum=10"`
}

// EnvVar is an environment variable with a literal value.
type EnvVar struct {
	// Name of the variable.
	Name string `json:"name" jsonschema:"required,minLength=1"`
	// Value of the variable.
	Value string `json:"value"`
}

// Scale is a workload in the secondary scaled up once its wave's volumes are active.
type Scale struct {
	// APIVersion of the workload, which must have a scale subresource. Default: `apps/v1` for
	// Deployment, StatefulSet and ReplicaSet; required for any other kind.
	APIVersion string `json:"apiVersion" jsonschema:"pattern=^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?v[0-9]+((alpha|beta)[0-9]+)?$"`
	// Kind of the workload.
	Kind string `json:"kind" jsonschema:"required,minLength=1,pattern=^[A-Z][A-Za-z0-9]*$"`
	// Namespace of the workload.
	Namespace string `json:"namespace" jsonschema:"required,minLength=1,maxLength=63,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"`
	// Name of the workload.
	Name string `json:"name" jsonschema:"required,minLength=1,maxLength=253,pattern=^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"`
	// Replicas is the number of replicas the workload is scaled to (at least 1).
	Replicas int32 `json:"replicas" jsonschema:"required,minimum=1"`
}

// FailoverAuthorization is who may start the plan's failover, on top of the agent's config.
type FailoverAuthorization struct {
	// SignedCommits requires the commit that set failover: true to carry a valid OpenPGP or SSH
	// signature by a key the agent trusts (the agent config's failoverAuthorization.trustedKeys).
	SignedCommits bool `json:"signedCommits,omitempty"`
	// Approvals is how many allowed reviewers must approve the pull request that merges the
	// failover, after its last push (the larger of this and the agent config's counts).
	Approvals int `json:"approvals,omitempty" jsonschema:"minimum=0,maximum=20"`
	// Reviewers are the forge logins whose approval counts for this plan; with teams, a
	// reviewer counts when either names them, and the agent config's lists must allow them too.
	Reviewers []string `json:"reviewers,omitempty"`
	// Teams are forge teams (org/team; a group path on GitLab) whose members' approvals count.
	Teams []string `json:"teams,omitempty"`
}

// Activation tunes failover.
type Activation struct {
	// AllowDegraded lets failover activate a standby volume that is degraded (fewer healthy
	// replicas than asked), when Longhorn's setting allow-volume-creation-with-degraded-availability
	// allows it too. Otherwise such a volume holds its wave, and the report says why. Default: `false`.
	AllowDegraded bool `json:"allowDegraded"`
	// CatchUpTimeout is how long failover waits for every standby volume to restore the newest
	// backup before activating them; after it, failover goes on with what is restored and
	// reports the data-loss window of each volume. Default: `10m`.
	CatchUpTimeout Duration `json:"catchUpTimeout"`
}
