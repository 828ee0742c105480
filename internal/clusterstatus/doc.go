// Package clusterstatus keeps the plans' status objects (planstatus.DRPlanStatus) in the
// clusters: Desired works out, from a plan's report and the object a cluster holds, the object
// it should hold and whether that differs (a pure decision, table-tested); Writer creates,
// updates and deletes them through a cluster's client. The leading agent runs both after every
// pass; since no field of the object moves with the clock, an idle pass writes nothing.
//
// Conditions follow kstatus (Ready, Reconciling, Stalled) and are set through
// fluxcd/pkg/runtime/conditions, so `kubectl wait --for=condition=Ready drplanstatus/<plan>`
// and Flux-style tooling read them as they read Flux's objects.
package clusterstatus
