// The speaker's structural input types accept the objects @kubernetes/client-node returns, so
// the wiring passes them straight through (checked by the compiler; the assertions run them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Endpoints, V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { decideService, serviceKey, type ServiceLike } from '../../../lib/speaker/decide.js';
import { readinessFromEndpoints, readinessFromSlices, serviceKeyOfSlice, type EndpointsLike, type EndpointSliceLike } from '../../../lib/speaker/endpoints.js';
import { config, pool } from './fixtures.js';

test('client-node objects fit the structural types', () => {
  const svc: V1Service = {
    metadata: { namespace: 'default', name: 'web' },
    spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local' },
    status: { loadBalancer: { ingress: [{ ip: '203.0.113.5' }] } },
  };
  const eps: V1Endpoints = { subsets: [{ addresses: [{ ip: '10.0.0.1', nodeName: 'node-a' }] }] };
  const slice: V1EndpointSlice = {
    addressType: 'IPv4',
    metadata: { namespace: 'default', name: 'web-abcde', labels: { 'kubernetes.io/service-name': 'web' } },
    endpoints: [{ addresses: ['10.0.0.1'], nodeName: 'node-a', conditions: { ready: true } }],
  };
  const asService: ServiceLike = svc;
  const asEndpoints: EndpointsLike = eps;
  const asSlice: EndpointSliceLike = slice;
  assert.equal(serviceKey(asService), 'default/web');
  assert.equal(serviceKeyOfSlice(slice), 'default/web');
  assert.equal(serviceKeyOfSlice({ metadata: { namespace: 'x', labels: {} } }), undefined);
  const cfg = config([pool('p', 'layer2', ['203.0.113.0/28'])]);
  for (const endpoints of [readinessFromEndpoints(asEndpoints), readinessFromSlices([asSlice])]) {
    const d = decideService({ config: cfg, nodeName: 'node-a', usableSpeakers: new Set(['node-a', 'node-b']), peers: [] }, { service: asService, endpoints, previous: undefined });
    assert.equal(d.action, 'announce');
  }
});
