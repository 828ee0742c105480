package agent

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/drplan/drplan/internal/cluster"
	"github.com/drplan/drplan/internal/config"
	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/plans"
)

// DiffOptions select the plans a diff compares with the clusters.
type DiffOptions struct {
	// PlansDir is a local directory of plans; when empty the plans repo is fetched.
	PlansDir string
	// Revision is a commit of the plans repo to diff; the tracked ref when empty.
	Revision string
	// CacheDir holds the clone when the repo is fetched; a temporary directory when empty.
	CacheDir string
	// Timeout bounds the wait for each cluster's caches.
	Timeout time.Duration
}

// DiffResult is what the agent would do, read-only.
type DiffResult struct {
	// Revision is the plans' commit, when read from the repo.
	Revision string
	Result   planner.Result
	Problems []plans.Problem
	Set      *plans.Set
}

// Diff computes what the agent would change in each cluster, without changing anything.
func Diff(ctx context.Context, cfg *config.AgentConfig, opts DiffOptions) (*DiffResult, error) {
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	out := &DiffResult{}
	switch {
	case opts.PlansDir != "":
		out.Set, out.Problems = plans.LoadPaths([]string{opts.PlansDir}, plans.WithClusters(cfg.ClusterNames()...))
	default:
		dir := opts.CacheDir
		if dir == "" {
			tmp, err := os.MkdirTemp("", "drplan-diff-")
			if err != nil {
				return nil, fmt.Errorf("diff: %w", err)
			}
			defer func() { _ = os.RemoveAll(tmp) }()
			dir = tmp
		}
		c := *cfg
		if opts.Revision != "" {
			c.Repo.Ref = config.Ref{Commit: opts.Revision}
		}
		src, err := newSource(&c, dir)
		if err != nil {
			return nil, err
		}
		snap, _, err := src.Fetch(ctx)
		if err != nil {
			return nil, fmt.Errorf("diff: %w", err)
		}
		out.Revision = snap.Revision
		out.Set, out.Problems = plans.LoadFS(snap.FS, ".", plans.WithClusters(cfg.ClusterNames()...))
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	o, err := newObserver(cfg, map[string]*cluster.Cluster{})
	if err != nil {
		return nil, err
	}
	for _, cc := range cfg.Clusters {
		rc, err := restConfig(cc)
		if err != nil {
			return nil, err
		}
		conn, err := cluster.New(cluster.Options{Name: cc.Name, Config: rc, LonghornNamespace: cfg.LonghornNamespace})
		if err != nil {
			return nil, err
		}
		if err := conn.Start(ctx); err != nil {
			return nil, err
		}
		o.clusters[cc.Name] = conn
	}
	for _, conn := range o.clusters {
		conn.WaitSynced(ctx, opts.Timeout)
	}
	out.Result = o.decide(ctx, out.Set, out.Revision)
	return out, nil
}
