package sandbox

import (
	"testing"

	. "github.com/onsi/gomega"
)

// The examples' workloads mount the claims their plans name: a StatefulSet's claims through a
// volumeClaimTemplate, the uploads claim in the first Deployment of its volume's wave.
func TestStandInsOfTheExamples(t *testing.T) {
	g := NewWithT(t)
	_, set, err := seedPlans()
	g.Expect(err).NotTo(HaveOccurred())
	got := map[string]standIn{}
	for _, w := range standIns(set.Valid()) {
		got[w.kind+"/"+w.namespace+"/"+w.name] = *w
	}
	g.Expect(got).To(Equal(map[string]standIn{
		"StatefulSet/orders/orders-pg": {kind: "StatefulSet", namespace: "orders", name: "orders-pg", replicas: 1, primary: "east", secondary: "west", claimTemplates: []string{"data"}},
		"StatefulSet/shop/shop-pg":     {kind: "StatefulSet", namespace: "shop", name: "shop-pg", replicas: 2, primary: "east", secondary: "west", claimTemplates: []string{"data"}},
		"StatefulSet/shop/shop-mq":     {kind: "StatefulSet", namespace: "shop", name: "shop-mq", replicas: 1, primary: "east", secondary: "west", claimTemplates: []string{"data"}},
		"Deployment/shop/shop-web":     {kind: "Deployment", namespace: "shop", name: "shop-web", replicas: 3, primary: "east", secondary: "west", claims: []string{"uploads"}},
		"Deployment/shop/shop-worker":  {kind: "Deployment", namespace: "shop", name: "shop-worker", replicas: 2, primary: "east", secondary: "west"},
	}))
}
