package longhorn

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupName is Longhorn's API group.
const GroupName = "longhorn.io"

// SchemeGroupVersion is the only Longhorn API version drplan speaks (v1beta1 is gone from the
// v1.10 CRDs, REFERENCE §7).
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1beta2"}

var (
	// SchemeBuilder registers the Longhorn types with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds the Longhorn types to a scheme, for controller-runtime clients and informers.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion,
		&Volume{}, &VolumeList{},
		&Engine{}, &EngineList{},
		&Backup{}, &BackupList{},
		&BackupVolume{}, &BackupVolumeList{},
		&BackupTarget{}, &BackupTargetList{},
		&RecurringJob{}, &RecurringJobList{},
		&Setting{}, &SettingList{},
		&Snapshot{}, &SnapshotList{},
	)
	metav1.AddToGroupVersion(scheme, SchemeGroupVersion)
	return nil
}
