// Table-driven tests of the legacy config parser: every rule and default of spec section 1.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { formatProblem, parseConfig, refusals, type Config, type Problem, type Refuser } from '../../../lib/config/index.js';
import { SPEC_X1 } from '../../support/spec-examples.js';

interface Want {
  path: string;
  message: RegExp;
  refusedBy?: Refuser;
}

interface Case {
  name: string;
  yaml: string;
  /** Problems expected (all of them, in any order). Empty = valid. */
  problems?: Want[];
  check?: (c: Config) => void;
}

const peer = (extra = '') => `peers:\n- my-asn: 64512\n  peer-asn: 64513\n  peer-address: 192.0.2.1\n${extra}`;
const pool = (addresses: string, extra = '', protocol = 'layer2', name = 'p') => `address-pools:\n- name: ${name}\n  protocol: ${protocol}\n  addresses: ${addresses}\n${extra}`;

function run(c: Case): void {
  test(c.name, () => {
    const r = parseConfig(c.yaml);
    const got = r.problems.map((p) => `[${p.refusedBy}] ${formatProblem(p)}`);
    const want = c.problems ?? [];
    assert.equal(r.problems.length, want.length, `problems: ${JSON.stringify(got, null, 1)}`);
    for (const w of want) {
      const hit = r.problems.find((p: Problem) => p.path === w.path && w.message.test(p.message) && p.refusedBy === (w.refusedBy ?? 'all'));
      assert.ok(hit, `expected [${w.refusedBy ?? 'all'}] ${w.path}: ${w.message}; got ${JSON.stringify(got, null, 1)}`);
    }
    if (c.check) {
      assert.ok(r.config, 'expected a config');
      c.check(r.config);
    }
  });
}

describe('seed examples and spec verdicts (docs/behaviour/config.md#examples)', () => {
  run({
    name: 'E1: layer2 range 172.18.0.200-172.18.0.250 is valid with 51 addresses',
    yaml: pool('[172.18.0.200-172.18.0.250]', '', 'layer2', 'lan'),
    check: (c) => {
      assert.equal(c.pools[0].name, 'lan');
      assert.equal(c.pools[0].protocol, 'layer2');
      assert.equal(c.pools[0].cidrs.reduce((n, x) => n + x.size, 0n), 51n);
      assert.equal(c.pools[0].autoAssign, true);
      assert.equal(c.pools[0].avoidBuggyIPs, false);
      assert.deepEqual(c.pools[0].bgpAdvertisements, []);
    },
  });
  run({
    name: 'E2: bgp range 192.168.34.0-192.168.34.255 is one /24; peer defaults',
    yaml: `${peer().replace('192.0.2.1', '10.0.0.1')}${pool('[192.168.34.0-192.168.34.255]', '', 'bgp').replace('address-pools:\n', 'address-pools:\n')}`,
    check: (c) => {
      assert.deepEqual(c.pools[0].cidrs.map(String), ['192.168.34.0/24']);
      const p = c.peers[0];
      assert.equal(p.peerPort, 179);
      assert.equal(p.holdTimeSeconds, 90);
      assert.equal(p.keepaliveTimeSeconds, 30);
      assert.equal(p.password, '');
      assert.equal(p.ebgpMultihop, false);
      assert.deepEqual(p.nodeSelectors, []);
      assert.deepEqual(c.pools[0].bgpAdvertisements, [{ aggregationLength: 32, aggregationLengthV6: 128, localPref: 0, communities: [] }]);
    },
  });
  run({ name: 'E3: a bare address is not a CIDR', yaml: pool('[10.0.0.5]'), problems: [{ path: 'address-pools[0].addresses[0]', message: /single address, not a CIDR/ }] });
  run({
    name: 'E4: overlapping pools',
    yaml: 'address-pools:\n- {name: a, protocol: layer2, addresses: [10.0.0.0/24]}\n- {name: b, protocol: layer2, addresses: [10.0.0.128/25]}\n',
    problems: [{ path: 'address-pools[1].addresses[0]', message: /"10\.0\.0\.128\/25" in pool "b" overlaps with already defined CIDR "10\.0\.0\.0\/24"/ }],
  });
  run({
    name: 'E5: IPv6 in a bgp pool: controller accepts, native speaker refuses',
    yaml: pool('[2001:db8::/120]', '', 'bgp'),
    problems: [{ path: 'address-pools[0].addresses[0]', message: /IPv6 .* not supported by the native BGP/, refusedBy: 'native-speaker' }],
    check: (c) => assert.equal(c.pools[0].cidrs[0].toString(), '2001:db8::/120'),
  });
  run({ name: 'E6: ebgp-multihop on an iBGP peer', yaml: 'peers:\n- {my-asn: 1, peer-asn: 1, peer-address: 1.2.3.4, ebgp-multihop: true}\n', problems: [{ path: 'peers[0].ebgp-multihop', message: /iBGP/ }] });
  run({ name: 'E7: hold-time 2s is too short', yaml: peer('  hold-time: 2s\n'), problems: [{ path: 'peers[0].hold-time', message: /must be 0 or at least 3s/ }] });
  run({ name: 'E8: hold-time without unit', yaml: peer('  hold-time: 90\n'), problems: [{ path: 'peers[0].hold-time', message: /missing unit/ }] });
  run({ name: 'E9: keepalive-time: valid for the controller, refused by native speakers', yaml: peer('  keepalive-time: 10s\n'), problems: [{ path: 'peers[0].keepalive-time', message: /not supported by the native BGP/, refusedBy: 'native-speaker' }], check: (c) => assert.equal(c.peers[0].keepaliveTimeSeconds, 10) });
  run({ name: 'E10: aggregation-length 28 on a /24', yaml: pool('[10.0.0.0/24]', '  bgp-advertisements:\n  - aggregation-length: 28\n', 'bgp'), check: (c) => assert.equal(c.pools[0].bgpAdvertisements[0].aggregationLength, 28) });
  run({ name: 'E11: aggregation-length 16 on a /24', yaml: pool('[10.0.0.0/24]', '  bgp-advertisements:\n  - aggregation-length: 16\n', 'bgp'), problems: [{ path: 'address-pools[0].bgp-advertisements[0].aggregation-length', message: /wider than the \/24 block/ }] });
  run({ name: 'E11b: aggregation-length 33', yaml: pool('[10.0.0.0/24]', '  bgp-advertisements:\n  - aggregation-length: 33\n', 'bgp'), problems: [{ path: 'address-pools[0].bgp-advertisements[0].aggregation-length', message: /at most 32/ }] });
  run({ name: 'E12: advertisements on a layer2 pool', yaml: pool('[10.0.0.0/24]', '  bgp-advertisements:\n  - localpref: 100\n'), problems: [{ path: 'address-pools[0].bgp-advertisements', message: /only allowed in pools with protocol bgp/ }] });
  run({ name: 'E13: unknown community alias', yaml: pool('[10.0.0.0/24]', '  bgp-advertisements:\n  - communities: [no-export]\n', 'bgp'), problems: [{ path: 'address-pools[0].bgp-advertisements[0].communities[0]', message: /not a community of the form A:B.*not an alias/ }] });
  run({ name: 'E14: protocol is case-sensitive', yaml: pool('[10.0.0.0/24]', '', 'BGP'), problems: [{ path: 'address-pools[0].protocol', message: /unknown protocol "BGP"/ }] });
  run({ name: 'E15: one-address range X-X is a /32 (v0.12)', yaml: pool('[1.2.3.4-1.2.3.4]'), check: (c) => assert.deepEqual(c.pools[0].cidrs.map(String), ['1.2.3.4/32']) });
  run({
    name: 'E16: upstream example-config with bfdProfile is refused (unknown key)',
    yaml: 'peers:\n- peer-address: 10.0.0.1\n  peer-asn: 64501\n  my-asn: 64500\n  bfdProfile: full1\nbfd-profiles:\n- name: full1\n',
    problems: [
      { path: 'peers[0].bfdProfile', message: /unknown field "bfdProfile" \(did you mean "bfd-profile"\?/ },
      { path: 'bfd-profiles', message: /not supported by the native BGP/, refusedBy: 'native-speaker' },
    ],
  });
  run({ name: 'E17: empty string is a valid, empty config', yaml: '', check: (c) => { assert.deepEqual(c.pools, []); assert.deepEqual(c.peers, []); } });
  run({
    name: 'X1: complete valid example',
    yaml: SPEC_X1,
    check: (c) => {
      assert.equal(c.peers[0].holdTimeSeconds, 30);
      assert.equal(c.peers[0].keepaliveTimeSeconds, 10);
      assert.equal(c.communities.get('noexport'), 65535 * 65536 + 65281);
      assert.deepEqual(c.pools[0].bgpAdvertisements[0], { aggregationLength: 32, aggregationLengthV6: 128, localPref: 200, communities: [0xffffff01] });
      assert.equal(c.pools[0].avoidBuggyIPs, true);
      assert.equal(c.pools[1].autoAssign, false);
      assert.deepEqual(c.pools[1].cidrs.map(String), ['192.0.2.100/30', '192.0.2.104/29', '192.0.2.112/29', '192.0.2.120/32', '2001:db8:1::/124']);
    },
  });
  run({
    name: 'X2: unknown localPref and an overlap are both reported',
    yaml: 'address-pools:\n- name: a\n  protocol: layer2\n  addresses: [192.0.2.60-192.0.2.70]\n- name: b\n  protocol: bgp\n  addresses: [192.0.2.64/26]\n  bgp-advertisements:\n  - localPref: 100\n',
    problems: [
      { path: 'address-pools[1].bgp-advertisements[0].localPref', message: /unknown field "localPref" \(did you mean "localpref"\?/ },
      { path: 'address-pools[1].addresses[0]', message: /"192\.0\.2\.64\/26" in pool "b" overlaps with already defined CIDR "192\.0\.2\.64\/30"/ },
    ],
  });
});

describe('YAML decoding (docs/behaviour/config.md#yaml)', () => {
  run({ name: 'syntax error names the line', yaml: 'address-pools:\n- name: [unclosed\n', problems: [{ path: '', message: /^YAML: .* at line \d+, column \d+/ }] });
  run({ name: 'duplicate key in a mapping', yaml: 'address-pools: []\naddress-pools: []\n', problems: [{ path: '', message: /duplicated mapping key/ }] });
  run({ name: 'duplicate community alias', yaml: 'bgp-communities:\n  a: 1:1\n  a: 1:2\n', problems: [{ path: '', message: /duplicated mapping key/ }] });
  run({ name: 'unknown top-level key', yaml: 'Peers: []\n', problems: [{ path: 'Peers', message: /unknown field "Peers" \(did you mean "peers"/ }] });
  run({ name: 'unknown pool key', yaml: pool('[10.0.0.0/24]', '  autoassign: false\n'), problems: [{ path: 'address-pools[0].autoassign', message: /unknown field/ }] });
  run({ name: 'unknown selector key', yaml: peer('  node-selectors:\n  - matchLabels: {a: b}\n'), problems: [{ path: 'peers[0].node-selectors[0].matchLabels', message: /unknown field.*match-labels/ }] });
  run({ name: 'unknown BFD profile key', yaml: 'bfd-profiles:\n- name: x\n  foo: 1\n', problems: [{ path: 'bfd-profiles[0].foo', message: /unknown field/ }, { path: 'bfd-profiles', message: /native/, refusedBy: 'native-speaker' }] });
  run({ name: 'document that is a bare string', yaml: 'hello\n', problems: [{ path: '', message: /must be a YAML mapping/ }] });
  run({ name: 'document that is a list', yaml: '- a\n', problems: [{ path: '', message: /must be a YAML mapping.*a list/ }] });
  run({ name: 'null lists are absent', yaml: 'peers:\naddress-pools: ~\nbgp-communities: null\n', check: (c) => assert.equal(c.pools.length, 0) });
  run({ name: 'a null pool item becomes all-defaults (then misses its name)', yaml: 'address-pools:\n-\n', problems: [{ path: 'address-pools[0].name', message: /missing pool name/ }, { path: 'address-pools[0].addresses', message: /no prefixes/ }, { path: 'address-pools[0].protocol', message: /missing the protocol/ }] });
  run({ name: 'integers: hex, octal, binary, underscores', yaml: 'peers:\n- my-asn: 0xFC00\n  peer-asn: 0b1111110000000001\n  peer-address: 192.0.2.1\n  peer-port: 0_1_7_9\n', check: (c) => { assert.equal(c.peers[0].myASN, 64512); assert.equal(c.peers[0].peerASN, 64513); assert.equal(c.peers[0].peerPort, 179, "0179 is not octal: read as the float 179, as yaml.v2 does"); } });
  run({ name: 'a scalar starting with "_" is text, not a number', yaml: peer('  peer-port: _179\n'), problems: [{ path: 'peers[0].peer-port', message: /must be an integer, got "_179"/ }] });
  run({ name: 'a pool named toString is just a name', yaml: pool('[10.0.0.0/24]', '', 'layer2', 'toString'), check: (c) => assert.equal(c.pools[0].name, 'toString') });
  run({ name: 'leading-zero integers are octal', yaml: peer('  peer-port: 017\n'), check: (c) => assert.equal(c.peers[0].peerPort, 15) });
  run({ name: 'integral float for an integer field', yaml: 'peers:\n- my-asn: 42.0\n  peer-asn: 43\n  peer-address: 192.0.2.1\n', check: (c) => assert.equal(c.peers[0].myASN, 42) });
  run({ name: 'quoted number is not an integer', yaml: 'peers:\n- my-asn: "42"\n  peer-asn: 43\n  peer-address: 192.0.2.1\n', problems: [{ path: 'peers[0].my-asn', message: /must be an integer, got the quoted string "42"/ }] });
  run({ name: 'non-integral float for an integer field', yaml: peer('  peer-port: 1.5\n'), problems: [{ path: 'peers[0].peer-port', message: /must be an integer/ }] });
  run({ name: 'uint32 out of range', yaml: 'peers:\n- my-asn: 4294967296\n  peer-asn: 1\n  peer-address: 192.0.2.1\n', problems: [{ path: 'peers[0].my-asn', message: /out of range \(maximum 4294967295\)/ }] });
  run({ name: 'negative value for an unsigned field', yaml: 'peers:\n- my-asn: -1\n  peer-asn: 1\n  peer-address: 192.0.2.1\n', problems: [{ path: 'peers[0].my-asn', message: /out of range \(minimum 0\)/ }] });
  run({ name: 'uint16 out of range', yaml: peer('  peer-port: 65536\n'), problems: [{ path: 'peers[0].peer-port', message: /maximum 65535/ }] });
  for (const [t, v] of [['yes', true], ['Yes', true], ['YES', true], ['on', true], ['ON', true], ['y', true], ['true', true], ['True', true], ['no', false], ['Off', false], ['N', false], ['FALSE', false]] as const) {
    run({ name: `boolean ${t}`, yaml: pool('[10.0.0.0/24]', `  auto-assign: ${t}\n`), check: (c) => assert.equal(c.pools[0].autoAssign, v) });
  }
  for (const t of ['1', '0', 'tRUE', '"false"', 'maybe']) {
    run({ name: `not a boolean: ${t}`, yaml: pool('[10.0.0.0/24]', `  auto-assign: ${t}\n`), problems: [{ path: 'address-pools[0].auto-assign', message: /must be a boolean/ }] });
  }
  run({ name: 'string fields take the source text: password 012345', yaml: peer('  password: 012345\n'), check: (c) => assert.equal(c.peers[0].password, '012345') });
  run({ name: 'string fields take the source text: password yes', yaml: peer('  password: yes\n'), check: (c) => assert.equal(c.peers[0].password, 'yes') });
  run({ name: 'a list into a string field is refused', yaml: peer('  password: [a]\n'), problems: [{ path: 'peers[0].password', message: /must be a single value, got a list/ }] });
  run({ name: 'a mapping into a list field is refused', yaml: 'address-pools: {a: 1}\n', problems: [{ path: 'address-pools', message: /must be a list, got a mapping/ }] });
  run({ name: 'YAML merge keys are supported', yaml: 'x-defaults: &d {protocol: layer2}\n', problems: [{ path: 'x-defaults', message: /unknown field/ }] });
  run({ name: 'anchors and aliases', yaml: 'address-pools:\n- name: a\n  protocol: layer2\n  addresses: &addrs [10.0.0.0/24]\n- name: b\n  protocol: layer2\n  addresses: [10.1.0.0/24]\n', check: (c) => assert.equal(c.pools.length, 2) });
  run({ name: 'block scalar is a string', yaml: peer('  password: |-\n    s3cret\n'), check: (c) => assert.equal(c.peers[0].password, 's3cret') });
});

describe('peers (docs/behaviour/config.md#peers, docs/behaviour/config.md#node-selectors)', () => {
  run({ name: 'missing my-asn', yaml: 'peers:\n- peer-asn: 1\n  peer-address: 192.0.2.1\n', problems: [{ path: 'peers[0].my-asn', message: /missing local ASN/ }] });
  run({ name: 'my-asn 0 is missing', yaml: 'peers:\n- my-asn: 0\n  peer-asn: 1\n  peer-address: 192.0.2.1\n', problems: [{ path: 'peers[0].my-asn', message: /missing local ASN/ }] });
  run({ name: 'missing peer-asn', yaml: 'peers:\n- my-asn: 1\n  peer-address: 192.0.2.1\n', problems: [{ path: 'peers[0].peer-asn', message: /missing peer ASN/ }] });
  run({ name: 'missing peer-address', yaml: 'peers:\n- my-asn: 1\n  peer-asn: 2\n', problems: [{ path: 'peers[0].peer-address', message: /missing peer address/ }] });
  for (const bad of ['192.0.2.1:179', '[2001:db8::1]', 'fe80::1%eth0', 'router.example', '192.0.2.256']) {
    run({ name: `invalid peer-address ${bad}`, yaml: `peers:\n- my-asn: 1\n  peer-asn: 2\n  peer-address: "${bad}"\n`, problems: [{ path: 'peers[0].peer-address', message: /invalid peer IP/ }] });
  }
  run({ name: 'IPv6 peer', yaml: 'peers:\n- my-asn: 1\n  peer-asn: 2\n  peer-address: 2001:db8::1\n', check: (c) => assert.equal(c.peers[0].peerAddress.toString(), '2001:db8::1') });
  run({ name: 'peer-port 0 means 179', yaml: peer('  peer-port: 0\n'), check: (c) => assert.equal(c.peers[0].peerPort, 179) });
  run({ name: 'peer-port 1179', yaml: peer('  peer-port: 1179\n'), check: (c) => assert.equal(c.peers[0].peerPort, 1179) });
  run({ name: 'source-address', yaml: peer('  source-address: 192.0.2.10\n'), check: (c) => assert.equal(c.peers[0].sourceAddress?.toString(), '192.0.2.10') });
  run({ name: 'invalid source-address', yaml: peer('  source-address: nope\n'), problems: [{ path: 'peers[0].source-address', message: /invalid source IP/ }] });
  run({ name: 'router-id', yaml: peer('  router-id: 10.0.0.1\n'), check: (c) => assert.equal(c.peers[0].routerID?.toString(), '10.0.0.1') });
  run({ name: 'invalid router-id', yaml: peer('  router-id: 10.0.0\n'), problems: [{ path: 'peers[0].router-id', message: /invalid router ID/ }] });
  const hold: [string, number | RegExp][] = [['90s', 90], ['1m30s', 90], ['1.5m', 90], ['3.9s', 3], ['0', 0], ['0s', 0], ['500ms', 0], ['2h', 7200], ['2.9s', /must be 0 or at least 3s/], ['-5s', /must be 0 or at least 3s/], ['90', /missing unit/], ['ninety', /invalid duration/], ['1d', /invalid duration/], ['.s', /invalid duration/]];
  for (const [text, want] of hold) {
    if (typeof want === 'number') run({ name: `hold-time ${text} -> ${want}s`, yaml: peer(`  hold-time: ${text}\n`), check: (c) => { assert.equal(c.peers[0].holdTimeSeconds, want); assert.equal(c.peers[0].keepaliveTimeSeconds, want / 3); } });
    else run({ name: `hold-time ${text} is refused`, yaml: peer(`  hold-time: ${text}\n`), problems: [{ path: 'peers[0].hold-time', message: want }] });
  }
  run({ name: 'keepalive default is the exact third: 100s -> 33.33s', yaml: peer('  hold-time: 100s\n'), check: (c) => assert.equal(c.peers[0].keepaliveTimeSeconds, 100 / 3) });
  run({ name: 'keepalive equal to hold-time is allowed', yaml: peer('  hold-time: 30s\n  keepalive-time: 30s\n'), problems: [{ path: 'peers[0].keepalive-time', message: /native/, refusedBy: 'native-speaker' }], check: (c) => assert.equal(c.peers[0].keepaliveTimeSeconds, 30) });
  run({ name: 'keepalive greater than hold-time', yaml: peer('  hold-time: 30s\n  keepalive-time: 31s\n'), problems: [{ path: 'peers[0].keepalive-time', message: /greater than the hold time/ }, { path: 'peers[0].keepalive-time', message: /native/, refusedBy: 'native-speaker' }] });
  run({ name: 'negative keepalive: upstream accepts, we refuse', yaml: peer('  keepalive-time: -5s\n'), problems: [{ path: 'peers[0].keepalive-time', message: /negative/, refusedBy: 'recommended' }, { path: 'peers[0].keepalive-time', message: /native/, refusedBy: 'native-speaker' }] });
  run({ name: 'password', yaml: peer('  password: s3cret\n'), check: (c) => assert.equal(c.peers[0].password, 's3cret') });
  run({ name: 'ebgp-multihop on eBGP', yaml: peer('  ebgp-multihop: true\n'), check: (c) => assert.equal(c.peers[0].ebgpMultihop, true) });
  run({ name: 'bfd-profile referencing a missing profile', yaml: peer('  bfd-profile: nope\n'), problems: [{ path: 'peers[0].bfd-profile', message: /referencing non existing bfd profile "nope"/ }, { path: 'peers[0].bfd-profile', message: /native/, refusedBy: 'native-speaker' }] });
  run({ name: 'bfd-profile referencing a profile', yaml: `${peer('  bfd-profile: fast\n')}bfd-profiles:\n- name: fast\n`, problems: [{ path: 'peers[0].bfd-profile', message: /native/, refusedBy: 'native-speaker' }, { path: 'bfd-profiles', message: /native/, refusedBy: 'native-speaker' }], check: (c) => assert.equal(c.peers[0].bfdProfile, 'fast') });
  run({ name: 'identical peers are refused', yaml: 'peers:\n- {my-asn: 1, peer-asn: 2, peer-address: 192.0.2.1}\n- {my-asn: 1, peer-asn: 2, peer-address: 192.0.2.1, peer-port: 179, hold-time: 90s}\n', problems: [{ path: 'peers[1]', message: /peer #2 already exists/ }, { path: 'peers[1].peer-address', message: /already used/, refusedBy: 'frr-speaker' }] });
  run({ name: 'peers differing only in port are fine', yaml: 'peers:\n- {my-asn: 1, peer-asn: 2, peer-address: 192.0.2.1}\n- {my-asn: 1, peer-asn: 2, peer-address: 192.0.2.1, peer-port: 1179}\n', problems: [{ path: 'peers[1].peer-address', message: /already used/, refusedBy: 'frr-speaker' }], check: (c) => assert.equal(c.peers.length, 2) });
  run({
    name: 'FRR-mode validator: differing router-id and my-asn',
    yaml: 'peers:\n- {my-asn: 1, peer-asn: 2, peer-address: 192.0.2.1, router-id: 10.0.0.1}\n- {my-asn: 3, peer-asn: 2, peer-address: 192.0.2.2}\n',
    problems: [{ path: 'peers[1].router-id', message: /differs/, refusedBy: 'frr-speaker' }, { path: 'peers[1].my-asn', message: /differs/, refusedBy: 'frr-speaker' }],
  });
  run({
    name: 'node selectors: labels and every operator',
    yaml: peer('  node-selectors:\n  - match-labels: {rack: r1, kubernetes.io/hostname: node-1}\n    match-expressions:\n    - {key: zone, operator: In, values: [a, b]}\n    - {key: gpu, operator: DoesNotExist}\n  - match-expressions:\n    - {key: example.com/role, operator: Exists}\n    - {key: tier, operator: NotIn, values: [edge]}\n'),
    check: (c) => {
      const s = c.peers[0].nodeSelectors;
      assert.equal(s.length, 2);
      assert.deepEqual(s[0].matchLabels, { rack: 'r1', 'kubernetes.io/hostname': 'node-1' });
      assert.deepEqual(s[0].matchExpressions[0], { key: 'zone', operator: 'In', values: ['a', 'b'] });
      assert.equal(s[1].matchExpressions[0].operator, 'Exists');
    },
  });
  run({ name: 'selector operator Gt is refused', yaml: peer('  node-selectors:\n  - match-expressions:\n    - {key: a, operator: Gt, values: ["1"]}\n'), problems: [{ path: 'peers[0].node-selectors[0].match-expressions[0].operator', message: /"Gt" is not a valid operator/ }] });
  run({ name: 'selector operator in (lower case) is refused', yaml: peer('  node-selectors:\n  - match-expressions:\n    - {key: a, operator: in, values: [x]}\n'), problems: [{ path: 'peers[0].node-selectors[0].match-expressions[0].operator', message: /not a valid operator/ }] });
  run({ name: 'In without values', yaml: peer('  node-selectors:\n  - match-expressions:\n    - {key: a, operator: In}\n'), problems: [{ path: 'peers[0].node-selectors[0].match-expressions[0].values', message: /needs at least one value/ }] });
  run({ name: 'Exists with values', yaml: peer('  node-selectors:\n  - match-expressions:\n    - {key: a, operator: Exists, values: [x]}\n'), problems: [{ path: 'peers[0].node-selectors[0].match-expressions[0].values', message: /takes no values/ }] });
  run({ name: 'expression without key', yaml: peer('  node-selectors:\n  - match-expressions:\n    - {operator: Exists}\n'), problems: [{ path: 'peers[0].node-selectors[0].match-expressions[0].key', message: /missing key/ }] });
  run({ name: 'invalid label key', yaml: peer('  node-selectors:\n  - match-labels: {"-bad": x}\n'), problems: [{ path: 'peers[0].node-selectors[0].match-labels', message: /label key "-bad"/ }] });
  run({ name: 'invalid label value', yaml: peer(`  node-selectors:\n  - match-labels: {a: "${'x'.repeat(64)}"}\n`), problems: [{ path: 'peers[0].node-selectors[0].match-labels.a', message: /label value/ }] });
  run({ name: 'selector with neither part matches everything', yaml: peer('  node-selectors:\n  - {}\n'), check: (c) => assert.deepEqual(c.peers[0].nodeSelectors, [{ matchLabels: {}, matchExpressions: [] }]) });
});

describe('bgp-communities (docs/behaviour/config.md#communities)', () => {
  run({ name: 'alias values', yaml: 'bgp-communities:\n  a: 0:0\n  b: 65535:65535\n  c: 00001:02\n', check: (c) => { assert.equal(c.communities.get('a'), 0); assert.equal(c.communities.get('b'), 0xffffffff); assert.equal(c.communities.get('c'), 65538); } });
  for (const bad of ['65536:1', '1:65536', '1:2:3', '-1:2', '1: 2', 'a:b', '12']) {
    run({ name: `invalid community ${bad}`, yaml: `bgp-communities:\n  x: "${bad}"\n`, problems: [{ path: 'bgp-communities.x', message: /parsing community/ }] });
  }
  run({ name: 'alias lookup wins over a literal', yaml: `bgp-communities:\n  "1:1": 2:2\n${pool('[10.0.0.0/24]', '  bgp-advertisements:\n  - communities: ["1:1"]\n', 'bgp')}`, check: (c) => assert.deepEqual(c.pools[0].bgpAdvertisements[0].communities, [2 * 65536 + 2]) });
  run({ name: 'alias and its literal collapse into one value', yaml: `bgp-communities:\n  ne: 65535:65281\n${pool('[10.0.0.0/24]', '  bgp-advertisements:\n  - communities: [ne, "65535:65281"]\n', 'bgp')}`, check: (c) => assert.deepEqual(c.pools[0].bgpAdvertisements[0].communities, [0xffffff01]) });
  run({ name: 'the same community twice in one advertisement', yaml: pool('[10.0.0.0/24]', '  bgp-advertisements:\n  - communities: ["1:1", "1:1"]\n', 'bgp'), problems: [{ path: 'address-pools[0].bgp-advertisements[0].communities[1]', message: /duplicate community "1:1"/ }] });
});

describe('address-pools (docs/behaviour/config.md#address-pools)', () => {
  run({ name: 'missing name', yaml: 'address-pools:\n- protocol: layer2\n  addresses: [10.0.0.0/24]\n', problems: [{ path: 'address-pools[0].name', message: /missing pool name/ }] });
  run({ name: 'duplicate pool names', yaml: 'address-pools:\n- {name: a, protocol: layer2, addresses: [10.0.0.0/24]}\n- {name: a, protocol: layer2, addresses: [10.1.0.0/24]}\n', problems: [{ path: 'address-pools[1].name', message: /duplicate definition of pool "a"/ }] });
  run({ name: 'names have no character restrictions', yaml: pool('[10.0.0.0/24]', '', 'layer2', '"Pool_1 (lab)"'), check: (c) => assert.equal(c.pools[0].name, 'Pool_1 (lab)') });
  run({ name: 'missing protocol', yaml: 'address-pools:\n- {name: a, addresses: [10.0.0.0/24]}\n', problems: [{ path: 'address-pools[0].protocol', message: /missing the protocol field/ }] });
  run({ name: 'no addresses', yaml: 'address-pools:\n- {name: a, protocol: layer2, addresses: []}\n', problems: [{ path: 'address-pools[0].addresses', message: /no prefixes defined/ }] });
  run({ name: 'the issue\'s example message', yaml: pool('["10.0.0.300/24"]'), problems: [{ path: 'address-pools[0].addresses[0]', message: /^"10\.0\.0\.300\/24" is not a CIDR or an address range$/ }] });
  run({ name: 'host bits are cleared', yaml: pool('[10.20.30.40/24]'), check: (c) => assert.equal(c.pools[0].cidrs[0].toString(), '10.20.30.0/24') });
  run({ name: '/33 is refused', yaml: pool('[10.0.0.0/33]'), problems: [{ path: 'address-pools[0].addresses[0]', message: /not a CIDR/ }] });
  run({ name: 'CIDR form is not trimmed', yaml: pool('[" 10.0.0.0/24"]'), problems: [{ path: 'address-pools[0].addresses[0]', message: /not a CIDR/ }] });
  run({ name: 'range sides are trimmed', yaml: pool('["1.2.3.4 - 1.2.3.9"]'), check: (c) => assert.deepEqual(c.pools[0].cidrs.map(String), ['1.2.3.4/30', '1.2.3.8/31']) });
  run({ name: 'reversed range', yaml: pool('[1.2.3.9-1.2.3.4]'), problems: [{ path: 'address-pools[0].addresses[0]', message: /above its end/ }] });
  run({ name: 'mixed-family range: refused (upstream: silently empty)', yaml: pool('["1.2.3.4-2001:db8::1"]'), problems: [{ path: 'address-pools[0].addresses[0]', message: /mixes/, refusedBy: 'recommended' }] });
  run({ name: 'IPv6-IPv4 range: refused', yaml: pool('["2001:db8::1-1.2.3.4"]'), problems: [{ path: 'address-pools[0].addresses[0]', message: /mixes/, refusedBy: 'recommended' }] });
  run({ name: 'IPv4-mapped CIDR: refused', yaml: pool('["::ffff:10.0.0.0/104"]'), problems: [{ path: 'address-pools[0].addresses[0]', message: /IPv4-mapped/, refusedBy: 'recommended' }] });
  run({ name: 'leading zeros in IPv4 octets are decimal', yaml: pool('[010.000.000.000/24]'), check: (c) => assert.equal(c.pools[0].cidrs[0].toString(), '10.0.0.0/24') });
  run({ name: 'IPv6 range in a layer2 pool', yaml: pool('["2001:db8::10-2001:db8::1f"]'), check: (c) => assert.deepEqual(c.pools[0].cidrs.map(String), ['2001:db8::10/124']) });
  run({ name: 'overlap inside one pool', yaml: pool('[10.0.0.0/24, 10.0.0.5/32]'), problems: [{ path: 'address-pools[0].addresses[1]', message: /overlaps with already defined CIDR "10\.0\.0\.0\/24"/ }] });
  run({ name: 'adjacent blocks do not overlap', yaml: pool('[10.0.0.0/25, 10.0.0.128/25]') });
  run({ name: 'identical blocks overlap', yaml: 'address-pools:\n- {name: a, protocol: layer2, addresses: [2001:db8::/64]}\n- {name: b, protocol: bgp, addresses: ["2001:db8::-2001:db8::ff"]}\n', problems: [{ path: 'address-pools[1].addresses[0]', message: /overlaps/ }, { path: 'address-pools[1].addresses[0]', message: /native/, refusedBy: 'native-speaker' }] });
  run({ name: 'IPv4 and IPv6 never overlap', yaml: pool('[0.0.0.0/0, "::/0"]') });
  run({ name: 'auto-assign and avoid-buggy-ips', yaml: pool('[10.0.0.0/24]', '  auto-assign: false\n  avoid-buggy-ips: true\n'), check: (c) => { assert.equal(c.pools[0].autoAssign, false); assert.equal(c.pools[0].avoidBuggyIPs, true); } });
  run({ name: 'empty advertisement list on layer2 is fine', yaml: pool('[10.0.0.0/24]', '  bgp-advertisements: []\n') });
  run({ name: 'config order of pools is kept', yaml: 'address-pools:\n- {name: z, protocol: layer2, addresses: [10.0.0.0/24]}\n- {name: a, protocol: bgp, addresses: [10.1.0.0/24]}\n', check: (c) => assert.deepEqual(c.pools.map((p) => p.name), ['z', 'a']) });
});

describe('bgp-advertisements (docs/behaviour/config.md#bgp-advertisements)', () => {
  run({ name: 'defaults of an explicit empty advertisement', yaml: pool('[10.0.0.0/24]', '  bgp-advertisements:\n  - {}\n', 'bgp'), check: (c) => assert.deepEqual(c.pools[0].bgpAdvertisements, [{ aggregationLength: 32, aggregationLengthV6: 128, localPref: 0, communities: [] }]) });
  run({ name: 'textually identical advertisements', yaml: pool('[10.0.0.0/24]', '  bgp-advertisements:\n  - {localpref: 100, communities: ["1:1"]}\n  - {communities: ["1:1"], localpref: 100}\n', 'bgp'), problems: [{ path: 'address-pools[0].bgp-advertisements[1]', message: /duplicate definition of bgpadvertisements/ }] });
  run({ name: 'an omitted key differs from an explicit default', yaml: pool('[10.0.0.0/24]', '  bgp-advertisements:\n  - {aggregation-length: 32}\n  - {}\n', 'bgp'), check: (c) => assert.equal(c.pools[0].bgpAdvertisements.length, 2) });
  run({ name: 'aggregation-length-v6 over 128', yaml: pool('["2001:db8::/64"]', '  bgp-advertisements:\n  - aggregation-length-v6: 129\n', 'bgp'), problems: [{ path: 'address-pools[0].bgp-advertisements[0].aggregation-length-v6', message: /at most 128/ }, { path: 'address-pools[0].addresses[0]', message: /native/, refusedBy: 'native-speaker' }] });
  run({ name: 'aggregation-length 33 is refused even in an IPv6 pool', yaml: pool('["2001:db8::/64"]', '  bgp-advertisements:\n  - aggregation-length: 33\n', 'bgp'), problems: [{ path: 'address-pools[0].bgp-advertisements[0].aggregation-length', message: /at most 32/ }, { path: 'address-pools[0].addresses[0]', message: /native/, refusedBy: 'native-speaker' }] });
  run({ name: 'range 3.3.3.2-3.3.3.254 accepts 26', yaml: pool('[3.3.3.2-3.3.3.254]', '  bgp-advertisements:\n  - aggregation-length: 26\n', 'bgp') });
  run({ name: 'range 3.3.3.2-3.3.3.254 rejects 24', yaml: pool('[3.3.3.2-3.3.3.254]', '  bgp-advertisements:\n  - aggregation-length: 24\n', 'bgp'), problems: [{ path: 'address-pools[0].bgp-advertisements[0].aggregation-length', message: /wider than the \/26 block/ }] });
  run({ name: 'CIDR list 10.20.30.0/24, 1.2.3.0/28 rejects 26', yaml: pool('[10.20.30.0/24, 1.2.3.0/28]', '  bgp-advertisements:\n  - aggregation-length: 26\n', 'bgp'), problems: [{ path: 'address-pools[0].bgp-advertisements[0].aggregation-length', message: /"1\.2\.3\.0\/28".*\/28 block/ }] });
  run({ name: 'IPv6 aggregation checked against aggregation-length-v6', yaml: pool('["2001:db8::/64"]', '  bgp-advertisements:\n  - aggregation-length-v6: 48\n', 'bgp'), problems: [{ path: 'address-pools[0].bgp-advertisements[0].aggregation-length-v6', message: /wider than the \/64 block/ }, { path: 'address-pools[0].addresses[0]', message: /native/, refusedBy: 'native-speaker' }] });
  run({ name: 'negative aggregation length: refused (upstream: accepted in IPv6-only pools)', yaml: pool('[10.0.0.0/24]', '  bgp-advertisements:\n  - aggregation-length: -1\n', 'bgp'), problems: [{ path: 'address-pools[0].bgp-advertisements[0].aggregation-length', message: /negative/, refusedBy: 'recommended' }] });
  run({ name: 'localpref out of uint32 range', yaml: pool('[10.0.0.0/24]', '  bgp-advertisements:\n  - localpref: 4294967296\n', 'bgp'), problems: [{ path: 'address-pools[0].bgp-advertisements[0].localpref', message: /out of range/ }] });
});

describe('bfd-profiles (docs/behaviour/config.md#bfd-profiles)', () => {
  const bfd = (extra: string) => `bfd-profiles:\n- name: p\n${extra}`;
  const native = { path: 'bfd-profiles', message: /native/, refusedBy: 'native-speaker' as const };
  run({ name: 'full profile', yaml: bfd('  receive-interval: 10\n  transmit-interval: 60000\n  detect-multiplier: 2\n  echo-interval: 100\n  echo-mode: true\n  passive-mode: yes\n  minimum-ttl: 254\n'), problems: [native], check: (c) => assert.deepEqual(c.bfdProfiles[0], { name: 'p', receiveInterval: 10, transmitInterval: 60000, detectMultiplier: 2, echoInterval: 100, echoMode: true, passiveMode: true, minimumTtl: 254 }) });
  run({ name: 'defaults', yaml: bfd(''), problems: [native], check: (c) => assert.deepEqual(c.bfdProfiles[0], { name: 'p', echoMode: false, passiveMode: false }) });
  for (const [key, value] of [['receive-interval', 9], ['transmit-interval', 60001], ['detect-multiplier', 1], ['detect-multiplier', 256], ['echo-interval', 5], ['minimum-ttl', 0], ['minimum-ttl', 255]] as const) {
    run({ name: `${key} ${value} out of range`, yaml: bfd(`  ${key}: ${value}\n`), problems: [native, { path: `bfd-profiles[0].${key}`, message: /out of range/ }] });
  }
  run({ name: 'missing name', yaml: 'bfd-profiles:\n- echo-mode: true\n', problems: [native, { path: 'bfd-profiles[0].name', message: /missing bfd profile name/ }] });
  run({ name: 'duplicate names', yaml: 'bfd-profiles:\n- name: p\n- name: p\n', problems: [native, { path: 'bfd-profiles[1].name', message: /duplicate bfd profile name/ }] });
});

describe('every problem is reported, not just the first', () => {
  run({
    name: 'problems across peers and pools',
    yaml: 'peers:\n- {peer-asn: 1, peer-address: x}\naddress-pools:\n- {name: a, protocol: l2, addresses: [10.0.0.0/24]}\n- {name: b, protocol: layer2, addresses: [bad]}\n',
    problems: [
      { path: 'peers[0].my-asn', message: /missing local ASN/ },
      { path: 'peers[0].peer-address', message: /invalid peer IP "x"/ },
      { path: 'address-pools[0].protocol', message: /unknown protocol "l2"/ },
      { path: 'address-pools[1].addresses[0]', message: /"bad" is not a CIDR or an address range/ },
    ],
  });
});

test('refusals(): which component refuses', () => {
  const r = parseConfig(`${peer('  keepalive-time: 10s\n')}`);
  assert.equal(refusals(r, 'controller').length, 0);
  assert.equal(refusals(r, 'native-speaker').length, 1);
  assert.equal(refusals(r, 'frr-speaker').length, 0);
  assert.ok(r.config, 'a config the controller accepts is built');
});

test('the Config is immutable', () => {
  const config = parseConfig(pool('[10.0.0.0/24]')).config;
  assert.ok(config);
  assert.throws(() => { (config.pools as unknown as unknown[]).push(1); }, TypeError);
  assert.throws(() => { (config.pools[0] as { name: string }).name = 'x'; }, TypeError);
});

test('raw config keeps what was written (for migration)', () => {
  const r = parseConfig(`${peer('  hold-time: 1m\n')}${pool('[10.0.0.0/24]', '  auto-assign: true\n', 'bgp')}`);
  assert.equal(r.raw?.peers?.[0]['hold-time'], '1m');
  assert.equal(r.raw?.peers?.[0]['keepalive-time'], undefined);
  assert.equal(r.raw?.['address-pools']?.[0]['auto-assign'], true);
  assert.equal(r.raw?.['address-pools']?.[0]['avoid-buggy-ips'], undefined);
});

describe('huge and hostile inputs', () => {
  test('a 5 MB config is refused quickly with a clear message', () => {
    const text = `address-pools:\n${'- {name: p, protocol: layer2, addresses: [10.0.0.0/24]}\n'.repeat(5 * 1024 * 1024 / 55)}`;
    assert.ok(text.length > 5_000_000);
    const r = parseConfig(text);
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0].message, /config is \d+ bytes; a ConfigMap holds at most 1048576 bytes/);
  });
  test('a config just under 1 MiB with 12,000 pools is parsed completely', () => {
    const lines: string[] = ['address-pools:'];
    for (let i = 0; i < 12000; i++) lines.push(`- {name: p${i}, protocol: layer2, addresses: [10.${i >> 8}.${i & 255}.0/24]}`);
    const r = parseConfig(lines.join('\n'));
    assert.deepEqual(r.problems, []);
    assert.equal(r.config?.pools.length, 12000);
  });
  test('overlap detection among 12,000 pools finds the one overlap', () => {
    const lines: string[] = ['address-pools:'];
    for (let i = 0; i < 12000; i++) lines.push(`- {name: p${i}, protocol: layer2, addresses: [10.${i >> 8}.${i & 255}.0/24]}`);
    lines.push('- {name: late, protocol: layer2, addresses: [10.20.30.128/25]}');
    const r = parseConfig(lines.join('\n'));
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0].message, /"10\.20\.30\.128\/25" in pool "late" overlaps with already defined CIDR "10\.20\.30\.0\/24" \(pool "p5150"/);
  });
  test('an alias bomb is refused, not expanded forever', () => {
    let doc = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 9; i++) doc += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
    const r = parseConfig(doc);
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0].message, /too many nodes/);
  });
  test('random bytes never crash the parser', async () => {
    const fc = (await import('fast-check')).default;
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => {
      const r = parseConfig(s);
      assert.ok(Array.isArray(r.problems));
      assert.ok(r.config !== undefined || r.problems.length > 0);
    }), { numRuns: 3000 });
  });
  test('random YAML-ish mutations of a valid config never crash the parser', async () => {
    const fc = (await import('fast-check')).default;
    const base = 'peers:\n- my-asn: 64512\n  peer-asn: 64513\n  peer-address: 192.0.2.1\n  hold-time: 90s\n  node-selectors:\n  - match-labels: {a: b}\naddress-pools:\n- name: p\n  protocol: bgp\n  addresses: [10.0.0.0/24, "10.1.0.1-10.1.0.9"]\n  bgp-advertisements:\n  - {aggregation-length: 30, communities: ["1:2"]}\n';
    fc.assert(fc.property(fc.integer({ min: 0, max: base.length - 1 }), fc.integer({ min: 0, max: 20 }), fc.string({ maxLength: 8 }), (at, del, ins) => {
      const text = base.slice(0, at) + ins + base.slice(at + del);
      const r = parseConfig(text);
      assert.ok(r.config !== undefined || r.problems.length > 0);
    }), { numRuns: 3000 });
  });
});
