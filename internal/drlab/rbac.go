package drlab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/examples"
)

// AgentUser is the user the agent runs as in AgentKubeconfigs: bound to the ClusterRole of
// examples/deploy/rbac.yaml and nothing else.
const AgentUser = "drplan-agent"

// AgentKubeconfigs applies examples/deploy/rbac.yaml in every cluster, binds its ClusterRole to
// AgentUser, and returns each cluster's kubeconfig of that user: an agent run with them has
// exactly the permissions the example grants. It is done once per lab.
func (l *Lab) AgentKubeconfigs(ctx context.Context) (map[string]string, error) {
	l.agentMu.Lock()
	defer l.agentMu.Unlock()
	if l.agentKubeconfigs != nil {
		return l.agentKubeconfigs, nil
	}
	objs, err := decodeAll(examples.RBAC)
	if err != nil {
		return nil, fmt.Errorf("drlab: examples/deploy/rbac.yaml: %w", err)
	}
	out := map[string]string{}
	for name, c := range l.Clusters {
		for _, o := range objs {
			o := o.DeepCopy()
			if err := c.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.FieldOwner("drlab"), client.ForceOwnership); err != nil {
				return nil, fmt.Errorf("drlab: cluster %s: apply %s %s: %w", name, o.GetKind(), o.GetName(), err)
			}
		}
		// Unstructured: the lab's client knows Longhorn's and the core kinds only.
		binding := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
			"metadata": map[string]any{"name": "drplan-agent-user"},
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "drplan-agent"},
			"subjects": []any{map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": AgentUser}},
		}}
		if err := c.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(binding), client.FieldOwner("drlab"), client.ForceOwnership); err != nil {
			return nil, fmt.Errorf("drlab: cluster %s: bind the agent's role: %w", name, err)
		}
		path := filepath.Join(l.Dir, name+"-agent.kubeconfig")
		if err := c.API.AddUser(AgentUser, nil, path); err != nil {
			return nil, fmt.Errorf("drlab: %w", err)
		}
		out[name] = path
	}
	l.agentKubeconfigs = out
	return out, nil
}

// decodeAll reads a multi-document YAML stream into objects, skipping empty documents.
func decodeAll(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}
