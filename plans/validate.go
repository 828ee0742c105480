package plans

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/drplan/drplan/plans/strictyaml"
)

// Limits checked by validation.
const (
	// MaxPlanNameLength keeps names the agent derives from a plan's name (such as its Longhorn
	// RecurringJob, at most 40 characters) within Kubernetes' and Longhorn's limits.
	MaxPlanNameLength = 32
	// MaxVolumeNameLength is the longest Longhorn volume name: longhorn-manager's
	// datastore.CheckVolume refuses a longer one (and its mutator rewrites it), so a standby of
	// another name would be created.
	MaxVolumeNameLength = 40
	// LonghornPollInterval is Longhorn's default backupstore poll interval: how long a standby
	// may take to even see a new backup when nobody asks for a sync.
	LonghornPollInterval = 5 * time.Minute
	MinRetain            = 1
	MaxRetain            = 100
	MinConcurrency       = 1
	MaxConcurrency       = 100
	MinReplicas          = 1
	MaxReplicas          = 20
	// MinScaleReplicas is the fewest replicas a wave scales a workload to.
	MinScaleReplicas = 1
)

// findings collects the problems of validation functions, by field path, with the checks
// plans share (names, references to objects).
type findings struct{ strictyaml.FieldErrors }

// validatePlan checks one defaulted plan on its own; written tells a required number or
// duration left out ("required") from one written out of range. It is pure: no I/O, no clock.
func validatePlan(p *DRPlan, written fieldsWritten) []strictyaml.FieldError {
	var f findings
	if p.APIVersion != APIVersion {
		f.Add("apiVersion", "must be %s, got %q", APIVersion, p.APIVersion)
	}
	if p.Kind != Kind {
		f.Add("kind", "must be %s, got %q", Kind, p.Kind)
	}
	f.name("metadata.name", p.Metadata.Name, validation.IsDNS1123Label, MaxPlanNameLength)
	validateLabels(&f, p.Metadata.Labels)
	validateClusters(&f, &p.Spec)
	f.name("spec.backupTarget", p.Spec.BackupTarget, validation.IsDNS1123Subdomain, 0)
	validateSchedule(&f, &p.Spec, written)
	validateConsistency(&f, &p.Spec)
	validateWaves(&f, p.Spec.Waves, written)
	if p.Spec.Traffic != nil {
		validateApply(&f, "spec.traffic", p.Spec.Traffic)
	}
	validateVolumes(&f, &p.Spec)
	f.positive("spec.activation.catchUpTimeout", p.Spec.Activation.CatchUpTimeout)
	if p.Spec.Drill != nil {
		validateDrill(&f, &p.Spec)
	}
	if sv := p.Spec.StaleVolumes; sv != StaleKeep && sv != StaleDelete {
		f.Add("spec.staleVolumes", "must be Keep or Delete, got %q", sv)
	}
	if a := p.Spec.FailoverAuthorization; a != nil {
		validateAuthorization(&f, "spec.failoverAuthorization", a)
	}
	return f.FieldErrors
}

// validateAuthorization checks a plan's failover authorization: a count in range, reviewers and
// teams that can name someone.
func validateAuthorization(f *findings, path string, a *FailoverAuthorization) {
	CheckApprovers(&f.FieldErrors, path, a.Approvals, a.Reviewers, a.Teams)
	if !a.SignedCommits && a.Approvals == 0 {
		f.Add(path, "asks for nothing: set signedCommits or approvals, or leave failoverAuthorization out")
	}
}

// CheckApprovers checks the review part of a failover authorization, a plan's and the agent
// config's alike: approvals in range, reviewers and teams only with approvals, each a forge
// login or an org/team.
func CheckApprovers(errs *strictyaml.FieldErrors, path string, approvals int, reviewers, teams []string) {
	if approvals < 0 || approvals > MaxApprovals {
		errs.Add(path+".approvals", "must be between 0 and %d, got %d", MaxApprovals, approvals)
	}
	if (len(reviewers) > 0 || len(teams) > 0) && approvals == 0 {
		errs.Add(path+".approvals", "reviewers and teams only count with approvals of at least 1")
	}
	for i, r := range reviewers {
		if strings.TrimSpace(r) == "" || strings.ContainsAny(r, " /\t") {
			errs.Add(fmt.Sprintf("%s.reviewers[%d]", path, i), "must be a forge login, got %q", r)
		}
	}
	for i, t := range teams {
		if org, team, ok := strings.Cut(t, "/"); !ok || org == "" || team == "" || strings.ContainsAny(t, " \t") {
			errs.Add(fmt.Sprintf("%s.teams[%d]", path, i), "must be org/team (a group path on GitLab), got %q", t)
		}
	}
}

// MaxApprovals is the most approvals a failover can ask for.
const MaxApprovals = 20

// validateLabels checks labels as the Kubernetes API server would, key by key in order.
func validateLabels(f *findings, labels map[string]string) {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		path := "metadata.labels." + k
		for _, msg := range validation.IsQualifiedName(k) {
			f.Add(path, "invalid label key: %s", msg)
		}
		for _, msg := range validation.IsValidLabelValue(labels[k]) {
			f.Add(path, "invalid label value %q: %s", labels[k], msg)
		}
	}
}

func validateClusters(f *findings, s *Spec) {
	f.name("spec.primary", s.Primary, validation.IsDNS1123Label, 0)
	f.name("spec.secondary", s.Secondary, validation.IsDNS1123Label, 0)
	if s.Primary != "" && s.Primary == s.Secondary {
		f.Add("spec.secondary", "must differ from spec.primary (both are %q)", s.Primary)
	}
}

func validateSchedule(f *findings, s *Spec, written fieldsWritten) {
	f.between("spec.schedule.retain", s.Schedule.Retain, MinRetain, MaxRetain)
	f.between("spec.schedule.concurrency", s.Schedule.Concurrency, MinConcurrency, MaxConcurrency)
	if s.RPO.Duration == 0 && !written("spec.rpo") {
		f.Add("spec.rpo", "required: the recovery point objective, such as 30m")
	} else {
		f.positive("spec.rpo", s.RPO)
	}
	if s.Schedule.Cron == "" {
		f.Add("spec.schedule.cron", "required: when backups run, such as \"*/15 * * * *\"")
		return
	}
	gap, err := LargestBackupInterval(s.Schedule.Cron)
	if err != nil {
		f.Add("spec.schedule.cron", "%v", err)
		return
	}
	if s.RPO.Duration > 0 && s.RPO.Duration <= gap {
		f.Add("spec.rpo", "%s can never be met: backups are up to %s apart (cron %q); make it longer than that",
			s.RPO, Duration{Duration: gap}, s.Schedule.Cron)
	}
	if min, minGap, ok := SafeRetain(s.Schedule.Cron, s.Activation.CatchUpTimeout.Duration); ok && s.Schedule.Retain >= MinRetain && s.Schedule.Retain < min {
		f.Add("spec.schedule.retain", "%d is too small: with backups as little as %s apart (cron %q) the primary prunes a backup %s after it is taken, "+
			"but a standby may still be restoring it then (Longhorn's poll interval %s plus the catch-up timeout %s), and a standby whose backup is pruned faults; the smallest safe value is %d",
			s.Schedule.Retain, Duration{Duration: minGap}, s.Schedule.Cron, Duration{Duration: time.Duration(s.Schedule.Retain) * minGap},
			Duration{Duration: LonghornPollInterval}, s.Activation.CatchUpTimeout, min)
	}
}

// SafeRetain is the smallest retain that keeps every backup of the cron schedule spec in the
// store while a standby may still be restoring it: Longhorn's poll interval plus the catch-up
// timeout, at the schedule's smallest interval between two backups. Longhorn's guard against
// pruning a backup being restored sees only volumes of the same cluster, so a standby in the
// secondary whose backup the primary prunes faults (longhorn-manager
// isBackupNotBeingUsedForVolumeRestore). ok is false when the schedule cannot be read.
func SafeRetain(spec string, catchUp time.Duration) (retain int, smallestGap time.Duration, ok bool) {
	gap, err := SmallestBackupInterval(spec)
	if err != nil || gap <= 0 {
		return 0, 0, false
	}
	window := LonghornPollInterval + catchUp
	return max(MinRetain, int((window+gap-1)/gap)), gap, true
}

func validateWaves(f *findings, waves []Wave, written fieldsWritten) {
	seen := map[string]int{}
	for i, w := range waves {
		path := fmt.Sprintf("spec.waves[%d]", i)
		if f.name(path+".name", w.Name, validation.IsDNS1123Label, 0) {
			if first, dup := seen[w.Name]; dup {
				f.Add(path+".name", "wave %q is already defined at spec.waves[%d]", w.Name, first)
			} else {
				seen[w.Name] = i
			}
		}
		for j, g := range w.Gates {
			gp := fmt.Sprintf("%s.gates[%d]", path, j)
			f.object(gp, g.APIVersion, g.Kind, g.Name)
			if g.Namespace != "" {
				f.name(gp+".namespace", g.Namespace, validation.IsDNS1123Label, 0)
			}
			f.positive(gp+".timeout", g.Timeout)
			validateGateExpressions(f, gp, g)
			if g.Job != nil {
				validateJobGate(f, gp, g)
			}
		}
		if w.Apply != nil {
			validateApply(f, path+".apply", w.Apply)
		}
		if w.BackupHooks != nil {
			validateHooks(f, path+".backupHooks", w.BackupHooks)
		}
		for j, sc := range w.Scale {
			sp := fmt.Sprintf("%s.scale[%d]", path, j)
			f.object(sp, sc.APIVersion, sc.Kind, sc.Name)
			f.name(sp+".namespace", sc.Namespace, validation.IsDNS1123Label, 0)
			if sc.Replicas == 0 && !written(sp+".replicas") {
				f.Add(sp+".replicas", "required: the number of replicas to scale to, at least %d", MinScaleReplicas)
			} else if sc.Replicas < MinScaleReplicas {
				f.Add(sp+".replicas", "must be at least %d, got %d", MinScaleReplicas, sc.Replicas)
			}
		}
	}
}

func validateVolumes(f *findings, s *Spec) {
	if len(s.Volumes) == 0 {
		f.Add("spec.volumes", "required: at least one volume to protect")
		return
	}
	waves, isWave := make([]string, 0, len(s.Waves)), map[string]bool{}
	for _, w := range s.Waves {
		if !isWave[w.Name] {
			waves = append(waves, w.Name)
			isWave[w.Name] = true
		}
	}
	names, standbys, pvs, pvcs := map[string]string{}, map[string]string{}, map[string]string{}, map[string]string{}
	for i, v := range s.Volumes {
		path := fmt.Sprintf("spec.volumes[%d]", i)
		nameDup := false
		if f.name(path+".name", v.Name, IsLonghornVolumeName, 0) {
			nameDup = !f.unique(names, v.Name, path+".name", "volume %q is already listed at %s")
		}
		// A volume listed twice also repeats its standby name when that defaults to the name:
		// one problem is enough.
		if f.name(path+".standbyName", v.StandbyName, IsLonghornVolumeName, 0) &&
			!(nameDup && v.StandbyName == v.Name) {
			f.unique(standbys, v.StandbyName, path+".standbyName", "standby volume %q is already used at %s")
		}
		f.between(path+".replicas", v.Replicas, MinReplicas, MaxReplicas)
		if v.Wave != "" && !isWave[v.Wave] {
			f.Add(path+".wave", "no wave named %q in spec.waves%s", v.Wave, suggestion(v.Wave, waves, "waves"))
		}
		if pv := v.PV; pv != nil {
			if f.name(path+".pv.name", pv.Name, validation.IsDNS1123Subdomain, 0) {
				f.unique(pvs, pv.Name, path+".pv.name", "PersistentVolume %q is already created at %s")
			}
			f.name(path+".pv.storageClassName", pv.StorageClassName, validation.IsDNS1123Subdomain, 0)
			if pv.FSType != "ext4" && pv.FSType != "xfs" {
				f.Add(path+".pv.fsType", "must be ext4 or xfs, got %q", pv.FSType)
			}
			validateAccessModes(f, path+".pv.accessModes", pv.AccessModes)
		}
		if pvc := v.PVC; pvc != nil {
			nsOK := f.name(path+".pvc.namespace", pvc.Namespace, validation.IsDNS1123Label, 0)
			if f.name(path+".pvc.name", pvc.Name, validation.IsDNS1123Subdomain, 0) && nsOK {
				f.unique(pvcs, pvc.Namespace+"/"+pvc.Name, path+".pvc.name", "claim %s is already created at %s")
			}
		}
	}
}

// IsLonghornVolumeName checks a name as longhorn-manager's datastore.CheckVolume does: a
// DNS-1123 label (no dots) of at most MaxVolumeNameLength characters. Longhorn refuses any
// other name, or its mutator rewrites it (util.AutoCorrectName), and the volume would not be
// where drplan looks for it. It returns what is wrong, nothing when the name is valid.
func IsLonghornVolumeName(name string) []string {
	var out []string
	if strings.Contains(name, ".") {
		out = append(out, "must not contain dots (Longhorn volume names are DNS-1123 labels)")
	}
	if len(name) > MaxVolumeNameLength {
		out = append(out, fmt.Sprintf("must be no more than %d characters (Longhorn's limit for a volume name)", MaxVolumeNameLength))
	}
	if len(out) == 0 {
		out = validation.IsDNS1123Label(name)
	}
	return out
}

var accessModes = []AccessMode{ReadWriteOnce, ReadWriteOncePod, ReadOnlyMany, ReadWriteMany}

func validateAccessModes(f *findings, path string, modes []AccessMode) {
	if len(modes) == 0 {
		f.Add(path, "required: at least one access mode")
	}
	seen := map[AccessMode]bool{}
	for i, m := range modes {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case !slices.Contains(accessModes, m):
			f.Add(p, "must be one of ReadWriteOnce, ReadWriteOncePod, ReadOnlyMany, ReadWriteMany, got %q", m)
		case seen[m]:
			f.Add(p, "%s is listed twice", m)
		}
		seen[m] = true
	}
}

// between checks that the number at path is in its range, min to max.
func (f *findings) between(path string, n, minimum, maximum int) {
	if n < minimum || n > maximum {
		f.Add(path, "must be %d to %d, got %d", minimum, maximum, n)
	}
}

// positive checks that the duration at path is longer than zero.
func (f *findings) positive(path string, d Duration) {
	if d.Duration <= 0 {
		f.Add(path, "must be positive, got %s", d)
	}
}

// name checks that value is set and passes check (an apimachinery validation function), and if
// maxLen is set, that it is at most maxLen characters. It reports whether value is valid.
func (f *findings) name(path, value string, check func(string) []string, maxLen int) bool {
	if value == "" {
		f.Add(path, "required")
		return false
	}
	msgs := check(value)
	if maxLen > 0 && len(value) > maxLen {
		msgs = append(msgs, validation.MaxLenError(maxLen))
	}
	if len(msgs) > 0 {
		f.Add(path, "invalid name %q: %s", value, strings.Join(msgs, "; "))
		return false
	}
	return true
}

// unique reports value at path if seen already holds it, and records it otherwise. format
// takes the value and the path where it was first seen. It reports whether value was new.
func (f *findings) unique(seen map[string]string, value, path, format string) bool {
	if first, dup := seen[value]; dup {
		f.Add(path, format, value, first)
		return false
	}
	seen[value] = path
	return true
}

var kindPattern = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)

// object checks the apiVersion, kind and name of a reference to a Kubernetes object.
func (f *findings) object(path, apiVersion, kind, name string) {
	kindOK := false
	switch {
	case kind == "":
		f.Add(path+".kind", "required")
	case !kindPattern.MatchString(kind):
		f.Add(path+".kind", "invalid kind %q: must be a Kubernetes kind in CamelCase, such as StatefulSet", kind)
	default:
		kindOK = true
	}
	switch {
	case apiVersion == "" && kindOK:
		f.Add(path+".apiVersion", "required for kind %s (drplan knows a default apiVersion only for built-in kinds)", kind)
	case apiVersion != "":
		if msg := checkAPIVersion(apiVersion); msg != "" {
			f.Add(path+".apiVersion", "invalid apiVersion %q: %s", apiVersion, msg)
		}
	}
	f.name(path+".name", name, validation.IsDNS1123Subdomain, 0)
}

var versionPattern = regexp.MustCompile(`^v[0-9]+((alpha|beta)[0-9]+)?$`)

func checkAPIVersion(apiVersion string) string {
	group, version, hasGroup := strings.Cut(apiVersion, "/")
	if !hasGroup {
		group, version = "", apiVersion
	}
	if hasGroup {
		if msgs := validation.IsDNS1123Subdomain(group); len(msgs) > 0 || group == "" {
			return "the group must be a DNS subdomain, such as apps or example.com"
		}
	}
	if !versionPattern.MatchString(version) {
		return "must be group/version or version, such as apps/v1 or v1"
	}
	return ""
}

// validateKnownClusters checks that the plan's clusters are among known, the cluster names of
// the agent's config.
func validateKnownClusters(p *DRPlan, known []string) []strictyaml.FieldError {
	var f findings
	for _, c := range []struct{ path, name string }{
		{"spec.primary", p.Spec.Primary}, {"spec.secondary", p.Spec.Secondary},
	} {
		if c.name == "" || slices.Contains(known, c.name) {
			continue
		}
		f.Add(c.path, "cluster %q is not in the agent config%s", c.name, suggestion(c.name, known, "clusters"))
	}
	return f.FieldErrors
}

// maxListed bounds how many names a message lists or compares a word with.
const maxListed = 20

// suggestion ends a message about an unknown name: "; did you mean "x"?" when one of names is
// close, else the names themselves ("(waves: a, b)") when there are few.
func suggestion(word string, names []string, what string) string {
	if len(names) > maxListed {
		return ""
	}
	if s := strictyaml.Suggest(word, names); s != "" {
		return fmt.Sprintf("; did you mean %q?", s)
	}
	return fmt.Sprintf(" (%s: %s)", what, strings.Join(names, ", "))
}

// validateGateExpressions parses a gate's CEL expressions, as Flux's health checks parse them
// (its environment and extensions), so a typo is a problem at its line and not a gate that
// never turns ready in a disaster.
func validateGateExpressions(f *findings, path string, g Gate) {
	if g.Current == "" && (g.Failed != "" || g.InProgress != "") {
		f.Add(path+".current", "required with failed or inProgress: the expression that makes the gate ready")
	}
	for _, e := range []struct{ field, expr string }{{"current", g.Current}, {"failed", g.Failed}, {"inProgress", g.InProgress}} {
		if e.expr == "" {
			continue
		}
		if err := ParseCEL(e.expr); err != nil {
			f.Add(path+"."+e.field, "invalid CEL expression: %v", err)
		}
	}
}
