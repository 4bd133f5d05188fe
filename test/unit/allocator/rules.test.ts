// docs/behaviour/allocation.md as tables of scenarios, run against the Allocator and the linear-scan reference.

import { describe, test } from 'node:test';
import { config, pool } from './helpers.js';
import { implementations, runScenario, type Scenario } from './scenario.js';

const v4 = (name = 'p', opts = {}) => pool(name, ['192.0.2.0/24'], opts);
const tiny = (name = 'p', opts = {}) => pool(name, ['192.0.2.0/30'], opts);

// ---------------------------------------------------------------- docs/behaviour/allocation.md#sharing sharing
const sharing: Scenario[] = [
  {
    name: 'existing service does not allow sharing',
    steps: [
      { config: config(tiny()) },
      { assign: 'ns/a', ips: ['192.0.2.1'] },
      {
        assign: 'ns/b',
        svc: { share: 'k', ports: ['TCP/443'] },
        ips: ['192.0.2.1'],
        fail: { kind: 'sharing', reason: 'existing-no-sharing', message: `can't change sharing key for "ns/b", address also in use by ns/a` },
      },
    ],
  },
  {
    name: 'new service does not allow sharing',
    steps: [
      { config: config(tiny()) },
      { assign: 'ns/a', svc: { share: 'k' }, ips: ['192.0.2.1'] },
      { assign: 'ns/b', svc: { ports: ['TCP/443'] }, ips: ['192.0.2.1'], fail: { kind: 'sharing', reason: 'new-no-sharing' } },
    ],
  },
  {
    name: 'sharing keys differ',
    steps: [
      { config: config(tiny()) },
      { assign: 'ns/a', svc: { share: 'k' }, ips: ['192.0.2.1'] },
      { assign: 'ns/b', svc: { share: 'other', ports: ['TCP/443'] }, ips: ['192.0.2.1'], fail: { kind: 'sharing', reason: 'sharing-key-mismatch' } },
    ],
  },
  {
    name: 'backend keys differ (Local, different selectors)',
    steps: [
      { config: config(tiny()) },
      { assign: 'ns/a', svc: { share: 'k', local: { app: 'a' } }, ips: ['192.0.2.1'] },
      { assign: 'ns/b', svc: { share: 'k', local: { app: 'b' }, ports: ['TCP/443'] }, ips: ['192.0.2.1'], fail: { kind: 'sharing', reason: 'backend-key-mismatch' } },
    ],
  },
  {
    name: 'backend keys differ (Local vs Cluster)',
    steps: [
      { config: config(tiny()) },
      { assign: 'ns/a', svc: { share: 'k', local: { app: 'a' } }, ips: ['192.0.2.1'] },
      { assign: 'ns/b', svc: { share: 'k', ports: ['TCP/443'] }, ips: ['192.0.2.1'], fail: { kind: 'sharing', reason: 'backend-key-mismatch' } },
    ],
  },
  {
    name: 'Local with the same selector shares',
    steps: [
      { config: config(tiny()) },
      { assign: 'ns/a', svc: { share: 'k', local: { app: 'a', t: '1' } }, ips: ['192.0.2.1'] },
      { assign: 'ns/b', svc: { share: 'k', local: { t: '1', app: 'a' }, ports: ['TCP/443'] }, ips: ['192.0.2.1'], want: ['192.0.2.1'] },
      { usage: 'p', inUse: 1, services: 2 },
    ],
  },
  {
    name: 'Local with an empty selector shares with Cluster [quirk]',
    steps: [
      { config: config(tiny()) },
      { assign: 'ns/a', svc: { share: 'k', local: {} }, ips: ['192.0.2.1'] },
      { assign: 'ns/b', svc: { share: 'k', ports: ['TCP/443'] }, ips: ['192.0.2.1'], want: ['192.0.2.1'] },
    ],
  },
  {
    name: 'port already in use',
    steps: [
      { config: config(tiny()) },
      { assign: 'ns/a', svc: { share: 'k', ports: ['TCP/80', 'TCP/443'] }, ips: ['192.0.2.1'] },
      { assign: 'ns/b', svc: { share: 'k', ports: ['UDP/53', 'TCP/443'] }, ips: ['192.0.2.1'], fail: { kind: 'port-in-use', message: 'port TCP/443 is already in use on "192.0.2.1"' } },
    ],
  },
  {
    name: 'TCP/80 and UDP/80 are different ports',
    steps: [
      { config: config(tiny()) },
      { assign: 'ns/a', svc: { share: 'k', ports: ['TCP/80'] }, ips: ['192.0.2.1'] },
      { assign: 'ns/b', svc: { share: 'k', ports: ['UDP/80'] }, ips: ['192.0.2.1'], want: ['192.0.2.1'] },
      { assign: 'ns/c', svc: { share: 'k', ports: ['SCTP/80'] }, ips: ['192.0.2.1'], want: ['192.0.2.1'] },
      { usage: 'p', inUse: 1, services: 3 },
    ],
  },
  {
    name: 'a service with no ports never conflicts on ports',
    steps: [
      { config: config(tiny()) },
      { assign: 'ns/a', svc: { share: 'k', ports: ['TCP/80'] }, ips: ['192.0.2.1'] },
      { assign: 'ns/b', svc: { share: 'k', ports: [] }, ips: ['192.0.2.1'], want: ['192.0.2.1'] },
      { assign: 'ns/c', svc: { share: 'k', ports: ['UDP/80'] }, ips: ['192.0.2.1'], want: ['192.0.2.1'] },
    ],
  },
  {
    name: 'only user may change its keys in place; others then need the new key',
    steps: [
      { config: config(tiny()) },
      { assign: 'ns/a', svc: { share: 'old' }, ips: ['192.0.2.1'] },
      { assign: 'ns/a', svc: { share: 'new' }, ips: ['192.0.2.1'], want: ['192.0.2.1'] },
      { assign: 'ns/b', svc: { share: 'old', ports: ['UDP/53'] }, ips: ['192.0.2.1'], fail: { kind: 'sharing', reason: 'sharing-key-mismatch' } },
      { assign: 'ns/b', svc: { share: 'new', ports: ['UDP/53'] }, ips: ['192.0.2.1'], want: ['192.0.2.1'] },
    ],
  },
  {
    name: 'only user may drop sharing in place',
    steps: [
      { config: config(tiny()) },
      { assign: 'ns/a', svc: { share: 'k' }, ips: ['192.0.2.1'] },
      { alloc: 'ns/a', svc: {}, want: ['192.0.2.1'], changed: false },
      { assign: 'ns/b', svc: { share: 'k', ports: ['UDP/53'] }, ips: ['192.0.2.1'], fail: { kind: 'sharing', reason: 'existing-no-sharing' } },
    ],
  },
  {
    name: 'a shared user cannot change its key',
    steps: [
      { config: config(tiny()) },
      { assign: 'ns/a', svc: { share: 'k' }, ips: ['192.0.2.1'] },
      { assign: 'ns/b', svc: { share: 'k', ports: ['UDP/53'] }, ips: ['192.0.2.1'] },
      {
        alloc: 'ns/a',
        svc: { share: 'k2' },
        fail: { kind: 'sharing', reason: 'sharing-key-mismatch', message: `can't change sharing key for "ns/a", address also in use by ns/b` },
      },
      { holds: 'ns/a', want: ['192.0.2.1'] },
    ],
  },
  {
    name: 'a shared user cannot take a port another user holds',
    steps: [
      { config: config(tiny()) },
      { assign: 'ns/a', svc: { share: 'k', ports: ['TCP/80'] }, ips: ['192.0.2.1'] },
      { assign: 'ns/b', svc: { share: 'k', ports: ['UDP/53'] }, ips: ['192.0.2.1'] },
      { alloc: 'ns/b', svc: { share: 'k', ports: ['UDP/53', 'TCP/80'] }, fail: { kind: 'port-in-use' } },
      { alloc: 'ns/b', svc: { share: 'k', ports: ['UDP/53', 'TCP/81'] }, want: ['192.0.2.1'], changed: false },
    ],
  },
];

// ---------------------------------------------------------------- docs/behaviour/allocation.md#choosing choosing the address
const choosing: Scenario[] = [
  {
    name: 'lowest free address first, network address included [docs/behaviour/quirks.md#q2]',
    steps: [
      { config: config(v4()) },
      { alloc: 'ns/a', want: ['192.0.2.0'], pool: 'p', changed: true },
      { alloc: 'ns/b', want: ['192.0.2.1'] },
      { alloc: 'ns/c', want: ['192.0.2.2'] },
    ],
  },
  {
    name: 'CIDRs walked in config order, not numeric order',
    steps: [
      { config: config(pool('p', ['198.51.100.8/31', '192.0.2.0/30'])) },
      { alloc: 'ns/a', want: ['198.51.100.8'] },
      { alloc: 'ns/b', want: ['198.51.100.9'] },
      { alloc: 'ns/c', want: ['192.0.2.0'] },
    ],
  },
  {
    name: 'ranges expanded in place, ascending',
    steps: [
      { config: config(pool('p', ['192.0.2.250-192.0.2.251', '192.0.2.200-192.0.2.202'])) },
      { alloc: 'ns/a', want: ['192.0.2.250'] },
      { alloc: 'ns/b', want: ['192.0.2.251'] },
      { alloc: 'ns/c', want: ['192.0.2.200'] },
      { alloc: 'ns/d', want: ['192.0.2.201'] },
      { alloc: 'ns/e', want: ['192.0.2.202'] },
      { alloc: 'ns/f', fail: { kind: 'no-available-ips', message: 'no available IPs' } },
    ],
  },
  {
    name: 'auto-assign pools in config order; the next when the first is full [docs/behaviour/quirks.md#q1]',
    steps: [
      { config: config(pool('first', ['192.0.2.0/31']), pool('second', ['198.51.100.0/31'])) },
      { alloc: 'ns/a', want: ['192.0.2.0'], pool: 'first' },
      { alloc: 'ns/b', want: ['192.0.2.1'], pool: 'first' },
      { alloc: 'ns/c', want: ['198.51.100.0'], pool: 'second' },
      { release: 'ns/a' },
      { alloc: 'ns/d', want: ['192.0.2.0'], pool: 'first' },
    ],
  },
  {
    name: 'auto-assign: false pools only on request',
    steps: [
      { config: config(pool('manual', ['192.0.2.0/31'], { autoAssign: false }), pool('auto', ['198.51.100.0/31'])) },
      { alloc: 'ns/a', want: ['198.51.100.0'], pool: 'auto' },
      { alloc: 'ns/b', svc: { pool: 'manual' }, want: ['192.0.2.0'], pool: 'manual' },
      { alloc: 'ns/c', svc: { lbIP: '192.0.2.1' }, want: ['192.0.2.1'], pool: 'manual' },
      { alloc: 'ns/d', want: ['198.51.100.1'] },
      { alloc: 'ns/e', fail: { kind: 'no-available-ips', message: 'no available IPs' } },
    ],
  },
  {
    name: 'pool annotation: that pool only, even when others have room',
    steps: [
      { config: config(pool('a', ['192.0.2.0/31']), pool('b', ['198.51.100.0/32'])) },
      { alloc: 'ns/x', svc: { pool: 'b' }, want: ['198.51.100.0'], pool: 'b' },
      { alloc: 'ns/y', svc: { pool: 'b' }, fail: { kind: 'no-available-ips', message: 'no available IPs in pool "b" for ipv4 IPFamily' } },
      { alloc: 'ns/z', svc: { pool: 'nope' }, fail: { kind: 'unknown-pool', message: 'unknown pool "nope"' } },
    ],
  },
  {
    name: 'exhaustion of a pool, then space freed by a release',
    steps: [
      { config: config(tiny()) },
      { alloc: 'ns/a' },
      { alloc: 'ns/b' },
      { alloc: 'ns/c' },
      { alloc: 'ns/d', want: ['192.0.2.3'] },
      { alloc: 'ns/e', fail: { kind: 'no-available-ips', message: 'no available IPs' } },
      { alloc: 'ns/e', svc: { pool: 'p' }, fail: { kind: 'no-available-ips', message: 'no available IPs in pool "p" for ipv4 IPFamily' } },
      { release: 'ns/b' },
      { alloc: 'ns/e', want: ['192.0.2.1'] },
      { usage: 'p', inUse: 4, services: 4, total: 4n },
    ],
  },
  {
    name: 'IPv6 pool for an IPv6 service; IPv4 service skips IPv6 CIDRs',
    steps: [
      { config: config(pool('p', ['2001:db8::/126', '192.0.2.8/31'])) },
      { alloc: 'ns/a', svc: { family: 'ipv6' }, want: ['2001:db8::'] },
      { alloc: 'ns/b', svc: { family: 'ipv4' }, want: ['192.0.2.8'] },
      { alloc: 'ns/c', svc: { family: 'ipv6' }, want: ['2001:db8::1'] },
    ],
  },
  {
    name: 'a sharing service packs onto the first compatible in-use address before a free one',
    steps: [
      { config: config(v4()) },
      { alloc: 'ns/a', svc: { share: 'dns', ports: ['TCP/53'] }, want: ['192.0.2.0'] },
      { alloc: 'ns/b', want: ['192.0.2.1'] },
      { alloc: 'ns/c', svc: { share: 'dns', ports: ['UDP/53'] }, want: ['192.0.2.0'] },
      { alloc: 'ns/d', svc: { share: 'dns', ports: ['UDP/53'] }, want: ['192.0.2.2'] },
      { alloc: 'ns/e', svc: { share: 'dns', ports: ['TCP/53'] }, want: ['192.0.2.2'] },
      { alloc: 'ns/f', svc: { share: 'dns', ports: ['TCP/53'] }, want: ['192.0.2.3'] },
      { alloc: 'ns/g', svc: { share: 'web', ports: ['TCP/53'] }, want: ['192.0.2.4'] },
      { usage: 'p', inUse: 5, services: 7 },
      { release: 'ns/a' },
      { alloc: 'ns/h', svc: { share: 'dns', ports: ['TCP/53'] }, want: ['192.0.2.0'] },
    ],
  },
  {
    name: 'a free address earlier in the walk beats a compatible in-use one later',
    steps: [
      { config: config(v4()) },
      { alloc: 'ns/a', want: ['192.0.2.0'] },
      { alloc: 'ns/b', svc: { share: 'k', ports: ['TCP/1'] }, want: ['192.0.2.1'] },
      { release: 'ns/a' },
      { alloc: 'ns/c', svc: { share: 'k', ports: ['TCP/2'] }, want: ['192.0.2.0'] },
    ],
  },
  {
    name: 'requested IP: exactly that one; pool annotation not consulted',
    steps: [
      { config: config(pool('a', ['192.0.2.0/24']), pool('b', ['198.51.100.0/24'])) },
      { alloc: 'ns/a', svc: { lbIP: '198.51.100.77', pool: 'a' }, want: ['198.51.100.77'], pool: 'b' },
      { alloc: 'ns/b', svc: { lbIP: '203.0.113.7' }, fail: { kind: 'not-allowed', message: '["203.0.113.7"] is not allowed in config' } },
      { alloc: 'ns/c', svc: { lbIP: '198.51.100.77' }, fail: { kind: 'sharing', reason: 'existing-no-sharing' } },
      { alloc: 'ns/d', svc: { lbIP: '2001:db8::1' }, fail: { kind: 'family-mismatch', message: 'requested loadBalancer IP(s) ["2001:db8::1"] does not match the ipFamily of the service' } },
    ],
  },
  {
    name: 'requested IPs that are unparsable or conflicting surface as request errors',
    steps: [
      { config: config(v4()) },
      { alloc: 'ns/a', svc: { lbIP: '192.0.2.1', lbIPs: '192.0.2.1' }, fail: { kind: 'invalid-request', message: /can not have both/ } },
      { alloc: 'ns/a', svc: { lbIPs: 'x' }, fail: { kind: 'invalid-request', message: /invalid metallb.universe.tf\/loadBalancerIPs: "x"/ } },
      { alloc: 'ns/a', svc: { clusterIPs: ['None'] }, fail: { kind: 'invalid-request', message: /invalid cluster IP/ } },
      { holds: 'ns/a', want: undefined },
    ],
  },
  {
    name: 'requested IPs may move a service to another address',
    steps: [
      { config: config(v4()) },
      { alloc: 'ns/a', want: ['192.0.2.0'] },
      { alloc: 'ns/a', svc: { lbIP: '192.0.2.9' }, want: ['192.0.2.9'], changed: true },
      { alloc: 'ns/b', want: ['192.0.2.0'] },
      { usage: 'p', inUse: 2, services: 2 },
    ],
  },
  {
    name: 'an allocated service re-asserts its addresses (new ports/keys), whatever the pool annotation says',
    steps: [
      { config: config(pool('a', ['192.0.2.0/30']), pool('b', ['198.51.100.0/30'])) },
      { alloc: 'ns/a', want: ['192.0.2.0'], pool: 'a' },
      { alloc: 'ns/a', svc: { pool: 'b', ports: ['TCP/443'] }, want: ['192.0.2.0'], pool: 'a', changed: false },
      { alloc: 'ns/a', svc: { family: 'ipv6' }, fail: { kind: 'family-mismatch', message: 'IP for wrong family assigned ["192.0.2.0"]' } },
    ],
  },
  {
    name: 'explicit IPs must all lie in one pool',
    steps: [
      { config: config(pool('a', ['192.0.2.0/30']), pool('b', ['2001:db8::/126'])) },
      { assign: 'ns/a', svc: { family: 'dual' }, ips: ['192.0.2.1', '2001:db8::1'], fail: { kind: 'not-allowed', message: '["192.0.2.1" "2001:db8::1"] is not allowed in config' } },
      { assign: 'ns/a', svc: { family: 'ipv4' }, ips: ['192.0.2.1', '192.0.2.2'], fail: { kind: 'invalid-ips', message: /same address family/ } },
      { assign: 'ns/a', svc: { family: 'ipv4' }, ips: [], fail: { kind: 'invalid-ips', message: /invalid ips length 0/ } },
      { assign: 'ns/a', svc: { family: 'ipv4' }, ips: ['192.0.2.4'], fail: { kind: 'not-allowed' } },
    ],
  },
  {
    name: 'a failed re-assert leaves the old allocation in place',
    steps: [
      { config: config(tiny()) },
      { assign: 'ns/a', ips: ['192.0.2.1'] },
      { assign: 'ns/b', ips: ['192.0.2.2'] },
      { assign: 'ns/b', ips: ['192.0.2.1'], fail: { kind: 'sharing' } },
      { holds: 'ns/b', want: ['192.0.2.2'], pool: 'p' },
      { usage: 'p', inUse: 2, services: 2 },
    ],
  },
  {
    name: 'nothing before a config is loaded',
    steps: [{ alloc: 'ns/a', fail: { kind: 'no-config' } }, { assign: 'ns/a', ips: ['192.0.2.1'], fail: { kind: 'no-config' } }],
  },
];

// ---------------------------------------------------------------- docs/behaviour/allocation.md#avoid-buggy-ips avoid-buggy-ips
const buggy: Scenario[] = [
  {
    name: 'never .0 or .255, also not on request',
    steps: [
      { config: config(pool('p', ['192.0.2.0/24'], { avoidBuggyIPs: true })) },
      { alloc: 'ns/a', want: ['192.0.2.1'] },
      { assign: 'ns/b', ips: ['192.0.2.0'], fail: { kind: 'not-allowed', message: '["192.0.2.0"] is not allowed in config' } },
      { assign: 'ns/b', ips: ['192.0.2.255'], fail: { kind: 'not-allowed' } },
      { assign: 'ns/b', ips: ['192.0.2.254'], want: ['192.0.2.254'] },
      { usage: 'p', inUse: 2, services: 2, total: 254n },
    ],
  },
  {
    name: 'the walk steps over .255 and .0 between /24s',
    steps: [
      { config: config(pool('p', ['198.51.100.254-198.51.101.1'], { avoidBuggyIPs: true })) },
      { alloc: 'ns/a', want: ['198.51.100.254'] },
      { alloc: 'ns/b', want: ['198.51.101.1'] },
      { alloc: 'ns/c', fail: { kind: 'no-available-ips' } },
      { usage: 'p', inUse: 2, services: 2, total: 2n },
    ],
  },
  {
    name: 'a /32 on .0 with avoid-buggy-ips holds nothing',
    steps: [
      { config: config(pool('p', ['192.0.2.0/32'], { avoidBuggyIPs: true }), pool('q', ['192.0.2.1/32'])) },
      { alloc: 'ns/a', want: ['192.0.2.1'], pool: 'q' },
      { alloc: 'ns/b', fail: { kind: 'no-available-ips' } },
    ],
  },
  {
    name: 'IPv6 unaffected',
    steps: [
      { config: config(pool('p', ['2001:db8::/120'], { avoidBuggyIPs: true })) },
      { alloc: 'ns/a', svc: { family: 'ipv6' }, want: ['2001:db8::'] },
      { assign: 'ns/b', svc: { family: 'ipv6' }, ips: ['2001:db8::ff'], want: ['2001:db8::ff'] },
    ],
  },
  {
    name: 'turning it on while .0 is in use is refused',
    steps: [
      { config: config(v4()) },
      { alloc: 'ns/a', want: ['192.0.2.0'] },
      { alloc: 'ns/b', want: ['192.0.2.1'] },
      {
        config: config(v4('p', { avoidBuggyIPs: true })),
        refused: 'new config not compatible with assigned IPs: service "ns/a" cannot own ["192.0.2.0"] under new config',
      },
      { release: 'ns/a' },
      { config: config(v4('p', { avoidBuggyIPs: true })) },
      { alloc: 'ns/c', want: ['192.0.2.2'] },
    ],
  },
];

// ---------------------------------------------------------------- docs/behaviour/allocation.md#config-changes configuration changes
const configChanges: Scenario[] = [
  {
    name: 'same config again keeps everything',
    steps: [
      { config: config(v4()) },
      { alloc: 'ns/a', want: ['192.0.2.0'] },
      { alloc: 'ns/b', want: ['192.0.2.1'] },
      { config: config(v4()), removed: [] },
      { holds: 'ns/a', want: ['192.0.2.0'], pool: 'p' },
      { alloc: 'ns/c', want: ['192.0.2.2'] },
      { usage: 'p', inUse: 3, services: 3 },
    ],
  },
  {
    name: 'renamed pool: allocations re-attributed, old pool reported removed',
    steps: [
      { config: config(v4('old')) },
      { alloc: 'ns/a', want: ['192.0.2.0'], pool: 'old' },
      { config: config(v4('new')), removed: ['old'] },
      { holds: 'ns/a', want: ['192.0.2.0'], pool: 'new' },
      { usage: 'new', inUse: 1, services: 1 },
    ],
  },
  {
    name: 'split pool: each allocation follows its address',
    steps: [
      { config: config(v4()) },
      { assign: 'ns/a', ips: ['192.0.2.10'] },
      { assign: 'ns/b', ips: ['192.0.2.200'] },
      { config: config(pool('low', ['192.0.2.0/25']), pool('high', ['192.0.2.128/25'])), removed: ['p'] },
      { holds: 'ns/a', want: ['192.0.2.10'], pool: 'low' },
      { holds: 'ns/b', want: ['192.0.2.200'], pool: 'high' },
      { usage: 'low', inUse: 1, services: 1 },
      { usage: 'high', inUse: 1, services: 1 },
      { alloc: 'ns/c', want: ['192.0.2.0'], pool: 'low' },
    ],
  },
  {
    name: 'grown pool keeps allocations and continues the walk',
    steps: [
      { config: config(pool('p', ['192.0.2.0/31'])) },
      { alloc: 'ns/a' },
      { alloc: 'ns/b' },
      { alloc: 'ns/c', fail: { kind: 'no-available-ips' } },
      { config: config(pool('p', ['192.0.2.0/31', '198.51.100.0/31'])) },
      { alloc: 'ns/c', want: ['198.51.100.0'] },
    ],
  },
  {
    name: 'removing an address in use is refused; the old config stays in force',
    steps: [
      { config: config(pool('p', ['192.0.2.0/31']), pool('q', ['198.51.100.0/31'])) },
      { alloc: 'ns/a', svc: { pool: 'q' }, want: ['198.51.100.0'] },
      {
        config: config(pool('p', ['192.0.2.0/31'])),
        refused: 'new config not compatible with assigned IPs: service "ns/a" cannot own ["198.51.100.0"] under new config',
      },
      { alloc: 'ns/b', svc: { pool: 'q' }, want: ['198.51.100.1'], pool: 'q' },
      { release: 'ns/a' },
      { release: 'ns/b' },
      { config: config(pool('p', ['192.0.2.0/31'])), removed: ['q'] },
      { alloc: 'ns/c', svc: { pool: 'q' }, fail: { kind: 'unknown-pool' } },
    ],
  },
  {
    name: 'a dual-stack allocation split over two pools is refused',
    steps: [
      { config: config(pool('p', ['192.0.2.0/30', '2001:db8::/126'])) },
      { alloc: 'ns/a', svc: { family: 'dual' }, want: ['192.0.2.0', '2001:db8::'] },
      { config: config(pool('v4', ['192.0.2.0/30']), pool('v6', ['2001:db8::/126'])), refused: /service "ns\/a" cannot own \["192.0.2.0" "2001:db8::"\]/ },
      { holds: 'ns/a', want: ['192.0.2.0', '2001:db8::'], pool: 'p' },
    ],
  },
  {
    name: 'merging two pools keeps a dual-stack allocation that spanned one of them',
    steps: [
      { config: config(pool('a', ['192.0.2.0/29']), pool('b', ['192.0.2.8/29', '2001:db8::/125'])) },
      { alloc: 'ns/a', svc: { family: 'dual' }, want: ['192.0.2.8', '2001:db8::'], pool: 'b' },
      { alloc: 'ns/b', want: ['192.0.2.0'], pool: 'a' },
      { config: config(pool('m', ['192.0.2.0/29', '192.0.2.8/29', '2001:db8::/125'])), removed: ['a', 'b'] },
      { holds: 'ns/a', want: ['192.0.2.8', '2001:db8::'], pool: 'm' },
      { holds: 'ns/b', want: ['192.0.2.0'], pool: 'm' },
      { usage: 'm', inUse: 3, services: 2 },
      { alloc: 'ns/c', want: ['192.0.2.1'], pool: 'm' },
      { alloc: 'ns/d', svc: { family: 'dual' }, want: ['192.0.2.2', '2001:db8::1'], pool: 'm' },
    ],
  },
  {
    name: 'shared addresses move as one',
    steps: [
      { config: config(v4()) },
      { alloc: 'ns/a', svc: { share: 'k', ports: ['TCP/1'] }, want: ['192.0.2.0'] },
      { alloc: 'ns/b', svc: { share: 'k', ports: ['TCP/2'] }, want: ['192.0.2.0'] },
      { config: config(v4('renamed')) },
      { usage: 'renamed', inUse: 1, services: 2 },
      { alloc: 'ns/c', svc: { share: 'k', ports: ['TCP/3'] }, want: ['192.0.2.0'] },
      { alloc: 'ns/d', want: ['192.0.2.1'] },
    ],
  },
];

// ---------------------------------------------------------------- docs/behaviour/allocation.md#dual-stack dual-stack
const dual: Scenario[] = [
  {
    name: 'IPv4 CIDR first in the pool: IPv4 first',
    steps: [
      { config: config(pool('p', ['192.0.2.0/30', '2001:db8::/126'])) },
      { alloc: 'ns/a', svc: { family: 'dual' }, want: ['192.0.2.0', '2001:db8::'] },
      { alloc: 'ns/b', svc: { family: 'dual' }, want: ['192.0.2.1', '2001:db8::1'] },
      { usage: 'p', inUse: 4, services: 2 },
    ],
  },
  {
    name: 'IPv6 CIDR first: IPv6 first',
    steps: [
      { config: config(pool('p', ['2001:db8::/126', '192.0.2.0/30'])) },
      { alloc: 'ns/a', svc: { family: 'dual' }, want: ['2001:db8::', '192.0.2.0'] },
    ],
  },
  {
    name: 'order follows the CIDR the address came from',
    steps: [
      { config: config(pool('p', ['192.0.2.0/32', '2001:db8::/126', '198.51.100.0/30'])) },
      { alloc: 'ns/a', svc: { family: 'dual' }, want: ['192.0.2.0', '2001:db8::'] },
      { alloc: 'ns/b', svc: { family: 'dual' }, want: ['2001:db8::1', '198.51.100.0'] },
    ],
  },
  {
    name: 'needs a pool with both families free; the first such auto-assign pool wins',
    steps: [
      { config: config(pool('v4only', ['192.0.2.0/30']), pool('both', ['198.51.100.0/30', '2001:db8::/126'])) },
      { alloc: 'ns/a', svc: { family: 'dual' }, want: ['198.51.100.0', '2001:db8::'], pool: 'both' },
      { alloc: 'ns/b', svc: { family: 'dual', pool: 'v4only' }, fail: { kind: 'no-available-ips', message: 'no available IPs in pool "v4only" for dual IPFamily' } },
    ],
  },
  {
    name: 'annotation order is kept',
    steps: [
      { config: config(pool('p', ['192.0.2.0/30', '2001:db8::/126'])) },
      { alloc: 'ns/a', svc: { family: 'dual', lbIPs: '2001:db8::2,192.0.2.2' }, want: ['2001:db8::2', '192.0.2.2'] },
      { holds: 'ns/a', want: ['2001:db8::2', '192.0.2.2'] },
    ],
  },
  {
    name: 'spec.loadBalancerIP on a dual-stack service fails',
    steps: [
      { config: config(pool('p', ['192.0.2.0/30', '2001:db8::/126'])) },
      { alloc: 'ns/a', svc: { family: 'dual', lbIP: '192.0.2.1' }, fail: { kind: 'family-mismatch' } },
      { alloc: 'ns/a', svc: { family: 'dual', lbIPs: '192.0.2.1,192.0.2.2' }, fail: { kind: 'invalid-request' } },
    ],
  },
  {
    name: 'each family of a dual-stack service shares independently',
    steps: [
      { config: config(pool('p', ['192.0.2.0/30', '2001:db8::/126'])) },
      { alloc: 'ns/v4', svc: { share: 'k', ports: ['TCP/1'] }, want: ['192.0.2.0'] },
      { alloc: 'ns/v6', svc: { family: 'ipv6', ports: ['TCP/2'] }, want: ['2001:db8::'] },
      { alloc: 'ns/d', svc: { family: 'dual', share: 'k', ports: ['TCP/3'] }, want: ['192.0.2.0', '2001:db8::1'] },
      { usage: 'p', inUse: 3, services: 3 },
    ],
  },
];

// ---------------------------------------------------------------- docs/behaviour/allocation.md#release release
const release: Scenario[] = [
  {
    name: 'an address is freed with its last user only',
    steps: [
      { config: config(tiny()) },
      { alloc: 'ns/a', svc: { share: 'k', ports: ['TCP/1'] }, want: ['192.0.2.0'] },
      { alloc: 'ns/b', svc: { share: 'k', ports: ['TCP/2'] }, want: ['192.0.2.0'] },
      { release: 'ns/a' },
      { usage: 'p', inUse: 1, services: 1 },
      { alloc: 'ns/c', want: ['192.0.2.1'] },
      { release: 'ns/b' },
      { usage: 'p', inUse: 1, services: 1 },
      { alloc: 'ns/d', want: ['192.0.2.0'] },
      { holds: 'ns/b', want: undefined },
      { release: 'ns/b', released: false },
    ],
  },
  {
    name: 'released sharing keys are forgotten with the address',
    steps: [
      { config: config(tiny()) },
      { assign: 'ns/a', svc: { share: 'k' }, ips: ['192.0.2.3'] },
      { release: 'ns/a' },
      { assign: 'ns/b', svc: {}, ips: ['192.0.2.3'], want: ['192.0.2.3'] },
    ],
  },
];

const groups: [string, Scenario[]][] = [
  ['docs/behaviour/allocation.md#sharing sharing', sharing],
  ['docs/behaviour/allocation.md#choosing choosing', choosing],
  ['docs/behaviour/allocation.md#avoid-buggy-ips avoid-buggy-ips', buggy],
  ['docs/behaviour/allocation.md#config-changes config changes', configChanges],
  ['docs/behaviour/allocation.md#dual-stack dual-stack', dual],
  ['docs/behaviour/allocation.md#release release', release],
];

for (const impl of implementations) {
  describe(impl.name, () => {
    for (const [group, scenarios] of groups) {
      for (const s of scenarios) {
        test(`${group}: ${s.name}`, () => runScenario(impl.make(), s));
      }
    }
  });
}
