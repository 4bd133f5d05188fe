// configInline is checked when the chart renders. The project's validator (`metallbctl validate`,
// lib/config) is the oracle: for every case below it is run on the same configuration text, and
//  - a configuration it accepts renders, and the ConfigMap the chart writes parses back to the
//    same validated Config (Helm re-serialises values: numbers, booleans, ranges must survive);
//  - a configuration it refuses for a rule the chart checks (docs/helm.md, "Checked by the
//    chart") makes `helm template` fail, and the failure names the validator's path of the
//    problem, never a path the validator does not report;
//  - a configuration it refuses only for a rule left to the controller (docs/helm.md, "Checked
//    only by the controller") still renders: that documents the limit instead of hiding it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import yaml from 'js-yaml';
import { render } from '../../support/helm.js';
import { SPEC_X1 } from '../../support/spec-examples.js';
import { parseConfig } from '../../../lib/config/index.js';
import { validateText } from '../../../lib/config/validate-command.js';
import { pointerToPath } from '../../../lib/config/shape.js';

type Expect = 'valid' | 'chart' | 'schema' | 'controller-only';
interface Case { readonly name: string; readonly expect: Expect; readonly config: string }

const pool = (extra: string, proto = 'layer2', addrs = '[198.51.100.0/24]'): string =>
  `address-pools:\n- name: p\n  protocol: ${proto}\n  addresses: ${addrs}\n${extra}`;
const peer = (fields: string): string => `peers:\n- ${fields.trim().split('\n').join('\n  ')}\n${pool('', 'bgp')}`;
const base = 'my-asn: 64512\npeer-asn: 64500\npeer-address: 192.0.2.1';

const CASES: Case[] = [
  // accepted by both
  { name: 'seed layer2 pool', expect: 'valid', config: pool('') },
  { name: 'spec example X1', expect: 'valid', config: SPEC_X1 },
  { name: 'every peer and pool field', expect: 'valid', config: `
peers:
- my-asn: 4200000000
  peer-asn: 65000
  peer-address: 2001:db8::1
  peer-port: 1179
  source-address: 2001:db8::2
  router-id: 192.0.2.9
  hold-time: 1m30s
  password: "yes"
  node-selectors:
  - match-labels: {rack: r1}
    match-expressions:
    - {key: zone, operator: In, values: [a, b]}
    - {key: spare, operator: DoesNotExist}
bgp-communities:
  noexport: 65535:65281
address-pools:
- name: edge
  protocol: bgp
  avoid-buggy-ips: yes
  auto-assign: no
  addresses: [192.0.2.128/25, "203.0.113.10 - 203.0.113.20"]
  bgp-advertisements:
  - {aggregation-length: 30, localpref: 4294967295, communities: [noexport, "64512:7"]}
  - {aggregation-length: 32}
- name: v6
  protocol: layer2
  addresses: ["2001:db8:1::/120", "2001:db8:2::1-2001:db8:2::ff"]
` },
  // refused, and the chart says where
  { name: 'pool without name', expect: 'chart', config: 'address-pools:\n- protocol: layer2\n  addresses: [198.51.100.0/24]\n' },
  { name: 'duplicate pool names', expect: 'chart', config: `${pool('')}- name: p\n  protocol: layer2\n  addresses: [203.0.113.0/24]\n` },
  { name: 'pool without protocol', expect: 'chart', config: 'address-pools:\n- name: p\n  addresses: [198.51.100.0/24]\n' },
  { name: 'protocol in upper case', expect: 'chart', config: pool('', 'BGP') },
  { name: 'pool without addresses', expect: 'chart', config: 'address-pools:\n- name: p\n  protocol: layer2\n' },
  { name: 'octet above 255', expect: 'chart', config: pool('', 'layer2', '["10.0.0.300/24"]') },
  { name: 'IPv4 prefix above 32', expect: 'chart', config: pool('', 'layer2', '["10.0.0.0/33"]') },
  { name: 'single address without prefix', expect: 'chart', config: pool('', 'layer2', '["10.0.0.1"]') },
  { name: 'range mixing families', expect: 'chart', config: pool('', 'layer2', '["10.0.0.1-2001:db8::1"]') },
  { name: 'not an address at all', expect: 'chart', config: pool('', 'layer2', '[lan]') },
  { name: 'IPv6 in a bgp pool (native speaker)', expect: 'chart', config: pool('', 'bgp', '["2001:db8::/64"]') },
  { name: 'bgp-advertisements in a layer2 pool', expect: 'chart', config: pool('  bgp-advertisements: [{aggregation-length: 32}]\n') },
  { name: 'aggregation-length above 32', expect: 'chart', config: pool('  bgp-advertisements: [{aggregation-length: 33}]\n', 'bgp') },
  { name: 'negative aggregation-length', expect: 'chart', config: pool('  bgp-advertisements: [{aggregation-length: -1}]\n', 'bgp') },
  { name: 'aggregation-length-v6 above 128', expect: 'chart', config: pool('  bgp-advertisements: [{aggregation-length-v6: 129}]\n', 'bgp') },
  { name: 'unknown community alias', expect: 'chart', config: pool('  bgp-advertisements: [{communities: [nope]}]\n', 'bgp') },
  { name: 'community part above 65535', expect: 'chart', config: pool('  bgp-advertisements: [{communities: ["1:65536"]}]\n', 'bgp') },
  { name: 'duplicate community', expect: 'chart', config: pool('  bgp-advertisements: [{communities: ["1:2", "1:2"]}]\n', 'bgp') },
  { name: 'duplicate advertisements', expect: 'chart', config: pool('  bgp-advertisements: [{localpref: 5}, {localpref: 5}]\n', 'bgp') },
  { name: 'bad community alias value', expect: 'chart', config: `bgp-communities:\n  x: "70000:1"\n${pool('')}` },
  { name: 'peer without my-asn', expect: 'chart', config: peer('peer-asn: 64500\npeer-address: 192.0.2.1') },
  { name: 'peer without peer-asn', expect: 'chart', config: peer('my-asn: 64500\npeer-address: 192.0.2.1') },
  { name: 'peer without address', expect: 'chart', config: peer('my-asn: 64500\npeer-asn: 64501') },
  { name: 'peer address not an IP', expect: 'chart', config: peer('my-asn: 64500\npeer-asn: 64501\npeer-address: router1') },
  { name: 'router-id not an IP', expect: 'chart', config: peer(`${base}\nrouter-id: r1`) },
  { name: 'source-address not an IP', expect: 'chart', config: peer(`${base}\nsource-address: 1.2.3`) },
  { name: 'hold-time without unit', expect: 'chart', config: peer(`${base}\nhold-time: 90`) },
  { name: 'hold-time not a duration', expect: 'chart', config: peer(`${base}\nhold-time: soon`) },
  { name: 'keepalive-time (native speaker)', expect: 'chart', config: peer(`${base}\nkeepalive-time: 10s`) },
  { name: 'ebgp-multihop for iBGP', expect: 'chart', config: peer('my-asn: 64500\npeer-asn: 64500\npeer-address: 192.0.2.1\nebgp-multihop: true') },
  { name: 'unknown bfd-profile', expect: 'chart', config: peer(`${base}\nbfd-profile: fast`) },
  { name: 'bfd-profiles (native speaker)', expect: 'chart', config: `bfd-profiles:\n- name: fast\n  receive-interval: 5\n${pool('')}` },
  { name: 'operator in lower case', expect: 'chart', config: peer(`${base}\nnode-selectors:\n- match-expressions:\n  - {key: a, operator: in, values: [x]}`) },
  { name: 'In without values', expect: 'chart', config: peer(`${base}\nnode-selectors:\n- match-expressions:\n  - {key: a, operator: In}`) },
  { name: 'Exists with values', expect: 'chart', config: peer(`${base}\nnode-selectors:\n- match-expressions:\n  - {key: a, operator: Exists, values: [x]}`) },
  { name: 'expression without key', expect: 'chart', config: peer(`${base}\nnode-selectors:\n- match-expressions:\n  - {operator: Exists}`) },
  // refused by the chart's schema (generated from schema/config.schema.json)
  { name: 'misspelt field', expect: 'schema', config: 'address-pools:\n- nmae: p\n  protocol: layer2\n  addresses: [198.51.100.0/24]\n' },
  { name: 'unknown top-level key', expect: 'schema', config: `peerz: []\n${pool('')}` },
  { name: 'boolean that is not one', expect: 'schema', config: pool('  auto-assign: maybe\n') },
  { name: 'negative ASN', expect: 'schema', config: peer('my-asn: -1\npeer-asn: 64500\npeer-address: 192.0.2.1') },
  { name: 'port above 65535', expect: 'schema', config: peer(`${base}\npeer-port: 70000`) },
  { name: 'addresses not a list', expect: 'schema', config: 'address-pools:\n- name: p\n  protocol: layer2\n  addresses: 198.51.100.0/24\n' },
  // refused only by the controller (documented limits of render-time checks)
  { name: 'overlapping pools', expect: 'controller-only', config: `${pool('')}- name: q\n  protocol: layer2\n  addresses: [198.51.100.128/25]\n` },
  { name: 'range start above its end', expect: 'controller-only', config: pool('', 'layer2', '["10.0.0.9-10.0.0.1"]') },
  { name: 'hold-time below 3s', expect: 'controller-only', config: peer(`${base}\nhold-time: 1s`) },
  { name: 'aggregate wider than its block', expect: 'controller-only', config: pool('  bgp-advertisements: [{aggregation-length: 16}]\n', 'bgp') },
  { name: 'identical peers', expect: 'controller-only', config: `peers:\n- {my-asn: 64512, peer-asn: 64500, peer-address: 192.0.2.1}\n- {my-asn: 64512, peer-asn: 64500, peer-address: 192.0.2.1}\n${pool('', 'bgp')}` },
  { name: 'label key syntax', expect: 'controller-only', config: peer(`${base}\nnode-selectors:\n- match-labels: {"bad key!": x}`) },
  { name: 'IPv6 with nine groups', expect: 'controller-only', config: pool('', 'layer2', '["1:2:3:4:5:6:7:8:9/64"]') },
  { name: 'IPv4-mapped IPv6', expect: 'controller-only', config: pool('', 'layer2', '["::ffff:198.51.100.0/120"]') },
];

function valuesText(config: string): string {
  return `configInline:\n${config.replace(/^\n+/, '').split('\n').map((l) => (l ? `  ${l}` : l)).join('\n')}\n`;
}

/** Paths named by the chart's own checks ("configInline: <path>: ..."). */
function chartPaths(stderr: string): string[] {
  return [...stderr.matchAll(/configInline: ([A-Za-z0-9_.\-[\]]+): /g)].map((m) => m[1]);
}

/** Paths named by Helm's schema validation ("at '/configInline/address-pools/0'"). */
function schemaPaths(stderr: string): string[] {
  return [...stderr.matchAll(/at '\/configInline(\/[^']*)?'/g)].map((m) => pointerToPath(m[1] ?? ''));
}

for (const c of CASES) {
  test(`configInline ${c.expect}: ${c.name}`, async () => {
    const oracle = validateText('case', c.config);
    const oraclePaths = oracle.problems.map((p) => p.path);
    const r = await render({ values: [valuesText(c.config)] });
    if (c.expect === 'valid') {
      assert.ok(oracle.valid, `the validator refuses it: ${JSON.stringify(oracle.problems)}`);
      assert.equal(r.code, 0, r.stderr);
      const cm = r.objects.find((o) => o.kind === 'ConfigMap') as { data: { config: string } } | undefined;
      assert.ok(cm, 'the chart renders the ConfigMap');
      const before = parseConfig(c.config);
      const after = parseConfig(cm.data.config);
      assert.deepEqual(after.problems, []);
      assert.deepEqual(after.config, before.config, 'the rendered config means the same as the values');
      return;
    }
    assert.equal(oracle.valid, false, 'the validator must refuse this case (else the case is wrong)');
    if (c.expect === 'controller-only') {
      assert.equal(r.code, 0, `the chart refused a rule docs/helm.md says it leaves to the controller:\n${r.stderr}`);
      return;
    }
    assert.notEqual(r.code, 0, 'helm template must fail');
    assert.match(r.stderr, /configInline/);
    if (c.expect === 'chart') {
      const named = chartPaths(r.stderr);
      assert.ok(named.length > 0, r.stderr);
      for (const p of named) assert.ok(oraclePaths.includes(p), `chart names ${p}; validator names ${oraclePaths.join(', ')}`);
    } else {
      const named = schemaPaths(r.stderr);
      // Helm reports the object holding the bad field; the validator the field itself
      assert.ok(named.some((h) => oraclePaths.some((o) => o === h || o.startsWith(`${h}.`) || o.startsWith(`${h}[`) || (h === '' && o !== ''))), `schema names ${named.join(', ')}; validator names ${oraclePaths.join(', ')}`);
      const field = oraclePaths[0].split(/[.[]/).pop()!.replace(/]$/, '');
      assert.match(r.stderr, new RegExp(field.replace(/[-[\]]/g, '\\$&')), `the error names ${field}`);
    }
  });
}

test('all problems are reported at once, each on its own line', async () => {
  const config = `address-pools:\n- name: a\n  protocol: l2\n  addresses: [198.51.100.0/24]\n- name: a\n  protocol: layer2\n  addresses: ["1.2.3.4/40"]\n`;
  const r = await render({ values: [valuesText(config)] });
  assert.notEqual(r.code, 0);
  assert.deepEqual(chartPaths(r.stderr).sort(), ['address-pools[0].protocol', 'address-pools[1].addresses[0]', 'address-pools[1].name']);
  assert.match(r.stderr, /3 problem\(s\); nothing was changed/);
});

test('the values YAML 1.1 words (yes/no/on/off) reach the ConfigMap as booleans the controller reads the same way', async () => {
  const config = pool('  auto-assign: off\n  avoid-buggy-ips: on\n');
  const r = await render({ values: [valuesText(config)] });
  assert.equal(r.code, 0, r.stderr);
  const cm = r.objects.find((o) => o.kind === 'ConfigMap') as unknown as { data: { config: string } };
  const p = (yaml.load(cm.data.config) as { 'address-pools': { 'auto-assign': unknown; 'avoid-buggy-ips': unknown }[] })['address-pools'][0];
  assert.equal(p['auto-assign'], false);
  assert.equal(p['avoid-buggy-ips'], true);
});
