// npm run bench -- bgp [--runs N] [--routes N]
//
// Figures for lib/bgp: advertise 10,000 /32 routes to FRR's bgpd and withdraw them again,
// with our BGPSession and, in the same run against the same bgpd, ExaBGP (Debian package) as the
// established reference implementation. Needs root (network namespaces) and FRR + ExaBGP installed
// (scripts/setup.sh).
//
// Per implementation and run, as FRR sees it (polling `show bgp summary json` every 10 ms):
//   announce_ms   from the neighbor being Established until FRR holds all N prefixes
//   withdraw_ms   from the withdraw request until FRR holds none (ExaBGP: fed through its API)
//   updates       UPDATE messages FRR received for the announcement (and our byte count)
//   cpu_ms        the speaker process's CPU time (user+sys, /proc) from its start until FRR holds
//                 all routes (Node/Python start-up and route parsing included), and ours for the
//                 session alone (connect, OPEN, diff, encode, write)
// The median over the runs is reported; ratio = reference / ours (above 1: ours is faster/cheaper).
// A second reference, GoBGP (Debian's gobgpd, a Go implementation): the routes are injected into its
// global RIB from an MRT TABLE_DUMP_V2 file (written here) before its neighbor is added, and
// withdrawn with `gobgp global rib del all`; same figures, same bgpd.
//
// Prefixes come from 198.18.0.0/15 (RFC 2544's benchmarking range): 10,000 /32s do not fit in the
// documentation ranges. They are only announced inside the namespaces; no traffic is sent to them.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { TestNetwork } from '../test/support/sandbox/netns.js';
import { FRR, SpeakerDriver, requireFRR, sleep, waitFor } from '../test/interop/bgp/harness.js';
import type { DriverRoute } from '../test/interop/bgp/speaker-driver.js';
import { existsSync } from 'node:fs';
import { FigureLog, median, type FigureInput } from './lib/figures.js';

const args = process.argv.slice(2);
const argNum = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const RUNS = argNum('--runs', 3);
const N = argNum('--routes', 10_000);
const ROUTER = '198.51.100.1';
const OURS = '198.51.100.11';
const EXA = '198.51.100.12';
const GOBGP = '198.51.100.13';
const CLK_TCK = 100;

function prefixes(n: number): string[] {
  const base = (198 << 24) | (18 << 16);
  return Array.from({ length: n }, (_, i) => {
    const v = (base + i) >>> 0;
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}/32`;
  });
}

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK; // utime, stime
}

interface Summary {
  state?: string;
  pfxRcd?: number;
  updatesRecv?: number;
}

function neighbor(frr: FRR, address: string): Summary {
  const s = frr.json<{ ipv4Unicast?: { peers?: Record<string, { state?: string; pfxRcd?: number }> } }>('show bgp summary');
  const p = s.ipv4Unicast?.peers?.[address];
  return { state: p?.state, pfxRcd: p?.pfxRcd };
}

function updatesReceived(frr: FRR, address: string): number {
  const n = frr.json<Record<string, { messageStats?: { updatesRecv?: number } }>>(`show bgp neighbor ${address}`);
  return n[address]?.messageStats?.updatesRecv ?? 0;
}

/** Polls FRR until `done`; returns the time (performance.now) the first answer that showed it arrived. */
async function pollUntil(what: string, frr: FRR, address: string, done: (s: Summary) => boolean, timeoutMs = 120_000): Promise<number> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const state = neighbor(frr, address);
    const t = performance.now();
    if (done(state)) return t;
    if (t > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

interface RunResult {
  announceMs: number;
  withdrawMs: number;
  updates: number;
  bytes?: number;
  /** CPU of the speaker process from its start until FRR holds every route (start-up and route parsing included). */
  cpuMs: number;
  /** Ours: CPU from the start command (connect, OPEN, diff, encode, write). ExaBGP: from FRR seeing Established. */
  cpuSessionMs: number;
  eventLoopP99Ms?: number;
  /** FRR's view of the RFC 8654 extended message capability for this neighbor. */
  extendedMessage: string;
}

function extendedMessage(frr: FRR, address: string): string {
  const n = frr.json<Record<string, { neighborCapabilities?: { extendedMessage?: string } }>>(`show bgp neighbor ${address}`);
  return n[address]?.neighborCapabilities?.extendedMessage ?? 'not negotiated';
}

async function runOurs(net: TestNetwork, frr: FRR, routes: DriverRoute[]): Promise<RunResult> {
  const d = new SpeakerDriver(net, 'node1');
  try {
    await d.waitEvent('ready');
    const pid = (d as unknown as { proc: { pid: number } }).proc.pid;
    const updatesBefore = updatesReceived(frr, OURS);
    d.setRoutes(routes);
    await d.stats();
    // the event-loop monitor records the stall of parsing the 10k routes of `set` only on its next
    // sample; let that happen, then reset it, so the figure covers the session's own work
    await sleep(200);
    await d.stats();
    const cpu0 = cpuMs(pid);
    d.start({ peerAddress: ROUTER, peerASN: 64500, myASN: 64512, holdTimeSeconds: 90 });
    const tEst = await pollUntil('ours Established', frr, OURS, (s) => s.state === 'Established');
    const cpuEst = cpuMs(pid);
    const tAll = await pollUntil('ours all prefixes', frr, OURS, (s) => s.pfxRcd === routes.length);
    const cpu1 = cpuMs(pid);
    const st = await d.stats();
    const updates = updatesReceived(frr, OURS) - updatesBefore;
    const tW0 = performance.now();
    d.setRoutes([]);
    const tW1 = await pollUntil('ours withdrawn', frr, OURS, (s) => s.pfxRcd === 0);
    void cpuEst;
    return { announceMs: tAll - tEst, withdrawMs: tW1 - tW0, updates, bytes: Number(st.updateBytesSent), cpuMs: cpu1, cpuSessionMs: cpu1 - cpu0, eventLoopP99Ms: Number(st.eventLoopP99Ms), extendedMessage: extendedMessage(frr, OURS) };
  } finally {
    await d.close();
    await pollUntil('ours down', frr, OURS, (s) => s.state !== 'Established', 30_000).catch(() => undefined);
  }
}

async function runExaBGP(net: TestNetwork, frr: FRR, list: string[]): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'mtbgp-exa-'));
  const conf = join(dir, 'exabgp.conf');
  const trigger = join(dir, 'withdraw');
  writeFileSync(join(dir, 'withdraw.txt'), list.map((p) => `withdraw route ${p} next-hop ${EXA}\n`).join(''));
  // the API process waits for the trigger file, then feeds the withdrawals to ExaBGP
  writeFileSync(join(dir, 'withdraw.sh'), `while [ ! -e ${trigger} ]; do sleep 0.01; done\ncat ${join(dir, 'withdraw.txt')}\nexec sleep 3600\n`);
  writeFileSync(
    conf,
    `process withdrawer {\n  run /bin/sh ${join(dir, 'withdraw.sh')};\n  encoder text;\n}\n` +
      `neighbor ${ROUTER} {\n  router-id ${EXA};\n  local-address ${EXA};\n  local-as 64512;\n  peer-as 64500;\n  hold-time 90;\n` +
      `  family { ipv4 unicast; }\n  api { processes [ withdrawer ]; }\n  static {\n` +
      list.map((p) => `    route ${p} next-hop ${EXA};\n`).join('') +
      `  }\n}\n`,
  );
  const updatesBefore = updatesReceived(frr, EXA);
  const proc = net.spawn('node2', '/usr/sbin/exabgp', [conf], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, 'exabgp.daemon.user': 'root', 'exabgp.api.cli': 'false', 'exabgp.log.destination': 'stdout', 'exabgp.daemon.daemonize': 'false' },
  });
  let stderr = '';
  proc.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  try {
    const pid = proc.pid as number;
    const cpu0 = cpuMs(pid);
    const tEst = await pollUntil(`ExaBGP Established (${stderr.slice(-300)})`, frr, EXA, (s) => s.state === 'Established', 60_000);
    const cpuEst = cpuMs(pid);
    const tAll = await pollUntil('ExaBGP all prefixes', frr, EXA, (s) => s.pfxRcd === list.length);
    const cpu1 = cpuMs(pid);
    const updates = updatesReceived(frr, EXA) - updatesBefore;
    const ext = extendedMessage(frr, EXA);
    const tW0 = performance.now();
    writeFileSync(trigger, '');
    const tW1 = await pollUntil('ExaBGP withdrawn', frr, EXA, (s) => s.pfxRcd === 0);
    void cpu0;
    void cpuEst;
    return { announceMs: tAll - tEst, withdrawMs: tW1 - tW0, updates, cpuMs: cpu1, cpuSessionMs: cpu1 - cpuEst, extendedMessage: ext };
  } finally {
    const exited = new Promise<void>((r) => (proc.exitCode !== null ? r() : proc.once('exit', () => r())));
    proc.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    await pollUntil('ExaBGP down', frr, EXA, (s) => s.state !== 'Established', 30_000).catch(() => undefined);
  }
}

/** An MRT TABLE_DUMP_V2 file (RFC 6396): a peer index table and one RIB_IPV4_UNICAST per prefix. */
function mrtFile(list: string[], nextHop: string): Buffer {
  const ip4 = (a: string) => Buffer.from(a.split('.').map(Number));
  const record = (subtype: number, body: Buffer): Buffer => {
    const h = Buffer.alloc(12);
    h.writeUInt32BE(Math.floor(Date.now() / 1000), 0);
    h.writeUInt16BE(13, 4); // TABLE_DUMP_V2
    h.writeUInt16BE(subtype, 6);
    h.writeUInt32BE(body.length, 8);
    return Buffer.concat([h, body]);
  };
  // PEER_INDEX_TABLE: collector id, empty view name, one IPv4 peer with a 2-byte AS
  const peers = Buffer.concat([ip4(nextHop), Buffer.from([0, 0, 0, 1]), Buffer.from([0]), ip4(nextHop), ip4(nextHop), Buffer.from([0xfd, 0xe8])]);
  const out = [record(1, peers)];
  // path attributes: ORIGIN IGP, AS_PATH empty, NEXT_HOP
  const attrs = Buffer.concat([Buffer.from([0x40, 1, 1, 0]), Buffer.from([0x40, 2, 0]), Buffer.from([0x40, 3, 4]), ip4(nextHop)]);
  list.forEach((p, seq) => {
    const [addr, len] = p.split('/');
    const bits = Number(len);
    const body = Buffer.alloc(4 + 1 + Math.ceil(bits / 8) + 2 + 8);
    let o = body.writeUInt32BE(seq, 0);
    o = body.writeUInt8(bits, o);
    ip4(addr).subarray(0, Math.ceil(bits / 8)).copy(body, o);
    o += Math.ceil(bits / 8);
    o = body.writeUInt16BE(1, o); // entries
    o = body.writeUInt16BE(0, o); // peer index
    o = body.writeUInt32BE(Math.floor(Date.now() / 1000), o);
    body.writeUInt16BE(attrs.length, o);
    out.push(record(2, Buffer.concat([body, attrs])));
  });
  return Buffer.concat(out);
}

async function runGoBGP(net: TestNetwork, frr: FRR, list: string[]): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'mtbgp-gobgp-'));
  const conf = join(dir, 'gobgpd.toml');
  const mrt = join(dir, 'routes.mrt');
  writeFileSync(mrt, mrtFile(list, GOBGP));
  writeFileSync(conf, `[global.config]\n  as = 64512\n  router-id = "${GOBGP}"\n  port = -1\n`);
  const api = ['-u', '127.0.0.1', '-p', '50051'];
  const updatesBefore = updatesReceived(frr, GOBGP);
  const proc = net.spawn('node3', '/usr/bin/gobgpd', ['-f', conf, '--api-hosts=127.0.0.1:50051', '--pprof-disable', '-l', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  try {
    const pid = proc.pid as number;
    await waitFor(`gobgpd API up (${stderr.slice(-300)})`, () => net.execStatus('node3', '/usr/bin/gobgp', [...api, 'global']).status === 0 || undefined, 30_000, 50);
    // gobgp 3.10's `mrt inject` may exit before its stream has delivered every path (seen: 1,196 of
    // 2,000 arrive, and the last few never do); injecting again is idempotent, so inject up to 3
    // times, then add whatever is still missing one by one (`global rib add`)
    const held = (): number => Number(/Destination:\s*(\d+)/.exec(net.exec('node3', '/usr/bin/gobgp', [...api, 'global', 'rib', 'summary', '-a', 'ipv4']))?.[1]);
    for (let i = 0; i < 3 && held() !== list.length; i++) {
      net.exec('node3', '/usr/bin/gobgp', [...api, 'mrt', 'inject', 'global', mrt]);
      await sleep(500);
    }
    if (held() !== list.length) {
      const have = new Set(net.exec('node3', '/usr/bin/gobgp', [...api, 'global', 'rib', '-a', 'ipv4']).match(/\d+\.\d+\.\d+\.\d+\/\d+/g) ?? []);
      for (const p of list) if (!have.has(p)) net.exec('node3', '/usr/bin/gobgp', [...api, 'global', 'rib', 'add', '-a', 'ipv4', p, 'nexthop', GOBGP]);
    }
    if (held() !== list.length) throw new Error(`gobgp holds ${held()} of ${list.length} routes`);
    net.exec('node3', '/usr/bin/gobgp', [...api, 'neighbor', 'add', ROUTER, 'as', '64500']);
    const tEst = await pollUntil('GoBGP Established', frr, GOBGP, (st) => st.state === 'Established', 60_000);
    const cpuEst = cpuMs(pid);
    const tAll = await pollUntil('GoBGP all prefixes', frr, GOBGP, (st) => st.pfxRcd === list.length);
    const cpu1 = cpuMs(pid);
    const updates = updatesReceived(frr, GOBGP) - updatesBefore;
    const ext = extendedMessage(frr, GOBGP);
    const tW0 = performance.now();
    net.exec('node3', '/usr/bin/gobgp', [...api, 'global', 'rib', 'del', 'all', '-a', 'ipv4']);
    const tW1 = await pollUntil('GoBGP withdrawn', frr, GOBGP, (st) => st.pfxRcd === 0);
    return { announceMs: tAll - tEst, withdrawMs: tW1 - tW0, updates, cpuMs: cpu1, cpuSessionMs: cpu1 - cpuEst, extendedMessage: ext };
  } finally {
    const exited = new Promise<void>((r) => (proc.exitCode !== null ? r() : proc.once('exit', () => r())));
    proc.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    await pollUntil('GoBGP down', frr, GOBGP, (st) => st.state !== 'Established', 30_000).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  requireFRR();
  if (!existsSync('/usr/sbin/exabgp')) throw new Error('/usr/sbin/exabgp is missing: run scripts/setup.sh (Debian package "exabgp")');
  const net = TestNetwork.create('bgpb', [
    { name: 'router', v4: `${ROUTER}/24` },
    { name: 'node1', v4: `${OURS}/24` },
    { name: 'node2', v4: `${EXA}/24` },
    { name: 'node3', v4: `${GOBGP}/24` },
  ]);
  if (!existsSync('/usr/bin/gobgpd')) throw new Error('/usr/bin/gobgpd is missing: run scripts/setup.sh (Debian package "gobgpd")');
  const frr = new FRR(
    net,
    'router',
    `frr defaults traditional\nhostname router\nrouter bgp 64500\n bgp router-id ${ROUTER}\n no bgp ebgp-requires-policy\n no bgp network import-check\n` +
      ` neighbor ${OURS} remote-as 64512\n neighbor ${OURS} timers connect 1\n neighbor ${EXA} remote-as 64512\n neighbor ${EXA} timers connect 1\n` +
      ` neighbor ${GOBGP} remote-as 64512\n neighbor ${GOBGP} timers connect 1\n`,
  );
  const list = prefixes(N);
  const routes: DriverRoute[] = list.map((prefix) => ({ prefix, communities: [], localPref: 0 }));
  const ours: RunResult[] = [];
  const exa: RunResult[] = [];
  const gob: RunResult[] = [];
  try {
    frr.start();
    await frr.waitReady();
    for (let i = 0; i < RUNS; i++) {
      // alternate the order so neither implementation always runs against a fresher bgpd
      if (i % 2 === 0) {
        ours.push(await runOurs(net, frr, routes));
        exa.push(await runExaBGP(net, frr, list));
      } else {
        exa.push(await runExaBGP(net, frr, list));
        ours.push(await runOurs(net, frr, routes));
      }
      gob.push(await runGoBGP(net, frr, list));
      console.error(`run ${i + 1}/${RUNS}: GoBGP ${gob[i].announceMs.toFixed(0)} ms; ours ${ours[i].announceMs.toFixed(0)} ms / ExaBGP ${exa[i].announceMs.toFixed(0)} ms`);
    }
  } finally {
    net.destroy();
    frr.cleanup();
  }
  const log = new FigureLog('bgp');
  const README: Record<string, string> = {
    announce_ms: `${N} /32s: Established → FRR holds all (ms, median; ratio = ExaBGP / ours)`,
    withdraw_ms: `withdraw all ${N} (ms, median; ratio = ExaBGP / ours)`,
    cpu_ms: `speaker CPU from process start until FRR holds all (ms; ratio = ExaBGP / ours)`,
  };
  const fig = (c: string, metric: string, value: number, unit: string, reference?: number, text?: string): void => {
    const f: FigureInput = { case: c, metric, value: Math.round(value * 100) / 100, unit };
    if (README[metric]) f.readme = README[metric];
    if (reference !== undefined) {
      f.reference = Math.round(reference * 100) / 100;
      f.reference_impl = 'exabgp-4.2';
      f.reference_kind = 'measured';
      if (value > 0) f.ratio = Math.round((reference / value) * 100) / 100;
    }
    log.add(f, text ?? `${c} ${metric}: ${f.value} ${unit}${reference !== undefined ? ` (ExaBGP ${f.reference} ${unit}, ratio ${f.ratio})` : ''}`);
  };
  const m = (rs: RunResult[], k: keyof RunResult): number => median(rs.map((r) => Number(r[k])));
  const c = `advertise-${N}x/32`;
  console.log(`\nBGP: ${N} /32 routes to FRR bgpd ${RUNS} runs each, medians; ratio = ExaBGP / ours (above 1: ours better)`);
  fig(c, 'announce_ms', m(ours, 'announceMs'), 'ms', m(exa, 'announceMs'), `announce ${N} routes (Established -> all in FRR): ours ${m(ours, 'announceMs').toFixed(0)} ms, ExaBGP ${m(exa, 'announceMs').toFixed(0)} ms, ratio ${(m(exa, 'announceMs') / m(ours, 'announceMs')).toFixed(2)}`);
  fig(c, 'withdraw_ms', m(ours, 'withdrawMs'), 'ms', m(exa, 'withdrawMs'), `withdraw ${N} routes (request -> none in FRR): ours ${m(ours, 'withdrawMs').toFixed(0)} ms, ExaBGP ${m(exa, 'withdrawMs').toFixed(0)} ms, ratio ${(m(exa, 'withdrawMs') / m(ours, 'withdrawMs')).toFixed(2)}`);
  fig(c, 'updates', m(ours, 'updates'), 'messages', m(exa, 'updates'), `UPDATE messages FRR received for the announcement (incl. End-of-RIB): ours ${m(ours, 'updates')}, ExaBGP ${m(exa, 'updates')}`);
  fig(c, 'update_bytes', m(ours, 'bytes'), 'bytes', undefined, `UPDATE bytes we sent for the announcement: ${m(ours, 'bytes')}`);
  fig(c, 'cpu_ms', m(ours, 'cpuMs'), 'ms', m(exa, 'cpuMs'), `speaker process CPU from process start until FRR holds all routes (runtime start-up and route parsing included): ours ${m(ours, 'cpuMs').toFixed(0)} ms, ExaBGP ${m(exa, 'cpuMs').toFixed(0)} ms, ratio ${(m(exa, 'cpuMs') / m(ours, 'cpuMs')).toFixed(2)}`);
  fig(c, 'session_cpu_ms', m(ours, 'cpuSessionMs'), 'ms', undefined, `our session's own CPU (connect, OPEN, diff, encode, write of ${N} routes): ${m(ours, 'cpuSessionMs').toFixed(0)} ms (ExaBGP after Established: ${m(exa, 'cpuSessionMs').toFixed(0)} ms; /proc ticks are 10 ms)`);
  const g = (c2: string, metric: string, k: keyof RunResult, unit: string, what: string): void => {
    const v = m(ours, k), r = m(gob, k);
    log.add({ case: c2, metric, value: Math.round(v * 100) / 100, unit, reference: Math.round(r * 100) / 100, ratio: v > 0 ? Math.round((r / v) * 100) / 100 : undefined, reference_impl: 'gobgpd-3.10 (Debian)', reference_kind: 'measured', readme: metric === 'session_cpu_ms' ? undefined : `${what} vs GoBGP (ratio = GoBGP / ours)` },
      `${what}: ours ${v.toFixed(0)} ${unit}, GoBGP ${r.toFixed(0)} ${unit}, ratio ${(r / v).toFixed(2)}`);
  };
  g(`${c}-vs-gobgp`, 'announce_ms', 'announceMs', 'ms', `${N} /32s: Established → FRR holds all`);
  g(`${c}-vs-gobgp`, 'withdraw_ms', 'withdrawMs', 'ms', `withdraw all ${N}`);
  g(`${c}-vs-gobgp`, 'updates', 'updates', 'messages', 'UPDATE messages for the announcement');
  g(`${c}-vs-gobgp`, 'session_cpu_ms', 'cpuSessionMs', 'ms', 'speaker CPU from Established until FRR holds all');
  console.log(`extended messages (RFC 8654, up to 65535 bytes) per FRR: ours "${ours[0].extendedMessage}", ExaBGP "${exa[0].extendedMessage}"`);
  fig(c, 'event_loop_p99_ms', m(ours, 'eventLoopP99Ms'), 'ms', undefined, `our event-loop delay p99 during the announcement: ${m(ours, 'eventLoopP99Ms').toFixed(1)} ms`);
  console.log(`machine load average (1 min) at the end: ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores; event-loop and CPU figures include waiting for a CPU`);
  log.printJSON();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
