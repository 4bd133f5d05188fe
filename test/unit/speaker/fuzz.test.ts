// Kubernetes objects are user input: whatever shape they arrive in, the speaker's decisions and
// readiness summaries return a value and never throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decideService, type ServiceLike } from '../../../lib/speaker/decide.js';
import { readinessFromEndpoints, readinessFromSlices, type EndpointsLike, type EndpointSliceLike } from '../../../lib/speaker/endpoints.js';
import { SpeakerState } from '../../../lib/speaker/state.js';
import { ad, config, pool } from './fixtures.js';

const cfg = config([pool('l2', 'layer2', ['192.0.2.0/24', '2001:db8::/64']), pool('b', 'bgp', ['198.51.100.0/24'], [ad({ aggregationLength: 26 })])]);
const text = fc.oneof(
  fc.string(),
  fc.constantFrom('192.0.2.1', '198.51.100.7', '2001:db8::5', '::ffff:192.0.2.1', '10.0.0.1', '192.0.2.256', '', ' 192.0.2.1', '192.0.2.1/32', 'LoadBalancer', 'Local', 'Cluster'),
);
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const nullable = <T>(a: fc.Arbitrary<T>) => fc.oneof(a, fc.constant(null), fc.constant(undefined));
const serviceArb: fc.Arbitrary<ServiceLike> = fc.record(
  {
    metadata: nullable(fc.record({ namespace: opt(fc.string()), name: opt(fc.string()) })),
    spec: nullable(fc.record({ type: nullable(text), externalTrafficPolicy: nullable(text), loadBalancerClass: nullable(text) })),
    status: nullable(fc.record({ loadBalancer: nullable(fc.record({ ingress: nullable(fc.array(fc.record({ ip: nullable(text), hostname: nullable(text) }), { maxLength: 3 })) })) })),
  },
  { requiredKeys: [] },
);
const nodeArb = fc.constantFrom('node-a', 'node-b', '', 'node-c');
const endpointsArb: fc.Arbitrary<EndpointsLike> = fc.record(
  {
    subsets: nullable(
      fc.array(
        fc.record(
          {
            addresses: nullable(fc.array(fc.record({ ip: text, nodeName: nullable(nodeArb) }), { maxLength: 3 })),
            notReadyAddresses: nullable(fc.array(fc.record({ ip: text, nodeName: nullable(nodeArb) }), { maxLength: 3 })),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 3 },
      ),
    ),
  },
  { requiredKeys: [] },
);
const slicesArb: fc.Arbitrary<EndpointSliceLike[]> = fc.array(
  fc.record(
    {
      endpoints: nullable(
        fc.array(
          fc.record(
            {
              addresses: nullable(fc.array(text, { maxLength: 2 })),
              conditions: nullable(fc.record({ ready: nullable(fc.boolean()) }, { requiredKeys: [] })),
              nodeName: nullable(nodeArb),
              deprecatedTopology: nullable(fc.dictionary(fc.constantFrom('kubernetes.io/hostname', 'x'), nodeArb)),
            },
            { requiredKeys: [] },
          ),
          { maxLength: 3 },
        ),
      ),
    },
    { requiredKeys: [] },
  ),
  { maxLength: 3 },
);

test('fuzz: decisions over arbitrary Services and endpoints never throw', () => {
  fc.assert(
    fc.property(serviceArb, fc.oneof(endpointsArb.map(readinessFromEndpoints), slicesArb.map(readinessFromSlices)), nodeArb, (svc, eps, me) => {
      const d = decideService({ config: cfg, nodeName: me, usableSpeakers: new Set(['node-a', 'node-b']), peers: [] }, { service: svc, endpoints: eps, previous: undefined });
      assert.ok(['keep', 'withdraw', 'announce'].includes(d.action));
    }),
    { numRuns: 2000 },
  );
});

test('fuzz: a state fed arbitrary sequences stays consistent (announced IPs = layer2 holders + BGP routes)', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom('ns/a', 'ns/b', 'ns/c'), fc.oneof(serviceArb.map((s) => ({ s })), endpointsArb.map((e) => ({ e })), fc.constant({ gone: true }))), { maxLength: 25 }), (ops) => {
      const st = new SpeakerState({ nodeName: 'node-a', usableSpeakers: new Set(['node-a']) });
      st.setConfig(cfg);
      for (const [key, op] of ops) {
        if ('s' in op) st.updateService(key, op.s);
        else if ('e' in op) st.updateEndpoints(key, readinessFromEndpoints(op.e));
        else st.updateService(key, undefined);
      }
      const l2 = new Set<string>();
      let bgpServices = 0;
      for (const key of ['ns/a', 'ns/b', 'ns/c']) {
        const a = st.announced(key);
        if (a?.protocol === 'layer2') a.ips.forEach((ip) => l2.add(ip.toString()));
        if (a?.protocol === 'bgp') bgpServices++;
      }
      assert.deepEqual([...st.layer2IPs()].map(String).sort(), [...l2].sort());
      if (bgpServices === 0) assert.equal(st.routes.size, 0);
      else assert.ok(st.routes.size > 0);
    }),
    { numRuns: 1000 },
  );
});
