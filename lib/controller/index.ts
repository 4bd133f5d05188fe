// lib/controller: the Service reconcile loop (docs/behaviour/allocation.md#reconcile, docs/behaviour/controller.md) and the memberlist Secret bootstrap (docs/behaviour/controller.md#memberlist-secret).
export { Controller, COMPONENT, type ControllerOptions, type ConfigState, type ConfigMap } from './controller.js';
export { reconcileService, type Decision, type Outcome, type ServiceEvent, type ReconcileState } from './reconcile.js';
export { ensureMemberlistSecret, newMemberlistKey, type SecretOutcome } from './memberlist-secret.js';
