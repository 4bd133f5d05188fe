import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  readinessFromEndpoints,
  readinessFromSlices,
  sliceEndpointNode,
  type EndpointReadiness,
  type EndpointsLike,
  type EndpointSliceLike,
} from '../../../lib/speaker/endpoints.js';

interface Expected {
  anyReady: boolean;
  readyNodes: string[];
  anyHealthy: boolean;
  healthyNodes: string[];
}

function check(got: EndpointReadiness, want: Expected): void {
  assert.deepEqual(
    { anyReady: got.anyReady, readyNodes: [...got.readyNodes].sort(), anyHealthy: got.anyHealthy, healthyNodes: [...got.healthyNodes].sort() },
    { ...want, readyNodes: [...want.readyNodes].sort(), healthyNodes: [...want.healthyNodes].sort() },
  );
}

const endpointsCases: { name: string; eps: EndpointsLike; want: Expected }[] = [
  { name: 'no subsets', eps: {}, want: { anyReady: false, readyNodes: [], anyHealthy: false, healthyNodes: [] } },
  { name: 'null subsets', eps: { subsets: null }, want: { anyReady: false, readyNodes: [], anyHealthy: false, healthyNodes: [] } },
  {
    name: 'addresses are ready, on their nodeName',
    eps: { subsets: [{ addresses: [{ ip: '10.1.0.1', nodeName: 'a' }, { ip: '10.1.0.2', nodeName: 'b' }] }] },
    want: { anyReady: true, readyNodes: ['a', 'b'], anyHealthy: true, healthyNodes: ['a', 'b'] },
  },
  {
    name: 'notReadyAddresses are not ready',
    eps: { subsets: [{ notReadyAddresses: [{ ip: '10.1.0.1', nodeName: 'a' }] }] },
    want: { anyReady: false, readyNodes: [], anyHealthy: false, healthyNodes: [] },
  },
  {
    name: 'ready address without nodeName: ready somewhere, on no node',
    eps: { subsets: [{ addresses: [{ ip: '10.1.0.1' }, { ip: '10.1.0.2', nodeName: '' }] }] },
    want: { anyReady: true, readyNodes: [], anyHealthy: true, healthyNodes: [] },
  },
  {
    name: 'IP ready in one subset, not ready in another: layer 2 counts it, BGP does not',
    eps: {
      subsets: [
        { addresses: [{ ip: '10.1.0.1', nodeName: 'a' }] },
        { notReadyAddresses: [{ ip: '10.1.0.1', nodeName: 'a' }] },
      ],
    },
    want: { anyReady: true, readyNodes: ['a'], anyHealthy: false, healthyNodes: [] },
  },
  {
    name: 'not-ready first then ready: not-ready still wins',
    eps: {
      subsets: [
        { notReadyAddresses: [{ ip: '10.1.0.1', nodeName: 'a' }] },
        { addresses: [{ ip: '10.1.0.1', nodeName: 'a' }, { ip: '10.1.0.9', nodeName: 'c' }] },
      ],
    },
    want: { anyReady: true, readyNodes: ['a', 'c'], anyHealthy: true, healthyNodes: ['c'] },
  },
  {
    name: 'Endpoints: a not-ready listing without a node still vetoes the IP on its node',
    eps: { subsets: [{ addresses: [{ ip: '10.1.0.1', nodeName: 'a' }], notReadyAddresses: [{ ip: '10.1.0.1' }] }] },
    want: { anyReady: true, readyNodes: ['a'], anyHealthy: false, healthyNodes: [] },
  },
  {
    name: 'mixed: one node healthy, one only not ready',
    eps: { subsets: [{ addresses: [{ ip: '10.1.0.1', nodeName: 'a' }], notReadyAddresses: [{ ip: '10.1.0.2', nodeName: 'b' }] }] },
    want: { anyReady: true, readyNodes: ['a'], anyHealthy: true, healthyNodes: ['a'] },
  },
];

for (const c of endpointsCases) {
  test(`Endpoints: ${c.name}`, () => {
    const r = readinessFromEndpoints(c.eps);
    assert.equal(r.source, 'endpoints');
    check(r, c.want);
  });
}

const sliceCases: { name: string; slices: EndpointSliceLike[]; want: Expected }[] = [
  { name: 'no slices content', slices: [{}, { endpoints: null }], want: { anyReady: false, readyNodes: [], anyHealthy: false, healthyNodes: [] } },
  {
    name: 'ready unless conditions.ready is false (absent / null / true are ready)',
    slices: [
      {
        endpoints: [
          { addresses: ['10.1.0.1'], nodeName: 'a' },
          { addresses: ['10.1.0.2'], nodeName: 'b', conditions: {} },
          { addresses: ['10.1.0.3'], nodeName: 'c', conditions: { ready: null } },
          { addresses: ['10.1.0.4'], nodeName: 'd', conditions: { ready: true } },
          { addresses: ['10.1.0.5'], nodeName: 'e', conditions: { ready: false } },
        ],
      },
    ],
    want: { anyReady: true, readyNodes: ['a', 'b', 'c', 'd'], anyHealthy: true, healthyNodes: ['a', 'b', 'c', 'd'] },
  },
  {
    name: 'only not-ready endpoints',
    slices: [{ endpoints: [{ addresses: ['10.1.0.1'], nodeName: 'a', conditions: { ready: false } }] }],
    want: { anyReady: false, readyNodes: [], anyHealthy: false, healthyNodes: [] },
  },
  {
    name: 'node from nodeName, else deprecatedTopology, else v1beta1 topology hostname',
    slices: [
      {
        endpoints: [
          { addresses: ['10.1.0.1'], nodeName: 'a', deprecatedTopology: { 'kubernetes.io/hostname': 'x' } },
          { addresses: ['10.1.0.2'], deprecatedTopology: { 'kubernetes.io/hostname': 'b' } },
          { addresses: ['10.1.0.3'], topology: { 'kubernetes.io/hostname': 'c' } },
          { addresses: ['10.1.0.4'] },
        ],
      },
    ],
    want: { anyReady: true, readyNodes: ['a', 'b', 'c'], anyHealthy: true, healthyNodes: ['a', 'b', 'c'] },
  },
  {
    name: 'slices over several objects (dual-stack: one slice per family)',
    slices: [
      { endpoints: [{ addresses: ['10.1.0.1'], nodeName: 'a', conditions: { ready: false } }] },
      { endpoints: [{ addresses: ['fd00::1'], nodeName: 'b' }] },
    ],
    want: { anyReady: true, readyNodes: ['b'], anyHealthy: true, healthyNodes: ['b'] },
  },
  {
    name: 'same IP ready and not ready on one node: not healthy',
    slices: [
      { endpoints: [{ addresses: ['10.1.0.1'], nodeName: 'a' }] },
      { endpoints: [{ addresses: ['10.1.0.1'], nodeName: 'a', conditions: { ready: false } }] },
    ],
    want: { anyReady: true, readyNodes: ['a'], anyHealthy: false, healthyNodes: [] },
  },
  {
    name: 'slices filter not-ready listings by node: a veto on another node does not count for Local',
    slices: [
      { endpoints: [{ addresses: ['10.1.0.1'], nodeName: 'a' }] },
      { endpoints: [{ addresses: ['10.1.0.1'], nodeName: 'b', conditions: { ready: false } }] },
    ],
    want: { anyReady: true, readyNodes: ['a'], anyHealthy: false, healthyNodes: ['a'] },
  },
  {
    name: 'endpoint with several addresses: one healthy address suffices',
    slices: [
      {
        endpoints: [
          { addresses: ['10.1.0.1', '10.1.0.2'], nodeName: 'a' },
          { addresses: ['10.1.0.1'], nodeName: 'a', conditions: { ready: false } },
        ],
      },
    ],
    want: { anyReady: true, readyNodes: ['a'], anyHealthy: true, healthyNodes: ['a'] },
  },
];

for (const c of sliceCases) {
  test(`EndpointSlices: ${c.name}`, () => {
    const r = readinessFromSlices(c.slices);
    assert.equal(r.source, 'slices');
    check(r, c.want);
  });
}

test('sliceEndpointNode ignores empty strings', () => {
  assert.equal(sliceEndpointNode({ nodeName: '', deprecatedTopology: { 'kubernetes.io/hostname': 'b' } }), 'b');
  assert.equal(sliceEndpointNode({ nodeName: null, topology: { 'kubernetes.io/hostname': '' } }), undefined);
});

test('endpoint source: slices only when enabled, served and readable', async () => {
  const { chooseEndpointSource } = await import('../../../lib/speaker/endpoints.js');
  const all = [true, false];
  for (const disable of all) for (const served of all) for (const readable of all) {
    assert.equal(
      chooseEndpointSource({ disableEndpointSlices: disable, sliceAPIServed: served, kubernetesSliceReadable: readable }),
      !disable && served && readable ? 'slices' : 'endpoints',
    );
  }
});

test('EndpointSliceIndex: per-Service readiness from its own slices; deletion of the last slice means none', async () => {
  const { EndpointSliceIndex } = await import('../../../lib/speaker/endpoints.js');
  const idx = new EndpointSliceIndex();
  const slice = (name: string, svc: string | undefined, node: string, ready = true) => ({
    metadata: { namespace: 'ns', name, labels: (svc ? { 'kubernetes.io/service-name': svc } : {}) as Record<string, string> },
    endpoints: [{ addresses: [`10.0.0.${name.length}`], nodeName: node, conditions: { ready } }],
  });
  let r = idx.upsert(slice('web-1', 'web', 'a'));
  assert.deepEqual(r.map((x) => [x.serviceKey, [...(x.readiness?.readyNodes ?? [])]]), [['ns/web', ['a']]]);
  r = idx.upsert(slice('web-22', 'web', 'b'));
  assert.deepEqual([...(r[0].readiness?.readyNodes ?? [])].sort(), ['a', 'b']);
  r = idx.upsert(slice('web-22', 'web', 'b', false));
  assert.deepEqual([...(r[0].readiness?.readyNodes ?? [])], ['a']);
  // relabelled to another Service: both reported
  r = idx.upsert(slice('web-1', 'api', 'c'));
  assert.deepEqual(r.map((x) => x.serviceKey), ['ns/web', 'ns/api']);
  assert.equal(r[0].readiness?.anyReady, false);
  r = idx.delete(slice('web-22', 'web', 'b'));
  assert.deepEqual(r, [{ serviceKey: 'ns/web', readiness: undefined }]);
  assert.equal(idx.readiness('ns/web'), undefined);
  assert.deepEqual(idx.delete(slice('nope', undefined, 'x')), []);
  assert.deepEqual([...(idx.readiness('ns/api')?.readyNodes ?? [])], ['c']);
});
