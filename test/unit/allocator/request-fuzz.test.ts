// serviceRequest reads user-written objects: whatever their content, it answers with a value
// (problems as values, never an exception), and the allocator accepts whatever it answers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Allocator, serviceRequest, type ServiceLike } from '../../../lib/allocator/index.js';
import { config, pool } from './helpers.js';

const ipish = fc.oneof(
  fc.constantFrom('192.0.2.1', '192.0.2.3', '2001:db8::1', '::ffff:192.0.2.1', '1.2.3', '', 'None', ' 192.0.2.2 ', '192.0.2.1,2001:db8::2'),
  fc.string({ maxLength: 20 }),
  fc.ipV4(),
  fc.ipV6(),
);

const serviceArb: fc.Arbitrary<ServiceLike> = fc.record(
  {
    metadata: fc.record(
      {
        namespace: fc.string({ maxLength: 5 }),
        name: fc.string({ maxLength: 5 }),
        annotations: fc.option(
          fc.dictionary(
            fc.constantFrom('metallb.universe.tf/address-pool', 'metallb.universe.tf/allow-shared-ip', 'metallb.universe.tf/loadBalancerIPs', 'other'),
            fc.oneof(ipish, fc.constantFrom('p', 'k')),
          ),
        ),
      },
      { requiredKeys: [] },
    ),
    spec: fc.option(
      fc.record(
        {
          type: fc.constantFrom('LoadBalancer', 'ClusterIP'),
          clusterIP: fc.option(ipish),
          clusterIPs: fc.option(fc.array(ipish, { maxLength: 3 })),
          ports: fc.option(
            fc.array(
              fc.record({ protocol: fc.option(fc.constantFrom('TCP', 'UDP', 'SCTP', 'tcp', '')), port: fc.oneof(fc.integer({ min: -5, max: 70000 }), fc.double()) }),
              { maxLength: 4 },
            ),
          ),
          externalTrafficPolicy: fc.option(fc.constantFrom('Local', 'Cluster', 'local')),
          selector: fc.option(fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }))),
          loadBalancerIP: fc.option(ipish),
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);

test('serviceRequest never throws and the allocator accepts what it returns', () => {
  const a = new Allocator();
  assert.ok(a.setConfig(config(pool('p', ['192.0.2.0/30', '2001:db8::/126']), pool('k', ['198.51.100.0/31'], { autoAssign: false }))).ok);
  let n = 0;
  fc.assert(
    fc.property(serviceArb, (svc) => {
      const r = serviceRequest(svc);
      if (r.family.ok) assert.ok(['ipv4', 'ipv6', 'dual'].includes(r.family.family));
      else assert.ok(r.family.message.length > 0);
      if (!r.requestedIPs.ok) assert.ok(r.requestedIPs.message.length > 0);
      else assert.ok(r.requestedIPs.ips.length <= 2);
      const key = `ns/s${n++ % 5}`;
      const res = a.allocate(key, r);
      if (res.ok) assert.ok(res.ips.length === 1 || res.ips.length === 2);
      else assert.ok(res.failure.message.length > 0);
      if (n % 3 === 0) a.release(key);
    }),
    { numRuns: 2000 },
  );
});
