// The Adj-RIB-Out alone (lib/bgp/rib.ts): full set then End-of-RIB on attach, only differences
// afterwards, withdrawals, rejected routes, route refresh, pacing in event-loop turns, and
// nothing written once the connection is gone. Turns are stepped by hand; UPDATEs are decoded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CIDR, IPAddress, mustParseCIDR, mustParseIP } from '../../../lib/ip/index.js';
import { decodeMessage, MessageFramer, type UpdateMessage } from '../../../lib/bgp/codec.js';
import type { Route } from '../../../lib/bgp/advertisement.js';
import { AdjRibOut, DIFF_CHUNK, type RibTarget } from '../../../lib/bgp/rib.js';
import { silentLogger } from '../../../lib/util/log.js';

const NH = mustParseIP('198.51.100.1');

function rig(families: (4 | 6)[] = [4]) {
  const turns: (() => void)[] = [];
  const written: UpdateMessage[] = [];
  const rejected: [string, string][] = [];
  let live = true;
  const rib = new AdjRibOut({ myASN: 64512, peerASN: 64500, log: silentLogger(), rejected: (p, r) => rejected.push([p, r]), defer: (fn) => turns.push(fn) });
  const framer = new MessageFramer();
  const target: RibTarget = {
    families: new Set(families), fourOctetAS: true, live: () => live,
    nextHop: (r) => (r.prefix.family === 4 ? NH : 'no IPv6 next hop'),
    write: (bytes) => { for (const raw of framer.push(bytes)) written.push(decodeMessage(raw, { fourOctetAS: true }) as UpdateMessage); },
  };
  /** Runs event-loop turns until none is left; returns how many ran. */
  const run = (): number => {
    let n = 0;
    while (turns.length > 0) { turns.shift()!(); n++; }
    return n;
  };
  return { rib, target, written, rejected, run, turns, kill: () => { live = false; } };
}

const route = (p: string, localPref = 0): Route => ({ prefix: mustParseCIDR(p), communities: [], localPref });
const routes = (...rs: Route[]) => new Map(rs.map((r) => [r.prefix.toString(), r]));
const nlri = (ms: UpdateMessage[]) => ms.flatMap((m) => m.nlri.map(String));
const withdrawn = (ms: UpdateMessage[]) => ms.flatMap((m) => m.withdrawn.map(String));
const isEoR = (m: UpdateMessage) => m.nlri.length === 0 && m.withdrawn.length === 0 && m.attributes.length === 0;

test('attach: the full desired set, then End-of-RIB; nothing is sent before attach', () => {
  const { rib, target, written, run } = rig();
  rib.setDesired(routes(route('203.0.113.1/32'), route('203.0.113.2/32')));
  run();
  assert.equal(written.length, 0);
  assert.equal(rib.pending, 2);
  rib.attach(target);
  run();
  assert.deepEqual(nlri(written), ['203.0.113.1/32', '203.0.113.2/32']);
  assert.ok(isEoR(written.at(-1)!), 'End-of-RIB last');
  assert.equal(rib.announced, 2);
  assert.ok(rib.stats.updatesSent >= 2);
});

test('later changes send only the difference: new and changed routes announced, vanished ones withdrawn', () => {
  const { rib, target, written, run } = rig();
  rib.attach(target);
  rib.setDesired(routes(route('203.0.113.1/32'), route('203.0.113.2/32')));
  run();
  written.length = 0;
  rib.setDesired(routes(route('203.0.113.2/32', 200), route('203.0.113.3/32')));
  run();
  assert.deepEqual(nlri(written).sort(), ['203.0.113.2/32', '203.0.113.3/32']);
  assert.deepEqual(withdrawn(written), ['203.0.113.1/32']);
  written.length = 0;
  rib.setDesired(routes(route('203.0.113.2/32', 200), route('203.0.113.3/32')));
  run();
  assert.equal(written.length, 0, 'the same set again sends nothing');
});

test('rejected routes are reported once per reason and never sent; a route becoming unsendable is withdrawn', () => {
  const { rib, target, written, rejected, run } = rig([4]);
  rib.attach(target);
  rib.setDesired(routes(route('203.0.113.1/32'), route('2001:db8::1/128')));
  run();
  assert.deepEqual(rejected, [['2001:db8::1/128', 'no IPv6 next hop']]);
  assert.deepEqual([...rib.rejected.keys()], ['2001:db8::1/128']);
  assert.deepEqual(nlri(written), ['203.0.113.1/32']);
  rib.setDesired(routes(route('203.0.113.1/32'), route('2001:db8::1/128')));
  run();
  assert.equal(rejected.length, 1, 'the same reason is not reported again');
  written.length = 0;
  const many = { ...route('203.0.113.1/32'), communities: Array.from({ length: 901 }, (_, i) => i) };
  rib.setDesired(routes(many));
  run();
  assert.deepEqual(withdrawn(written), ['203.0.113.1/32']);
  assert.match(rib.rejected.get('203.0.113.1/32') ?? '', /more than 900 communities/);
});

test('pacing: a large set is compared DIFF_CHUNK prefixes per turn and written a few UPDATEs per turn', () => {
  const { rib, target, written, run, turns } = rig();
  const n = 10_000;
  const start = mustParseIP('10.0.0.0').value;
  const big = Array.from({ length: n }, (_, i) => ({ prefix: CIDR.of(IPAddress.of(4, start + BigInt(i)), 32), communities: [], localPref: 0 }));
  rib.setDesired(routes(...big));
  rib.attach(target);
  assert.equal(written.length, 0, 'nothing is written in the same turn');
  assert.ok(turns.length >= 1);
  const ran = run();
  assert.ok(ran >= Math.ceil(n / DIFF_CHUNK), `${ran} turns`);
  assert.equal(new Set(nlri(written)).size, n);
  assert.equal(nlri(written).length, n, 'every prefix exactly once');
});

test('a new desired set mid-diff restarts against what was sent so far', () => {
  const { rib, target, written, turns } = rig();
  const start = mustParseIP('10.0.0.0').value;
  const big = Array.from({ length: 3 * DIFF_CHUNK }, (_, i) => ({ prefix: CIDR.of(IPAddress.of(4, start + BigInt(i)), 32), communities: [], localPref: 0 }));
  rib.attach(target);
  rib.setDesired(routes(...big));
  turns.shift()!();
  rib.setDesired(routes(route('203.0.113.9/32')));
  while (turns.length > 0) turns.shift()!();
  assert.equal(rib.announced, 1);
  const announcedNow = new Set(nlri(written));
  const withdrawnNow = new Set(withdrawn(written));
  for (const p of announcedNow) if (p !== '203.0.113.9/32') assert.ok(withdrawnNow.has(p), `${p} announced and then withdrawn`);
});

test('route refresh re-sends the family; detach forgets what the peer held; a dead target gets nothing', () => {
  const { rib, target, written, run, kill } = rig();
  rib.attach(target);
  rib.setDesired(routes(route('203.0.113.1/32')));
  run();
  written.length = 0;
  rib.refresh(4);
  run();
  assert.deepEqual(nlri(written), ['203.0.113.1/32']);
  rib.detach();
  assert.equal(rib.announced, 0);
  written.length = 0;
  rib.attach(target);
  kill();
  rib.setDesired(routes(route('203.0.113.2/32')));
  run();
  rib.flush();
  assert.equal(written.length, 0);
});

test('flush writes the diff in progress and the queue at once (before a Cease)', () => {
  const { rib, target, written, turns } = rig();
  rib.attach(target);
  rib.setDesired(routes(route('203.0.113.1/32'), route('203.0.113.2/32')));
  assert.equal(written.length, 0);
  rib.flush();
  assert.deepEqual(nlri(written), ['203.0.113.1/32', '203.0.113.2/32']);
  turns.length = 0;
});
