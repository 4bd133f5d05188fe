// docs/behaviour/allocation.md#state: what the allocator derives from a Service.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serviceRequest, familyOfAddresses, sameAddressSet, formatIPList, type ServiceLike } from '../../../lib/allocator/index.js';
import { ips, service } from './helpers.js';

function withSpec(spec: NonNullable<ServiceLike['spec']>, annotations: Record<string, string> = {}): ServiceLike {
  return { metadata: { namespace: 'ns', name: 'a', annotations }, spec: { type: 'LoadBalancer', ...spec } };
}

test('docs/behaviour/allocation.md#state ports: protocol as written, nodePort/targetPort ignored, absent protocol is TCP', () => {
  const r = serviceRequest(
    withSpec({
      clusterIPs: ['192.0.2.1'],
      ports: [
        { protocol: 'TCP', port: 80 },
        { protocol: 'UDP', port: 53 },
        { protocol: 'SCTP', port: 9 },
        { port: 443 },
      ],
    }),
  );
  assert.deepEqual(r.ports, [
    { protocol: 'TCP', port: 80 },
    { protocol: 'UDP', port: 53 },
    { protocol: 'SCTP', port: 9 },
    { protocol: 'TCP', port: 443 },
  ]);
  assert.deepEqual(serviceRequest(withSpec({ clusterIPs: ['192.0.2.1'] })).ports, []);
});

const keyCases: { name: string; svc: ServiceLike; sharing: string; backend: string; pool: string }[] = [
  { name: 'no annotations, Cluster', svc: withSpec({ clusterIPs: ['192.0.2.1'], selector: { app: 'x' } }), sharing: '', backend: '', pool: '' },
  {
    name: 'sharing key and pool from annotations',
    svc: withSpec({ clusterIPs: ['192.0.2.1'] }, { 'metallb.universe.tf/allow-shared-ip': 'k1', 'metallb.universe.tf/address-pool': 'p1' }),
    sharing: 'k1',
    backend: '',
    pool: 'p1',
  },
  {
    name: 'Local: selector sorted k=v joined by ","',
    svc: withSpec({ clusterIPs: ['192.0.2.1'], externalTrafficPolicy: 'Local', selector: { zone: 'b', app: 'web', tier: 'fe' } }),
    sharing: '',
    backend: 'app=web,tier=fe,zone=b',
    pool: '',
  },
  {
    name: 'Local with an empty selector has the Cluster backend key [quirk]',
    svc: withSpec({ clusterIPs: ['192.0.2.1'], externalTrafficPolicy: 'Local', selector: {} }),
    sharing: '',
    backend: '',
    pool: '',
  },
  {
    name: 'Cluster: selector ignored',
    svc: withSpec({ clusterIPs: ['192.0.2.1'], externalTrafficPolicy: 'Cluster', selector: { app: 'web' } }),
    sharing: '',
    backend: '',
    pool: '',
  },
];
for (const c of keyCases) {
  test(`docs/behaviour/allocation.md#state keys: ${c.name}`, () => {
    const r = serviceRequest(c.svc);
    assert.equal(r.sharingKey, c.sharing);
    assert.equal(r.backendKey, c.backend);
    assert.equal(r.requestedPool, c.pool);
  });
}

const familyCases: { name: string; spec: NonNullable<ServiceLike['spec']>; family?: string; error?: RegExp }[] = [
  { name: 'one IPv4 cluster IP', spec: { clusterIPs: ['192.0.2.1'] }, family: 'ipv4' },
  { name: 'one IPv6 cluster IP', spec: { clusterIPs: ['2001:db8::1'] }, family: 'ipv6' },
  { name: 'IPv4 + IPv6', spec: { clusterIPs: ['192.0.2.1', '2001:db8::1'] }, family: 'dual' },
  { name: 'IPv6 + IPv4', spec: { clusterIPs: ['2001:db8::1', '192.0.2.1'] }, family: 'dual' },
  { name: 'two IPv4', spec: { clusterIPs: ['192.0.2.1', '192.0.2.2'] }, error: /same address family/ },
  { name: 'unparsable', spec: { clusterIPs: ['None'] }, error: /invalid cluster IP "None"/ },
  { name: 'three entries', spec: { clusterIPs: ['192.0.2.1', '2001:db8::1', '192.0.2.2'] }, error: /invalid ips length 3/ },
  { name: 'none', spec: {}, error: /invalid ips length 0/ },
  { name: 'clusterIP only (older API servers)', spec: { clusterIP: '2001:db8::5' }, family: 'ipv6' },
];
for (const c of familyCases) {
  test(`docs/behaviour/allocation.md#state family: ${c.name}`, () => {
    const f = serviceRequest(withSpec(c.spec)).family;
    if (c.family) assert.deepEqual(f, { ok: true, family: c.family });
    else {
      assert.equal(f.ok, false);
      assert.match(f.ok ? '' : f.message, c.error as RegExp);
    }
  });
}

const requestedCases: { name: string; lbIP?: string; lbIPs?: string; want?: string[]; error?: RegExp }[] = [
  { name: 'none', want: [] },
  { name: 'spec.loadBalancerIP', lbIP: '192.0.2.7', want: ['192.0.2.7'] },
  { name: 'annotation, one IP', lbIPs: '192.0.2.7', want: ['192.0.2.7'] },
  { name: 'annotation, two IPs of different families, trimmed, order kept', lbIPs: ' 2001:db8::7 , 192.0.2.7', want: ['2001:db8::7', '192.0.2.7'] },
  { name: 'annotation and spec field both set', lbIP: '192.0.2.7', lbIPs: '192.0.2.8', error: /can not have both metallb.universe.tf\/loadBalancerIPs and svc.Spec.LoadBalancerIP/ },
  // upstream v0.12.1's exact texts (checked against its controller by test/interop/upstream/controller-parity)
  { name: 'annotation with bad syntax', lbIPs: '192.0.2.300', error: /^invalid metallb\.universe\.tf\/loadBalancerIPs: "192\.0\.2\.300"$/ },
  { name: 'annotation with one bad part: the whole value is quoted', lbIPs: '192.0.2.7, foo', error: /^invalid metallb\.universe\.tf\/loadBalancerIPs: "192\.0\.2\.7, foo"$/ },
  { name: 'annotation with two IPs of one family', lbIPs: '192.0.2.7,192.0.2.8', error: /^IPFamilyForAddresses: same address family \["192\.0\.2\.7" "192\.0\.2\.8"\]$/ },
  { name: 'annotation with three IPs', lbIPs: '192.0.2.7,2001:db8::1,192.0.2.8', error: /^IPFamilyForAddresses: invalid ips length 3 \["192\.0\.2\.7" "2001:db8::1" "192\.0\.2\.8"\]$/ },
  { name: 'bad spec.loadBalancerIP', lbIP: 'abc', error: /^invalid spec\.loadBalancerIP "abc"$/ },
];
for (const c of requestedCases) {
  test(`docs/behaviour/allocation.md#state requested IPs: ${c.name}`, () => {
    const r = serviceRequest(service({ lbIP: c.lbIP, lbIPs: c.lbIPs })).requestedIPs;
    if (c.want) {
      assert.ok(r.ok);
      assert.deepEqual(r.ips.map(String), c.want);
    } else {
      assert.equal(r.ok, false);
      assert.match(r.ok ? '' : r.message, c.error as RegExp);
    }
  });
}

test('familyOfAddresses, sameAddressSet, formatIPList', () => {
  assert.deepEqual(familyOfAddresses(ips('192.0.2.1')), { ok: true, family: 'ipv4' });
  assert.deepEqual(familyOfAddresses(ips('2001:db8::1', '192.0.2.1')), { ok: true, family: 'dual' });
  assert.equal(familyOfAddresses(ips('192.0.2.1', '192.0.2.2')).ok, false);
  assert.equal(familyOfAddresses([]).ok, false);
  assert.ok(sameAddressSet(ips('192.0.2.1', '2001:db8::1'), ips('2001:db8::1', '192.0.2.1')));
  assert.ok(!sameAddressSet(ips('192.0.2.1'), ips('192.0.2.2')));
  assert.ok(!sameAddressSet(ips('192.0.2.1'), ips('192.0.2.1', '2001:db8::1')));
  assert.equal(formatIPList(ips('192.0.2.0', '2001:db8::')), '["192.0.2.0" "2001:db8::"]');
});
