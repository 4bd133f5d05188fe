import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXCLUDE_LB_LABEL, isOurService, nodeExcluded, serviceOwnership, validateLBClass } from '../../../lib/k8s/ownership.js';

const svc = (type: string | undefined, cls?: string | null) => ({ spec: { type, loadBalancerClass: cls } });

test('ownership: default class handles only Services without a loadBalancerClass', () => {
  assert.deepEqual(serviceOwnership(svc('LoadBalancer')), { ours: true });
  assert.deepEqual(serviceOwnership(svc('LoadBalancer', null)), { ours: true });
  assert.deepEqual(serviceOwnership(svc('LoadBalancer', '')), { ours: true });
  assert.deepEqual(serviceOwnership(svc('LoadBalancer', 'example.com/x')), { ours: false, reason: 'otherLoadBalancerClass' });
});

test('ownership: --lb-class handles only its own class', () => {
  assert.equal(isOurService(svc('LoadBalancer', 'example.com/x'), 'example.com/x'), true);
  assert.deepEqual(serviceOwnership(svc('LoadBalancer'), 'example.com/x'), { ours: false, reason: 'otherLoadBalancerClass' });
  assert.deepEqual(serviceOwnership(svc('LoadBalancer', 'example.com/y'), 'example.com/x'), { ours: false, reason: 'otherLoadBalancerClass' });
});

test('ownership: the type is checked first', () => {
  for (const t of ['ClusterIP', 'NodePort', 'ExternalName', undefined]) {
    assert.deepEqual(serviceOwnership(svc(t, 'example.com/x'), 'example.com/x'), { ours: false, reason: 'notLoadBalancer' });
    assert.deepEqual(serviceOwnership(svc(t)), { ours: false, reason: 'notLoadBalancer' });
  }
  assert.deepEqual(serviceOwnership({}), { ours: false, reason: 'notLoadBalancer' });
  assert.deepEqual(serviceOwnership({ spec: null }), { ours: false, reason: 'notLoadBalancer' });
});

test('exclusion label: present with any value, absent otherwise', () => {
  assert.equal(EXCLUDE_LB_LABEL, 'node.kubernetes.io/exclude-from-external-load-balancers');
  assert.equal(nodeExcluded({ [EXCLUDE_LB_LABEL]: '' }), true);
  assert.equal(nodeExcluded({ [EXCLUDE_LB_LABEL]: 'true' }), true);
  assert.equal(nodeExcluded({ 'node-role.kubernetes.io/control-plane': '' }), false);
  assert.equal(nodeExcluded(undefined), false);
  assert.equal(nodeExcluded(null), false);
  assert.equal(nodeExcluded(Object.create({ [EXCLUDE_LB_LABEL]: '' }) as Record<string, string>), false, 'inherited keys do not count');
});

test('--lb-class values', () => {
  assert.equal(validateLBClass(''), undefined);
  assert.equal(validateLBClass('example.com/metallb'), undefined);
  assert.equal(validateLBClass('metallb'), undefined);
  assert.match(validateLBClass('Example.com/metallb') ?? '', /not a valid class name/);
  assert.match(validateLBClass('a/b/c') ?? '', /not a valid class name/);
  assert.match(validateLBClass(`example.com/${'x'.repeat(64)}`) ?? '', /not a valid class name/);
  assert.match(validateLBClass('x'.repeat(400)) ?? '', /too long/);
});
