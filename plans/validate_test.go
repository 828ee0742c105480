package plans

import (
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/plans/strictyaml"
)

// validPlan returns a defaulted plan that passes validation; tests break one thing in it.
func validPlan() *DRPlan {
	p := &DRPlan{
		APIVersion: APIVersion,
		Kind:       Kind,
		Metadata:   Metadata{Name: "payments"},
		Spec: Spec{
			Primary:   "east",
			Secondary: "west",
			Schedule:  Schedule{Cron: "*/15 * * * *"},
			RPO:       Duration{Duration: 30 * time.Minute},
			Volumes: []Volume{
				{Name: "pg-data", Wave: "databases", PVC: &PersistentVolumeClaim{Namespace: "payments", Name: "data-pg-0"}},
				{Name: "web-uploads", Wave: "apps"},
			},
			Waves: []Wave{
				{
					Name:  "databases",
					Gates: []Gate{{Kind: "StatefulSet", Namespace: "payments", Name: "pg"}},
					Scale: []Scale{{Kind: "StatefulSet", Namespace: "payments", Name: "pg", Replicas: 2}},
				},
				{Name: "apps"},
			},
		},
	}
	SetDefaults(p)
	return p
}

func TestValidatePlan(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *DRPlan)
		want   []strictyaml.FieldError
	}{
		{name: "valid", mutate: func(*DRPlan) {}},
		{name: "wrong kind and version", mutate: func(p *DRPlan) { p.APIVersion, p.Kind = "v1", "Plan" }, want: []strictyaml.FieldError{
			{Path: "apiVersion", Message: `must be drplan.io/v1alpha1, got "v1"`},
			{Path: "kind", Message: `must be DRPlan, got "Plan"`},
		}},
		{name: "plan name too long", mutate: func(p *DRPlan) { p.Metadata.Name = "a-very-long-plan-name-over-32-chars" }, want: []strictyaml.FieldError{
			{Path: "metadata.name", Message: `invalid name "a-very-long-plan-name-over-32-chars": must be no more than 32 characters`},
		}},
		{name: "labels", mutate: func(p *DRPlan) {
			p.Metadata.Labels = map[string]string{"drplan.io/shard": "eu", "bad key!": "x", "team": "not a value"}
		}, want: []strictyaml.FieldError{
			{Path: "metadata.labels.bad key!", Message: `invalid label key: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`},
			{Path: "metadata.labels.team", Message: `invalid label value "not a value": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`},
		}},
		{name: "CEL gates", mutate: func(p *DRPlan) {
			p.Spec.Waves[0].Gates = append(p.Spec.Waves[0].Gates,
				Gate{APIVersion: "v1", Kind: "ConfigMap", Namespace: "payments", Name: "ok", Current: "data.ready == 'yes'", Failed: "has(data.error)"},
				Gate{APIVersion: "v1", Kind: "ConfigMap", Namespace: "payments", Name: "typo", Current: "data.ready == 'yes", Timeout: Duration{Duration: time.Minute}},
				Gate{APIVersion: "v1", Kind: "ConfigMap", Namespace: "payments", Name: "half", Failed: "true", Timeout: Duration{Duration: time.Minute}})
			p.Spec.Waves[0].Gates[1].Timeout = Duration{Duration: time.Minute}
		}, want: []strictyaml.FieldError{
			{Path: "spec.waves[0].gates[2].current", Message: "invalid CEL expression: column 15: Syntax error: token recognition error at: ''yes'"},
			{Path: "spec.waves[0].gates[3].current", Message: "required with failed or inProgress: the expression that makes the gate ready"},
		}},
		{name: "hooks, Job gate, manifests and traffic that are valid", mutate: func(p *DRPlan) {
			p.Spec.Schedule.Consistency = ApplicationConsistent
			w := &p.Spec.Waves[0]
			w.Apply = &Apply{Path: "manifests/db", Timeout: Duration{Duration: time.Minute}}
			w.BackupHooks = &BackupHooks{
				Pre: []Hook{
					{Name: "checkpoint", Exec: &ExecHook{Namespace: "payments", Selector: map[string]string{"app": "pg"}, Command: []string{"psql", "-c", "CHECKPOINT"}}, OnError: HookFail, Timeout: Duration{Duration: time.Second}},
					{Name: "stop", ScaleToZero: &WorkloadRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "payments", Name: "web"}, OnError: HookContinue, Timeout: Duration{Duration: time.Second}},
				},
				Post:            []Hook{{Name: "resume", Exec: &ExecHook{Namespace: "payments", Selector: map[string]string{"app": "pg"}, Container: "pg", Command: []string{"true"}}, OnError: HookFail, Timeout: Duration{Duration: time.Second}}},
				SnapshotTimeout: Duration{Duration: time.Minute},
			}
			w.Gates = append(w.Gates, Gate{APIVersion: "batch/v1", Kind: "Job", Namespace: "payments", Name: "smoke", Timeout: Duration{Duration: time.Minute},
				Job: &JobGate{Image: "postgres:17", Command: []string{"pg_isready"}, Env: []EnvVar{{Name: "PGHOST", Value: "pg"}}, BackoffLimit: 2}})
			p.Spec.Traffic = &Apply{Path: "traffic.yaml", Timeout: Duration{Duration: time.Minute}}
		}},
		{name: "application consistency without hooks", mutate: func(p *DRPlan) { p.Spec.Schedule.Consistency = ApplicationConsistent }, want: []strictyaml.FieldError{
			{Path: "spec.schedule.consistency", Message: "application needs backupHooks on a wave (spec.waves[].backupHooks.pre): without hooks the backups are only crash-consistent"},
		}},
		{name: "unknown consistency", mutate: func(p *DRPlan) { p.Spec.Schedule.Consistency = "app" }, want: []strictyaml.FieldError{
			{Path: "spec.schedule.consistency", Message: `must be crash or application, got "app"`},
		}},
		{name: "broken hooks", mutate: func(p *DRPlan) {
			p.Spec.Waves[1].BackupHooks = &BackupHooks{
				Pre: []Hook{
					{Name: "a", OnError: HookFail, Timeout: Duration{Duration: time.Second}},
					{Name: "a", Exec: &ExecHook{Namespace: "Payments", Selector: map[string]string{"app": "no pg"}, Command: []string{""}}, ScaleToZero: &WorkloadRef{Kind: "Deployment", Namespace: "x", Name: "y"}, OnError: "Retry"},
					{Name: "b", Exec: &ExecHook{Namespace: "p"}, OnError: HookFail, Timeout: Duration{Duration: time.Second}},
				},
				Post: []Hook{{Name: "c", ScaleToZero: &WorkloadRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "x", Name: "y"}, OnError: HookFail, Timeout: Duration{Duration: time.Second}}},
			}
		}, want: []strictyaml.FieldError{
			{Path: "spec.waves[1].backupHooks.snapshotTimeout", Message: "must be positive, got 0s"},
			{Path: "spec.waves[1].backupHooks.pre[0]", Message: "required: exec or scaleToZero"},
			{Path: "spec.waves[1].backupHooks.pre[1].name", Message: `hook "a" is already defined at spec.waves[1].backupHooks.pre[0].name`},
			{Path: "spec.waves[1].backupHooks.pre[1].scaleToZero", Message: "a hook is exec or scaleToZero, not both"},
			{Path: "spec.waves[1].backupHooks.pre[1].onError", Message: `must be Fail or Continue, got "Retry"`},
			{Path: "spec.waves[1].backupHooks.pre[1].timeout", Message: "must be positive, got 0s"},
			{Path: "spec.waves[1].backupHooks.pre[2].exec.selector", Message: "required: the labels of the pods to run the command in"},
			{Path: "spec.waves[1].backupHooks.pre[2].exec.command", Message: "required: the command and its arguments"},
			{Path: "spec.waves[1].backupHooks.post[0].scaleToZero", Message: "only in pre: a workload scaled to zero by a pre hook is scaled back after the post hooks"},
		}},
		{name: "broken Job gate and paths", mutate: func(p *DRPlan) {
			p.Spec.Waves[1].Gates = []Gate{{APIVersion: "apps/v1", Kind: "Deployment", Name: "smoke", Current: "true", Timeout: Duration{Duration: time.Minute},
				Job: &JobGate{Env: []EnvVar{{Name: "1BAD"}}, ServiceAccountName: "Bad", BackoffLimit: 11}}}
			p.Spec.Waves[1].Apply = &Apply{Path: "/etc/crds"}
			p.Spec.Traffic = &Apply{Timeout: Duration{Duration: time.Minute}}
		}, want: []strictyaml.FieldError{
			{Path: "spec.waves[1].gates[0].kind", Message: "must be Job (apiVersion batch/v1) for a gate that runs a Job, got apps/v1 Deployment"},
			{Path: "spec.waves[1].gates[0].namespace", Message: "required: the namespace the Job runs in"},
			{Path: "spec.waves[1].gates[0].current", Message: "a gate that runs a Job is ready when the Job completes: no CEL expression"},
			{Path: "spec.waves[1].gates[0].job.image", Message: "required"},
			{Path: "spec.waves[1].gates[0].job.command", Message: "required: the command of the Job's container"},
			{Path: "spec.waves[1].gates[0].job.env[0].name", Message: `invalid name "1BAD": a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')`},
			{Path: "spec.waves[1].gates[0].job.serviceAccountName", Message: `invalid name "Bad": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`},
			{Path: "spec.waves[1].gates[0].job.backoffLimit", Message: "must be 0 to 10, got 11"},
			{Path: "spec.waves[1].apply.path", Message: `must be relative to the plan's file, got "/etc/crds"`},
			{Path: "spec.waves[1].apply.timeout", Message: "must be positive, got 0s"},
			{Path: "spec.traffic.path", Message: "required: a file or directory of the plans repository, relative to the plan's file"},
		}},
		{name: "drill in a namespace of the plan's own", mutate: func(p *DRPlan) {
			p.Spec.Waves[1].Scale = []Scale{{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web", Replicas: 1}}
			p.Spec.Drill = &Drill{ID: "Q1", Namespace: "shop"}
		}, want: []strictyaml.FieldError{
			{Path: "spec.drill.id", Message: `invalid name "Q1": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`},
			{Path: "spec.drill.namespace", Message: `"shop" is a namespace of the plan's own objects (spec.waves[1].scale[0].namespace): a drill needs a namespace of its own`},
			{Path: "spec.drill.keepFor", Message: "must be positive, got 0s"},
		}},
		{name: "failover authorization", mutate: func(p *DRPlan) {
			p.Spec.FailoverAuthorization = &FailoverAuthorization{Approvals: 21, Reviewers: []string{"ok", "org/x"}, Teams: []string{"sre", "org/dr"}}
		}, want: []strictyaml.FieldError{
			{Path: "spec.failoverAuthorization.approvals", Message: "must be between 0 and 20, got 21"},
			{Path: "spec.failoverAuthorization.reviewers[1]", Message: `must be a forge login, got "org/x"`},
			{Path: "spec.failoverAuthorization.teams[0]", Message: `must be org/team (a group path on GitLab), got "sre"`},
		}},
		{name: "failover authorization asking for nothing", mutate: func(p *DRPlan) {
			p.Spec.FailoverAuthorization = &FailoverAuthorization{Reviewers: []string{"ann"}}
		}, want: []strictyaml.FieldError{
			{Path: "spec.failoverAuthorization.approvals", Message: "reviewers and teams only count with approvals of at least 1"},
			{Path: "spec.failoverAuthorization", Message: "asks for nothing: set signedCommits or approvals, or leave failoverAuthorization out"},
		}},
		{name: "same clusters", mutate: func(p *DRPlan) { p.Spec.Secondary = "east" }, want: []strictyaml.FieldError{
			{Path: "spec.secondary", Message: `must differ from spec.primary (both are "east")`},
		}},
		{name: "missing clusters", mutate: func(p *DRPlan) { p.Spec.Primary, p.Spec.Secondary = "", "" }, want: []strictyaml.FieldError{
			{Path: "spec.primary", Message: "required"},
			{Path: "spec.secondary", Message: "required"},
		}},
		{name: "retain and concurrency ranges", mutate: func(p *DRPlan) { p.Spec.Schedule.Retain, p.Spec.Schedule.Concurrency = 101, -1 }, want: []strictyaml.FieldError{
			{Path: "spec.schedule.retain", Message: "must be 1 to 100, got 101"},
			{Path: "spec.schedule.concurrency", Message: "must be 1 to 100, got -1"},
		}},
		{name: "retain at the limits", mutate: func(p *DRPlan) { p.Spec.Schedule.Retain, p.Spec.Schedule.Concurrency = 100, 100 }},
		{name: "rpo missing", mutate: func(p *DRPlan) { p.Spec.RPO.Duration = 0 }, want: []strictyaml.FieldError{
			{Path: "spec.rpo", Message: "required: the recovery point objective, such as 30m"},
		}},
		{name: "rpo negative", mutate: func(p *DRPlan) { p.Spec.RPO.Duration = -time.Minute }, want: []strictyaml.FieldError{
			{Path: "spec.rpo", Message: "must be positive, got -1m"},
		}},
		{name: "rpo just above the interval", mutate: func(p *DRPlan) { p.Spec.RPO.Duration = 15*time.Minute + time.Second }},
		{name: "rpo equal to the interval", mutate: func(p *DRPlan) { p.Spec.RPO.Duration = 15 * time.Minute }, want: []strictyaml.FieldError{
			{Path: "spec.rpo", Message: `15m can never be met: backups are up to 15m apart (cron "*/15 * * * *"); make it longer than that`},
		}},
		{name: "cron invalid", mutate: func(p *DRPlan) { p.Spec.Schedule.Cron = "every day" }, want: []strictyaml.FieldError{
			{Path: "spec.schedule.cron", Message: `invalid cron expression "every day": expected exactly 5 fields, found 2: [every day]`},
		}},
		{name: "no volumes", mutate: func(p *DRPlan) { p.Spec.Volumes = nil }, want: []strictyaml.FieldError{
			{Path: "spec.volumes", Message: "required: at least one volume to protect"},
		}},
		{name: "replicas out of range", mutate: func(p *DRPlan) { p.Spec.Volumes[1].Replicas = 21 }, want: []strictyaml.FieldError{
			{Path: "spec.volumes[1].replicas", Message: "must be 1 to 20, got 21"},
		}},
		{name: "volume name with dots, too long for Longhorn", mutate: func(p *DRPlan) {
			p.Spec.Volumes[1].Name = "v.abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijab"
			p.Spec.Volumes[1].StandbyName = "web"
		}, want: []strictyaml.FieldError{
			{Path: "spec.volumes[1].name", Message: `invalid name "v.abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijab": must not contain dots (Longhorn volume names are DNS-1123 labels); must be no more than 40 characters (Longhorn's limit for a volume name)`},
		}},
		{name: "volume name of 40 characters is Longhorn's longest", mutate: func(p *DRPlan) {
			p.Spec.Volumes[1].Name = strings.Repeat("a", 40)
			p.Spec.Volumes[1].StandbyName = "web"
		}},
		{name: "standby name of 41 characters", mutate: func(p *DRPlan) {
			p.Spec.Volumes[1].StandbyName = strings.Repeat("b", 41)
		}, want: []strictyaml.FieldError{
			{Path: "spec.volumes[1].standbyName", Message: `invalid name "` + strings.Repeat("b", 41) + `": must be no more than 40 characters (Longhorn's limit for a volume name)`},
		}},
		{name: "retain too small for the catch-up window", mutate: func(p *DRPlan) {
			p.Spec.Schedule = Schedule{Cron: "*/5 * * * *", Retain: 2, Concurrency: 1}
		}, want: []strictyaml.FieldError{
			{Path: "spec.schedule.retain", Message: `2 is too small: with backups as little as 5m apart (cron "*/5 * * * *") the primary prunes a backup 10m after it is taken, but a standby may still be restoring it then (Longhorn's poll interval 5m plus the catch-up timeout 10m), and a standby whose backup is pruned faults; the smallest safe value is 3`},
		}},
		{name: "unknown wave with a suggestion", mutate: func(p *DRPlan) { p.Spec.Volumes[1].Wave = "aps" }, want: []strictyaml.FieldError{
			{Path: "spec.volumes[1].wave", Message: `no wave named "aps" in spec.waves; did you mean "apps"?`},
		}},
		{name: "duplicate wave", mutate: func(p *DRPlan) { p.Spec.Waves[1].Name = "databases" }, want: []strictyaml.FieldError{
			{Path: "spec.waves[1].name", Message: `wave "databases" is already defined at spec.waves[0]`},
			{Path: "spec.volumes[1].wave", Message: `no wave named "apps" in spec.waves (waves: databases)`},
		}},
		{name: "duplicate volume", mutate: func(p *DRPlan) {
			p.Spec.Volumes[1].Name, p.Spec.Volumes[1].StandbyName = "pg-data", "pg-data"
		}, want: []strictyaml.FieldError{
			{Path: "spec.volumes[1].name", Message: `volume "pg-data" is already listed at spec.volumes[0].name`},
		}},
		{name: "standby names collide", mutate: func(p *DRPlan) { p.Spec.Volumes[1].StandbyName = "pg-data" }, want: []strictyaml.FieldError{
			{Path: "spec.volumes[1].standbyName", Message: `standby volume "pg-data" is already used at spec.volumes[0].standbyName`},
		}},
		{name: "pv options", mutate: func(p *DRPlan) {
			pv := p.Spec.Volumes[0].PV
			pv.FSType, pv.AccessModes = "btrfs", []AccessMode{"ReadWriteMany", "Shared", "ReadWriteMany"}
		}, want: []strictyaml.FieldError{
			{Path: "spec.volumes[0].pv.fsType", Message: `must be ext4 or xfs, got "btrfs"`},
			{Path: "spec.volumes[0].pv.accessModes[1]", Message: `must be one of ReadWriteOnce, ReadWriteOncePod, ReadOnlyMany, ReadWriteMany, got "Shared"`},
			{Path: "spec.volumes[0].pv.accessModes[2]", Message: "ReadWriteMany is listed twice"},
		}},
		{name: "two volumes, one claim", mutate: func(p *DRPlan) {
			p.Spec.Volumes[1].PVC = &PersistentVolumeClaim{Namespace: "payments", Name: "data-pg-0"}
			SetDefaults(p)
		}, want: []strictyaml.FieldError{
			{Path: "spec.volumes[1].pvc.name", Message: "claim payments/data-pg-0 is already created at spec.volumes[0].pvc.name"},
		}},
		{name: "gate of a custom kind needs an apiVersion", mutate: func(p *DRPlan) {
			p.Spec.Waves[1].Gates = []Gate{{Kind: "Cluster", Namespace: "payments", Name: "pg", Timeout: Duration{Duration: time.Minute}}}
		}, want: []strictyaml.FieldError{
			{Path: "spec.waves[1].gates[0].apiVersion", Message: "required for kind Cluster (drplan knows a default apiVersion only for built-in kinds)"},
		}},
		{name: "gate of a custom kind with an apiVersion", mutate: func(p *DRPlan) {
			p.Spec.Waves[1].Gates = []Gate{{APIVersion: "postgresql.cnpg.io/v1", Kind: "Cluster", Name: "pg", Timeout: Duration{Duration: time.Minute}}}
		}},
		{name: "gate fields", mutate: func(p *DRPlan) {
			p.Spec.Waves[0].Gates[0] = Gate{APIVersion: "apps/v1/beta", Kind: "stateful-set", Namespace: "Payments", Timeout: Duration{Duration: -time.Second}}
		}, want: []strictyaml.FieldError{
			{Path: "spec.waves[0].gates[0].kind", Message: `invalid kind "stateful-set": must be a Kubernetes kind in CamelCase, such as StatefulSet`},
			{Path: "spec.waves[0].gates[0].apiVersion", Message: `invalid apiVersion "apps/v1/beta": must be group/version or version, such as apps/v1 or v1`},
			{Path: "spec.waves[0].gates[0].name", Message: "required"},
			{Path: "spec.waves[0].gates[0].namespace", Message: `invalid name "Payments": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`},
			{Path: "spec.waves[0].gates[0].timeout", Message: "must be positive, got -1s"},
		}},
		{name: "scale replicas", mutate: func(p *DRPlan) { p.Spec.Waves[0].Scale[0].Replicas = -2 }, want: []strictyaml.FieldError{
			{Path: "spec.waves[0].scale[0].replicas", Message: "must be at least 1, got -2"},
		}},
		{name: "catch-up timeout negative", mutate: func(p *DRPlan) { p.Spec.Activation.CatchUpTimeout.Duration = -time.Minute }, want: []strictyaml.FieldError{
			{Path: "spec.activation.catchUpTimeout", Message: "must be positive, got -1m"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			p := validPlan()
			tt.mutate(p)
			g.Expect(validatePlan(p, nothingWritten)).To(ConsistOf(tt.want))
		})
	}
}

func TestValidateKnownClusters(t *testing.T) {
	tests := []struct {
		name    string
		known   []string
		primary string
		want    []strictyaml.FieldError
	}{
		{name: "known", known: []string{"east", "west"}, primary: "east"},
		{name: "typo", known: []string{"east", "west"}, primary: "eats", want: []strictyaml.FieldError{
			{Path: "spec.primary", Message: `cluster "eats" is not in the agent config; did you mean "east"?`},
		}},
		{name: "unknown", known: []string{"east", "west"}, primary: "frankfurt", want: []strictyaml.FieldError{
			{Path: "spec.primary", Message: `cluster "frankfurt" is not in the agent config (clusters: east, west)`},
		}},
		{name: "no clusters at all", known: []string{}, primary: "east", want: []strictyaml.FieldError{
			{Path: "spec.primary", Message: `cluster "east" is not in the agent config (clusters: )`},
			{Path: "spec.secondary", Message: `cluster "west" is not in the agent config (clusters: )`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validPlan()
			p.Spec.Primary = tt.primary
			NewWithT(t).Expect(validateKnownClusters(p, tt.known)).To(ConsistOf(tt.want))
		})
	}
}
