package longhornsim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"gomodules.xyz/jsonpatch/v2"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/drplan/drplan/internal/longhorn"
)

// Longhorn's admission webhooks (webhook/server/server.go): one mutating and one validating
// webhook, served on these paths.
const (
	MutatingWebhookName     = "mutator.longhorn.io"
	ValidatingWebhookName   = "validator.longhorn.io"
	mutatingConfigName      = "longhorn-webhook-mutator"
	validatingConfigName    = "longhorn-webhook-validator"
	mutationPath            = "/v1/webhook/mutation"
	validationPath          = "/v1/webhook/validation"
	admissionWebhookService = "longhorn-admission-webhook"
)

// WebhookInstallOptions returns what envtest (internal/testenv.ClusterOptions.Webhooks) needs
// to register the simulator's admission webhooks with an API server: Longhorn's mutating
// webhook on Volume, Snapshot and Backup create and update, and its validating webhook on
// the same and on BackupTarget update and delete. Call it once per cluster: envtest rewrites the
// configurations in place with that cluster's serving address. After the cluster starts, pass
// its LocalServingHost, LocalServingPort and LocalServingCertDir as Options.Webhook.
func WebhookInstallOptions() envtest.WebhookInstallOptions {
	rule := func(resource string, ops ...admissionregv1.OperationType) admissionregv1.RuleWithOperations {
		return admissionregv1.RuleWithOperations{
			Operations: ops,
			Rule: admissionregv1.Rule{
				APIGroups: []string{longhorn.GroupName}, APIVersions: []string{longhorn.SchemeGroupVersion.Version},
				Resources: []string{resource}, Scope: ptr.To(admissionregv1.NamespacedScope),
			},
		}
	}
	service := func(path string) admissionregv1.WebhookClientConfig {
		// envtest turns Service.Path into https://host:port/<path>; no leading slash.
		return admissionregv1.WebhookClientConfig{Service: &admissionregv1.ServiceReference{
			Namespace: longhorn.DefaultNamespace, Name: admissionWebhookService, Path: ptr.To(path[1:]),
		}}
	}
	fail, exact, none := admissionregv1.Fail, admissionregv1.Exact, admissionregv1.SideEffectClassNone
	create, update, del := admissionregv1.Create, admissionregv1.Update, admissionregv1.Delete
	return envtest.WebhookInstallOptions{
		MutatingWebhooks: []*admissionregv1.MutatingWebhookConfiguration{{
			TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "MutatingWebhookConfiguration"},
			ObjectMeta: metav1.ObjectMeta{Name: mutatingConfigName},
			Webhooks: []admissionregv1.MutatingWebhook{{
				Name: MutatingWebhookName, ClientConfig: service(mutationPath),
				Rules: []admissionregv1.RuleWithOperations{
					rule("volumes", create, update),
					rule("snapshots", create, update),
					rule("backups", create, update),
				},
				FailurePolicy: &fail, MatchPolicy: &exact, SideEffects: &none, AdmissionReviewVersions: []string{"v1"},
			}},
		}},
		ValidatingWebhooks: []*admissionregv1.ValidatingWebhookConfiguration{{
			TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingWebhookConfiguration"},
			ObjectMeta: metav1.ObjectMeta{Name: validatingConfigName},
			Webhooks: []admissionregv1.ValidatingWebhook{{
				Name: ValidatingWebhookName, ClientConfig: service(validationPath),
				Rules: []admissionregv1.RuleWithOperations{
					rule("volumes", create, update),
					rule("snapshots", create, update),
					rule("backups", create, update),
					rule("backuptargets", update, del),
				},
				FailurePolicy: &fail, MatchPolicy: &exact, SideEffects: &none, AdmissionReviewVersions: []string{"v1"},
			}},
		}},
	}
}

// WebhookServingFrom returns where to serve the webhooks of a cluster started with
// WebhookInstallOptions: envtest fills in the host, port and certificate directory.
func WebhookServingFrom(o *envtest.WebhookInstallOptions) WebhookServing {
	if o == nil {
		return WebhookServing{}
	}
	return WebhookServing{Host: o.LocalServingHost, Port: o.LocalServingPort, CertDir: o.LocalServingCertDir}
}

// setupWebhooks registers the handlers on the manager's webhook server.
func (s *Sim) setupWebhooks() {
	srv := s.mgr.GetWebhookServer()
	srv.Register(mutationPath, &admission.Webhook{Handler: admission.HandlerFunc(s.mutate)})
	srv.Register(validationPath, &admission.Webhook{Handler: admission.HandlerFunc(s.validate)})
}

func (s *Sim) mutate(ctx context.Context, req admission.Request) admission.Response {
	if s.paused.Load() {
		return admission.Errored(http.StatusInternalServerError, errPaused)
	}
	lk := clientLookup{c: s.mgr.GetClient(), ns: s.opts.Namespace}
	var ops []jsonpatch.JsonPatchOperation
	var aerr *admitError
	switch req.Kind.Kind {
	case "Volume":
		v, old, err := decodeRequest[longhorn.Volume](req)
		if err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		switch req.Operation {
		case admissionv1.Create:
			ops, aerr = mutateVolumeCreate(ctx, lk, v)
		case admissionv1.Update:
			ops, aerr = mutateVolumeUpdate(ctx, lk, old, v)
		}
	case "Snapshot":
		snap, _, err := decodeRequest[longhorn.Snapshot](req)
		if err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		switch req.Operation {
		case admissionv1.Create:
			ops, aerr = mutateSnapshotCreate(ctx, lk, snap)
		case admissionv1.Update:
			ops = mutateSnapshotUpdate(snap)
		}
	case "Backup":
		b, _, err := decodeRequest[longhorn.Backup](req)
		if err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		switch req.Operation {
		case admissionv1.Create:
			ops, aerr = mutateBackupCreate(ctx, lk, b)
		case admissionv1.Update:
			ops = mutateBackupUpdate(b)
		}
	}
	if aerr != nil {
		return s.deny(req, aerr)
	}
	return admission.Patched("", ops...)
}

func (s *Sim) validate(ctx context.Context, req admission.Request) admission.Response {
	if s.paused.Load() {
		return admission.Errored(http.StatusInternalServerError, errPaused)
	}
	lk := clientLookup{c: s.mgr.GetClient(), ns: s.opts.Namespace}
	var aerr *admitError
	switch req.Kind.Kind {
	case "Volume":
		v, old, err := decodeRequest[longhorn.Volume](req)
		if err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		switch req.Operation {
		case admissionv1.Create:
			aerr = validateVolumeCreate(ctx, lk, v)
		case admissionv1.Update:
			aerr = validateVolumeUpdate(ctx, lk, old, v)
		}
	case "Snapshot":
		snap, old, err := decodeRequest[longhorn.Snapshot](req)
		if err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		switch req.Operation {
		case admissionv1.Create:
			aerr = validateSnapshotCreate(snap)
		case admissionv1.Update:
			aerr = validateSnapshotUpdate(old, snap)
		}
	case "Backup":
		b, _, err := decodeRequest[longhorn.Backup](req)
		if err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		if req.Operation == admissionv1.Create {
			aerr = validateBackupCreate(ctx, lk, b)
		}
	case "BackupTarget":
		bt, old, err := decodeRequest[longhorn.BackupTarget](req)
		if err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		switch req.Operation {
		case admissionv1.Update:
			aerr = validateBackupTargetUpdate(ctx, lk, old, bt)
		case admissionv1.Delete:
			aerr = validateBackupTargetDelete(ctx, lk, old)
		}
	}
	if aerr != nil {
		return s.deny(req, aerr)
	}
	return admission.Allowed("")
}

// decodeRequest decodes an admission request's object and old object; either is left zero
// when the operation carries none (no object on delete, no old object on create).
func decodeRequest[T any](req admission.Request) (obj, old *T, err error) {
	obj, old = new(T), new(T)
	if len(req.Object.Raw) > 0 {
		if err := json.Unmarshal(req.Object.Raw, obj); err != nil {
			return nil, nil, fmt.Errorf("decode %s %s: %w", req.Kind.Kind, req.Name, err)
		}
	}
	if len(req.OldObject.Raw) > 0 {
		if err := json.Unmarshal(req.OldObject.Raw, old); err != nil {
			return nil, nil, fmt.Errorf("decode old %s %s: %w", req.Kind.Kind, req.Name, err)
		}
	}
	return obj, old, nil
}

func (s *Sim) deny(req admission.Request, aerr *admitError) admission.Response {
	s.log.Info("admission denied", "kind", req.Kind.Kind, "name", req.Name, "operation", req.Operation, "message", aerr.message)
	return admission.Response{AdmissionResponse: admissionv1.AdmissionResponse{Allowed: false, Result: aerr.status()}}
}

// clientLookup reads through the manager's cache, as Longhorn's datastore reads its informers.
type clientLookup struct {
	c  client.Reader
	ns string
}

var _ lookup = clientLookup{}

func (l clientLookup) backup(ctx context.Context, name string) (*longhorn.Backup, error) {
	return getNamed[longhorn.Backup](ctx, l, "backup", name)
}

func (l clientLookup) volume(ctx context.Context, name string) (*longhorn.Volume, error) {
	return getNamed[longhorn.Volume](ctx, l, "volume", name)
}

func (l clientLookup) snapshot(ctx context.Context, name string) (*longhorn.Snapshot, error) {
	return getNamed[longhorn.Snapshot](ctx, l, "snapshot", name)
}

// groupResource returns a GroupResource of the Longhorn group, for API errors.
func groupResource(resource string) schema.GroupResource {
	return longhorn.SchemeGroupVersion.WithResource(resource).GroupResource()
}

// getNamed reads one object of Longhorn's namespace; its NotFound names the singular resource,
// as the lister's does.
func getNamed[T any, PT interface {
	*T
	client.Object
}](ctx context.Context, l clientLookup, resource, name string) (*T, error) {
	obj := PT(new(T))
	if err := l.c.Get(ctx, client.ObjectKey{Namespace: l.ns, Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, apierrors.NewNotFound(groupResource(resource), name)
		}
		return nil, err
	}
	return (*T)(obj), nil
}

func (l clientLookup) backupVolume(ctx context.Context, target, volume string) (*longhorn.BackupVolume, error) {
	return getBackupVolumeByTargetAndVolume(ctx, l.c, l.ns, target, volume)
}

func (l clientLookup) backupTarget(ctx context.Context, name string) (*longhorn.BackupTarget, error) {
	return getNamed[longhorn.BackupTarget](ctx, l, "backuptarget", name)
}

func (l clientLookup) standbyVolumes(ctx context.Context) ([]string, error) {
	var list longhorn.VolumeList
	if err := l.c.List(ctx, &list, client.InNamespace(l.ns)); err != nil {
		return nil, err
	}
	var names []string
	for _, v := range list.Items {
		if v.Spec.Standby {
			names = append(names, v.Name)
		}
	}
	return names, nil
}

// longhornBackupVolumesResource is the resource the datastore names in its NotFound.
var longhornBackupVolumesResource = schema.GroupResource{Resource: "backupVolumes"}

// getBackupVolumeByTargetAndVolume is DataStore.GetBackupVolumeByBackupTargetAndVolumeRO: by
// labels, an error when more than one matches, and Longhorn's odd NotFound when none does.
func getBackupVolumeByTargetAndVolume(ctx context.Context, c client.Reader, ns, target, volume string) (*longhorn.BackupVolume, error) {
	if target == "" || volume == "" {
		return nil, fmt.Errorf("backup target name and volume name cannot be empty")
	}
	var list longhorn.BackupVolumeList
	if err := c.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels(longhorn.BackupVolumeLabels(target, volume))); err != nil {
		return nil, err
	}
	switch len(list.Items) {
	case 0:
		return nil, apierrors.NewNotFound(longhornBackupVolumesResource, "")
	case 1:
		return &list.Items[0], nil
	default:
		return nil, fmt.Errorf("datastore: found more than one backup volume with backup target %v and volume %v", target, volume)
	}
}

// findBackupVolume is getBackupVolumeByTargetAndVolume with NotFound as nil.
func (s *Sim) findBackupVolume(ctx context.Context, c client.Reader, target, volume string) (*longhorn.BackupVolume, error) {
	bv, err := getBackupVolumeByTargetAndVolume(ctx, c, s.opts.Namespace, target, volume)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return bv, err
}
