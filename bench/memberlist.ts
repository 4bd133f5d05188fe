// npm run bench -- memberlist [--trials N] [--quick] [--only kill|leave|load]
//
// Figures for lib/memberlist, each measured for our member and, in the same run and the
// same setup, for hashicorp/memberlist v0.1.7 (the Go peer of test/interop/memberlist/peer, built
// by scripts/setup.d/30-memberlist.sh). Ratio = ours / Go.
//   kill-to-dead-<profile>-5   5 members (separate processes, encrypted, loopback); one is killed
//                              with SIGKILL; time until every other member has declared it dead.
//                              Median and p95 over N trials, profiles 'lan' (upstream defaults)
//                              and 'fast'.
//   leave-seen-fast-5          time from a graceful leave command until every other member has
//                              recorded the node as left.
//   load-lan-50                CPU (percent of one core) and RSS of one member in a 50-member
//                              cluster (48 Go members in one process + the measured one + the
//                              other implementation's measured one), upstream timers, over 60 s;
//                              plus our member's event-loop delay p99 over the same window, and an
//                              idle Node.js process measured alongside (runtime baseline).
// Event times come from the members' own clocks (Date.now / time.Now, same machine).
// Only 127.0.0.1 is used.

import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { PeerProcess, freePort, goPeerBinary, type PeerEvent } from '../test/interop/memberlist/harness.js';
import { FigureLog, quantile, sorted, trialOptions } from './lib/figures.js';

const { quick, trials: TRIALS, only: ONLY } = trialOptions();
const LOAD_SECONDS = quick ? 20 : 60;
const SECRET = 'benchSecretKey0123456';
const HOST = '127.0.0.1';
type Kind = 'go' | 'ts';
type Profile = 'lan' | 'fast';

const log = new FigureLog('memberlist');

/**
 * Waits argv[1] ms, then samples its event-loop delay (as ts-peer does) for argv[2] ms and prints
 * the p99; otherwise does nothing.
 */
const IDLE_NODE_SCRIPT = `
const { monitorEventLoopDelay } = require('node:perf_hooks');
const h = monitorEventLoopDelay({ resolution: 20 });
setTimeout(() => {
  h.enable();
  setTimeout(() => { console.log(JSON.stringify({ p99: Math.max(0, h.percentile(99) / 1e6 - 20) })); }, Number(process.argv[2]));
}, Number(process.argv[1]));
`;

function procUsage(pid: number): { cpuSeconds: number; rssBytes: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100, rssBytes: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024 };
}
const processes = new Set<PeerProcess>();

function spawnPeer(kind: Kind, name: string, port: number, profile: Profile, join: string[] = [], count = 1): PeerProcess {
  const p = new PeerProcess({ kind, name, bind: HOST, port, secret: SECRET, profile, join, count });
  processes.add(p);
  return p;
}

async function stopAll(): Promise<void> {
  await Promise.all([...processes].map((p) => p.stop()));
  processes.clear();
}

const waitLimit = (profile: Profile): number => (profile === 'lan' ? 120_000 : 30_000);

/** Starts 4 long-lived members of one implementation, joined to the first. */
async function startSurvivors(kind: Kind, profile: Profile): Promise<PeerProcess[]> {
  const survivors: PeerProcess[] = [];
  const first = spawnPeer(kind, `${kind}-s0`, await freePort(HOST), profile);
  await first.waitFor((e) => e.event === 'ready', 20_000, 'ready');
  survivors.push(first);
  const seed = `${HOST}:${first.spec.port}`;
  for (let i = 1; i < 4; i++) {
    const p = spawnPeer(kind, `${kind}-s${i}`, await freePort(HOST), profile, [seed]);
    const j = await p.waitFor((e) => e.event === 'joined', 20_000, 'joined');
    if (j.count !== 1) throw new Error(`${kind} member failed to join: ${j.error ?? ''}`);
    survivors.push(p);
  }
  return survivors;
}

/** Starts a victim that joins the survivors; resolves once every survivor has seen it join. */
async function startVictim(kind: Kind, profile: Profile, survivors: PeerProcess[], name: string): Promise<PeerProcess> {
  const seen = survivors.map((s) => s.waitNext((e) => e.event === 'join' && e.node?.name === name, waitLimit(profile), `join of ${name}`));
  const v = spawnPeer(kind, name, await freePort(HOST), profile, [`${HOST}:${survivors[0]!.spec.port}`]);
  const j = await v.waitFor((e) => e.event === 'joined', 20_000, 'joined');
  if (j.count !== 1) throw new Error(`${name} failed to join: ${j.error ?? ''}`);
  await Promise.all(seen);
  return v;
}

async function detectionTrials(kind: Kind, profile: Profile, mode: 'kill' | 'leave'): Promise<number[]> {
  const survivors = await startSurvivors(kind, profile);
  const out: number[] = [];
  try {
    for (let i = 0; i < TRIALS; i++) {
      const name = `${kind}-${mode}-${profile}-${i}`;
      const victim = await startVictim(kind, profile, survivors, name);
      await sleep(profile === 'lan' ? 3000 : 1000); // let probing and gossip settle
      const want = mode === 'kill' ? 'dead' : 'left';
      const seen = survivors.map((s) => s.waitNext((e) => e.event === 'leave' && e.node?.name === name, waitLimit(profile), `${want} of ${name}`));
      const t0 = Date.now();
      if (mode === 'kill') victim.kill9();
      else victim.send('leave 2000');
      const events: PeerEvent[] = await Promise.all(seen);
      const wrong = events.filter((e) => e.state !== want);
      if (wrong.length > 0) throw new Error(`${name}: expected ${want}, survivors recorded ${wrong.map((e) => e.state).join(',')}`);
      const ms = Math.max(...events.map((e) => e.t)) - t0;
      out.push(ms);
      console.log(`  ${kind} ${profile} ${mode} trial ${i + 1}/${TRIALS}: ${ms} ms`);
      await victim.stop();
      processes.delete(victim);
    }
  } finally {
    await stopAll();
  }
  return out;
}

function reportDistribution(caseName: string, ours: number[], go: number[]): void {
  const a = sorted(ours);
  const b = sorted(go);
  for (const [metric, q] of [['median_ms', 0.5], ['p95_ms', 0.95]] as const) {
    const v = quantile(a, q);
    const r = quantile(b, q);
    log.add({ case: caseName, metric, value: v, unit: 'ms', reference: r, ratio: Number((v / r).toFixed(3)) });
    console.log(`${caseName}: ${metric.replace('_ms', '')} ${v} ms (Go memberlist ${r} ms, ratio ${(v / r).toFixed(2)}) over ${a.length} trials`);
  }
}

async function loadFigures(): Promise<void> {
  const profile: Profile = 'lan';
  const basePort = await freePort(HOST);
  // 48 Go members in one process on basePort..basePort+47 (ports checked as we go is not
  // possible for a block; a collision shows up as a start error and the bench fails loudly)
  const bulk = spawnPeer('go', 'bulk', basePort + 100, profile, [`${HOST}:${basePort + 100}`], 48);
  await bulk.waitFor((e) => e.event === 'joined' && e.self === 'bulk-47', 60_000, 'bulk joined');
  const seed = [`${HOST}:${basePort + 100}`];
  const ts = spawnPeer('ts', 'ts-measured', await freePort(HOST), profile, seed);
  const go = spawnPeer('go', 'go-measured', await freePort(HOST), profile, seed);
  for (const p of [ts, go]) {
    const j = await p.waitFor((e) => e.event === 'joined', 30_000, 'joined');
    if (j.count !== 1) throw new Error(`${p.name} failed to join: ${j.error ?? ''}`);
  }
  const full = async (p: PeerProcess): Promise<boolean> => (await p.members()).length === 50;
  const deadline = Date.now() + 120_000;
  while (!((await full(ts)) && (await full(go)))) {
    if (Date.now() > deadline) throw new Error('the 50-member cluster did not converge within 120 s');
    await sleep(1000);
  }
  // an idle Node.js process measured in the same window: how much of our figures is the runtime
  // itself, and how much event-loop delay this (shared, 2-core) machine causes on its own
  const idle = spawn(process.execPath, ['-e', IDLE_NODE_SCRIPT, '10000', String(LOAD_SECONDS * 1000)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let idleOut = '';
  idle.stdout.on('data', (d: Buffer) => { idleOut += d.toString(); });
  const idleDone = new Promise<void>((r) => idle.once('exit', () => r()));
  await sleep(10_000); // warm-up
  await ts.stats(); // resets our member's event-loop delay histogram
  const u0 = { ts: ts.usage(), go: go.usage(), idle: procUsage(idle.pid!), t: Date.now() };
  await sleep(LOAD_SECONDS * 1000);
  const u1 = { ts: ts.usage(), go: go.usage(), idle: procUsage(idle.pid!), t: Date.now() };
  await idleDone;
  const idleLoopP99 = Number((JSON.parse(idleOut) as { p99: number }).p99);
  const wall = (u1.t - u0.t) / 1000;
  const cpuTs = (100 * (u1.ts.cpuSeconds - u0.ts.cpuSeconds)) / wall;
  const cpuGo = (100 * (u1.go.cpuSeconds - u0.go.cpuSeconds)) / wall;
  const stillFull = (await ts.members()).length === 50 && (await go.members()).length === 50;
  const stats = await ts.stats();
  const p99 = Number(stats.loop_delay_p99_ms);
  const cpuCase = `load-${profile}-50`;
  log.add({ case: cpuCase, metric: 'cpu_percent', value: Number(cpuTs.toFixed(2)), unit: '%', reference: Number(cpuGo.toFixed(2)), ratio: Number((cpuTs / cpuGo).toFixed(3)) });
  console.log(`${cpuCase}: CPU ${cpuTs.toFixed(2)} % of one core (Go memberlist ${cpuGo.toFixed(2)} %, ratio ${(cpuTs / cpuGo).toFixed(2)}) over ${wall.toFixed(0)} s`);
  const rssTs = u1.ts.rssBytes / 1048576;
  const rssGo = u1.go.rssBytes / 1048576;
  log.add({ case: cpuCase, metric: 'rss_mib', value: Number(rssTs.toFixed(1)), unit: 'MiB', reference: Number(rssGo.toFixed(1)), ratio: Number((rssTs / rssGo).toFixed(3)) });
  console.log(`${cpuCase}: RSS ${rssTs.toFixed(1)} MiB (Go memberlist ${rssGo.toFixed(1)} MiB, ratio ${(rssTs / rssGo).toFixed(2)}); Node's baseline RSS is part of ours`);
  const cpuIdle = (100 * (u1.idle.cpuSeconds - u0.idle.cpuSeconds)) / wall;
  const rssIdle = u1.idle.rssBytes / 1048576;
  console.log(`${cpuCase}: an idle Node.js process in the same window: CPU ${cpuIdle.toFixed(2)} %, RSS ${rssIdle.toFixed(1)} MiB`);
  log.add({ case: cpuCase, metric: 'cpu_percent_idle_node', value: Number(cpuIdle.toFixed(2)), unit: '%' });
  log.add({ case: cpuCase, metric: 'rss_mib_idle_node', value: Number(rssIdle.toFixed(1)), unit: 'MiB' });
  log.add({ case: cpuCase, metric: 'event_loop_delay_p99_ms', value: Number(p99.toFixed(2)), unit: 'ms', reference: Number(idleLoopP99.toFixed(2)), ratio: Number((p99 / Math.max(0.01, idleLoopP99)).toFixed(3)) });
  console.log(`${cpuCase}: our member's event-loop delay p99 ${p99.toFixed(2)} ms beyond the 20 ms sampling interval (an idle Node.js process: ${idleLoopP99.toFixed(2)} ms; target < 20 ms)`);
  console.log(`${cpuCase}: both measured members still saw all 50 members at the end: ${stillFull}`);
  await stopAll();
}

async function main(): Promise<void> {
  goPeerBinary();
  const t0 = Date.now();
  try {
    if (!ONLY || ONLY === 'kill') {
      for (const profile of ['fast', 'lan'] as const) {
        console.log(`kill -9 to dead, 5 members, profile ${profile}, ${TRIALS} trials per implementation`);
        const ours = await detectionTrials('ts', profile, 'kill');
        const go = await detectionTrials('go', profile, 'kill');
        reportDistribution(`kill-to-dead-${profile}-5`, ours, go);
      }
    }
    if (!ONLY || ONLY === 'leave') {
      console.log(`graceful leave seen by all, 5 members, profile fast, ${TRIALS} trials per implementation`);
      const ours = await detectionTrials('ts', 'fast', 'leave');
      const go = await detectionTrials('go', 'fast', 'leave');
      reportDistribution('leave-seen-fast-5', ours, go);
    }
    if (!ONLY || ONLY === 'load') {
      console.log(`CPU and RSS of one member in a 50-member cluster (lan timers, ${LOAD_SECONDS} s)`);
      await loadFigures();
    }
  } finally {
    await stopAll();
  }
  console.log(`(took ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  log.printJSON();
}

await main();
