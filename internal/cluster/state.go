package cluster

import (
	"context"
	"fmt"
	"net/http"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	longhorn "github.com/drplan/drplan/internal/longhorn"
)

// State is what one cluster shows, read from the caches at one moment.
type State struct {
	// Name is the cluster's name.
	Name string
	Health

	Volumes       []longhorn.Volume
	Engines       []longhorn.Engine
	Backups       []longhorn.Backup
	BackupVolumes []longhorn.BackupVolume
	BackupTargets []longhorn.BackupTarget
	RecurringJobs []longhorn.RecurringJob
	Settings      []longhorn.Setting
	Deployments   []appsv1.Deployment
	StatefulSets  []appsv1.StatefulSet
}

// Observed reports whether the state can be trusted: the caches synced and the cluster answers.
func (s *State) Observed() bool { return s != nil && s.Synced && s.Reachable }

// State reads the caches. It makes no API request. Before the caches synced it returns only the
// health, with empty lists.
func (c *Cluster) State(ctx context.Context) (*State, error) {
	s := &State{Name: c.opts.Name, Health: c.Health()}
	if !s.Synced {
		return s, nil
	}
	ns := client.InNamespace(c.opts.LonghornNamespace)
	lists := []struct {
		list client.ObjectList
		opts []client.ListOption
	}{
		{&longhorn.VolumeList{}, []client.ListOption{ns}},
		{&longhorn.EngineList{}, []client.ListOption{ns}},
		{&longhorn.BackupList{}, []client.ListOption{ns}},
		{&longhorn.BackupVolumeList{}, []client.ListOption{ns}},
		{&longhorn.BackupTargetList{}, []client.ListOption{ns}},
		{&longhorn.RecurringJobList{}, []client.ListOption{ns}},
		{&longhorn.SettingList{}, []client.ListOption{ns}},
		{&appsv1.DeploymentList{}, nil},
		{&appsv1.StatefulSetList{}, nil},
	}
	for _, l := range lists {
		if err := c.cache.List(ctx, l.list, l.opts...); err != nil {
			return nil, fmt.Errorf("cluster %s: read cache: %w", c.opts.Name, err)
		}
	}
	s.Volumes = lists[0].list.(*longhorn.VolumeList).Items
	s.Engines = lists[1].list.(*longhorn.EngineList).Items
	s.Backups = lists[2].list.(*longhorn.BackupList).Items
	s.BackupVolumes = lists[3].list.(*longhorn.BackupVolumeList).Items
	s.BackupTargets = lists[4].list.(*longhorn.BackupTargetList).Items
	s.RecurringJobs = lists[5].list.(*longhorn.RecurringJobList).Items
	s.Settings = lists[6].list.(*longhorn.SettingList).Items
	s.Deployments = lists[7].list.(*appsv1.DeploymentList).Items
	s.StatefulSets = lists[8].list.(*appsv1.StatefulSetList).Items
	return s, nil
}

func lazyMapper(cfg *rest.Config, httpClient *http.Client) (meta.RESTMapper, error) {
	return apiutil.NewDynamicRESTMapper(cfg, httpClient)
}
