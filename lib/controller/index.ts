// lib/controller: the Service reconcile loop (spec §2.3, §3) and the memberlist Secret bootstrap (§3.5).
export { Controller, COMPONENT, type ControllerOptions, type ConfigState, type ConfigMap } from './controller.js';
export { reconcileService, type Decision, type Outcome, type ServiceEvent, type ReconcileState } from './reconcile.js';
export { ensureMemberlistSecret, newMemberlistKey, type SecretOutcome } from './memberlist-secret.js';
