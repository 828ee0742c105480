package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sync/errgroup"
)

// Options shape a whole environment.
type Options struct {
	// Dir holds every component's state; a temporary directory when empty.
	Dir string
	// Clusters are the names of the API servers to start; "east" and "west" when empty.
	Clusters []string
	// Cluster returns the options of the API server named name; nil for none. A function, not a
	// value: envtest rewrites webhook configurations in place, so each server needs its own.
	Cluster func(name string) ClusterOptions
	// NoGitea skips the forge.
	NoGitea bool
}

// Env is a running set of components.
type Env struct {
	Dir      string
	Tools    Tools
	Clusters map[string]*Cluster
	Gitea    *Gitea

	ownDir bool
}

// Start starts the clusters and Gitea in parallel. On error everything started is stopped.
func Start(ctx context.Context, opts Options) (*Env, error) {
	tools, err := FindTools()
	if err != nil {
		return nil, err
	}
	e := &Env{Dir: opts.Dir, Tools: tools, Clusters: map[string]*Cluster{}}
	if e.Dir == "" {
		if e.Dir, err = os.MkdirTemp("", "drplan-testenv-"); err != nil {
			return nil, fmt.Errorf("start test environment: %w", err)
		}
		e.ownDir = true
	}
	names := opts.Clusters
	if len(names) == 0 {
		names = []string{"east", "west"}
	}
	clusters := make([]*Cluster, len(names))
	var g errgroup.Group
	for i, name := range names {
		g.Go(func() error {
			var co ClusterOptions
			if opts.Cluster != nil {
				co = opts.Cluster(name)
			}
			c, err := StartCluster(name, e.Dir, tools, co)
			clusters[i] = c
			return err
		})
	}
	if !opts.NoGitea {
		g.Go(func() error {
			var err error
			e.Gitea, err = StartGitea(ctx, filepath.Join(e.Dir, "gitea"), tools)
			return err
		})
	}
	err = g.Wait()
	for _, c := range clusters {
		if c != nil {
			e.Clusters[c.Name] = c
		}
	}
	if err != nil {
		return nil, errors.Join(err, e.Stop())
	}
	return e, nil
}

// Stop stops every component and removes the state directory if Start created it.
func (e *Env) Stop() error {
	var errs []error
	for _, c := range e.Clusters {
		errs = append(errs, c.Stop())
	}
	errs = append(errs, e.Gitea.Stop())
	if e.ownDir {
		errs = append(errs, os.RemoveAll(e.Dir))
	}
	return errors.Join(errs...)
}
