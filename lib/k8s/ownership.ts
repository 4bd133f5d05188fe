// Which Services and Nodes this MetalLB handles: the one predicate the controller, the speaker
// and metallbctl share (before, the controller and the speaker each had their own copy and they
// checked different things in a different order).
//
//   serviceOwnership(svc, lbClass)   -> { ours: true } | { ours: false, reason }
//   nodeExcluded(labels)             -> true when the node carries EXCLUDE_LB_LABEL
//
// `lbClass` is the daemon's --lb-class: '' (the default) handles only Services without
// `spec.loadBalancerClass`, as this project always did; a class name handles only Services of
// exactly that class, so two load-balancer implementations (or two MetalLB installations) can
// share a cluster. v0.12 predates the field (Kubernetes 1.24) and handled every Service.

/** The parts of a Service the predicate reads (plain JSON and client-node objects fit). */
export interface OwnedServiceLike {
  readonly spec?: {
    readonly type?: string | null;
    readonly loadBalancerClass?: string | null;
  } | null;
}

export type NotOursReason =
  /** spec.type is not LoadBalancer. */
  | 'notLoadBalancer'
  /** spec.loadBalancerClass differs from --lb-class ('' included). */
  | 'otherLoadBalancerClass';

export type Ownership = { readonly ours: true } | { readonly ours: false; readonly reason: NotOursReason };

const OURS: Ownership = { ours: true };
const NOT_LB: Ownership = { ours: false, reason: 'notLoadBalancer' };
const OTHER_CLASS: Ownership = { ours: false, reason: 'otherLoadBalancerClass' };

/**
 * Whether a Service is ours. The type is checked first (the API server allows a class only on
 * type LoadBalancer, so a non-LoadBalancer Service is never another implementation's).
 */
export function serviceOwnership(svc: OwnedServiceLike, lbClass = ''): Ownership {
  const spec = svc.spec;
  if (spec?.type !== 'LoadBalancer') return NOT_LB;
  return (spec.loadBalancerClass ?? '') === lbClass ? OURS : OTHER_CLASS;
}

/** Shorthand for serviceOwnership(svc, lbClass).ours. */
export function isOurService(svc: OwnedServiceLike, lbClass = ''): boolean {
  return serviceOwnership(svc, lbClass).ours;
}

/**
 * Kubernetes' well-known Node label: a node that carries it (any value) must not serve external
 * load-balancer traffic. kubeadm puts it on control-plane nodes; single-node clusters therefore
 * run the speaker with --ignore-exclude-lb.
 */
export const EXCLUDE_LB_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

export function nodeExcluded(labels: Readonly<Record<string, string>> | null | undefined): boolean {
  return labels != null && Object.prototype.hasOwnProperty.call(labels, EXCLUDE_LB_LABEL);
}

/** --lb-class values: a Kubernetes label-key-like name (an optional DNS prefix and a name). */
export function validateLBClass(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 316) return `--lb-class is too long (${value.length} characters)`;
  const m = /^(?:([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)\/)?([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/.exec(value);
  if (!m || (m[5] ?? '').length > 63) return `--lb-class "${value}" is not a valid class name (e.g. example.com/metallb)`;
  return undefined;
}
