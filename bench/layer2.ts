// npm run bench -- layer2 [--seconds N] [--window N] [--rounds N]
//
// Figures for lib/layer2: an ARP flood answered by our responder, and in the same run
// the same flood answered by the Linux kernel itself (the address configured on the node's
// interface) as the reference. Needs root: it builds a test network of namespaces (node1 and a
// client on one bridge, documentation addresses only) and tears it down at the end.
//
// The client is this same script started with `--role flood` inside the client namespace. It
// keeps `window` requests in flight (default 64) and sends the next one as each reply arrives,
// for `seconds` (default 10) per responder: "as fast as the responder answers" without drowning
// a socket buffer. The machine is shared, so the two floods are interleaved in `rounds` slices
// (default 5 of 2 s each, ours then kernel) and summed, so that load from elsewhere hits both. Each request carries a sequence number in its sender MAC (02:aa:xx:xx:xx:xx); both
// our responder and the kernel reply to that MAC, so every reply is matched to its request
// (the bridge floods the unknown unicast back to the client, whose packet socket sees it).
// A request unanswered after 200 ms counts as lost and is replaced.
//
// Printed per responder: replies/s, reply latency p50/p99 (flooder's clock, send to receive),
// CPU time of the whole machine per 1,000 replies (from /proc/stat, includes the flooder and
// the kernel's own work); for ours also the responder process's CPU per 1,000 replies and its
// event-loop delay p99 under the flood. Ratio = ours / kernel.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { mustParseIP } from '../lib/ip/index.js';
import { MacAddress } from '../lib/layer2/mac.js';
import { ArpOperation, encodeArpFrame } from '../lib/layer2/arp.js';
import { EtherType } from '../lib/layer2/ethernet.js';
import { FrameSocket } from '../lib/layer2/sockets.js';
import { TestNetwork, requireRoot } from '../test/support/sandbox/netns.js';
import { LineProcess, startResponder } from '../test/e2e/layer2/helpers.js';
import { FigureLog, type FigureInput } from './lib/figures.js';

const { values } = parseArgs({
  options: {
    role: { type: 'string', default: 'main' },
    seconds: { type: 'string', default: '10' },
    window: { type: 'string', default: '64' },
    target: { type: 'string', default: '' },
    rounds: { type: 'string', default: '5' },
  },
});
const SECONDS = Number(values.seconds);
const WINDOW = Number(values.window);
const ROUNDS = Math.max(1, Number(values.rounds));
const here = dirname(fileURLToPath(import.meta.url));

interface FloodResult {
  sent: number;
  replies: number;
  lost: number;
  seconds: number;
  /** Busy CPU time of the whole machine during the flood (all cores, every process and the kernel). */
  machineCpuMs: number;
  /** Reply latencies: microseconds -> how many replies took that long. */
  latencyUs: Record<string, number>;
}

function percentileMs(histogram: Map<number, number>, total: number, p: number): number {
  const want = Math.ceil((p / 100) * total);
  let seen = 0;
  for (const us of [...histogram.keys()].sort((a, b) => a - b)) {
    seen += histogram.get(us) ?? 0;
    if (seen >= want) return us / 1000;
  }
  return NaN;
}

function merge(results: FloodResult[]): { sent: number; replies: number; lost: number; seconds: number; machineCpuMs: number; p50Ms: number; p99Ms: number } {
  const h = new Map<number, number>();
  for (const r of results) for (const [us, n] of Object.entries(r.latencyUs)) h.set(Number(us), (h.get(Number(us)) ?? 0) + n);
  const sum = (k: 'sent' | 'replies' | 'lost' | 'seconds' | 'machineCpuMs') => results.reduce((a, r) => a + r[k], 0);
  const replies = sum('replies');
  return { sent: sum('sent'), replies, lost: sum('lost'), seconds: sum('seconds'), machineCpuMs: sum('machineCpuMs'), p50Ms: percentileMs(h, replies, 50), p99Ms: percentileMs(h, replies, 99) };
}

/** Busy and total jiffies of the whole machine (first line of /proc/stat). */
function machineCpu(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + f[4];
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}
const JIFFY_MS = 10; // USER_HZ = 100 on Linux

/** The flooder, run inside the client namespace; prints one JSON FloodResult. */
async function flood(target: string): Promise<void> {
  const ifname = 'eth0';
  const ifindex = Number(readFileSync(`/sys/class/net/${ifname}/ifindex`, 'utf8'));
  const ourMac = MacAddress.mustParse(readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim());
  const ourIp = mustParseIP('198.51.100.100');
  const targetIp = mustParseIP(target);
  const sock = FrameSocket.open(ifindex, ifname);
  const template = encodeArpFrame(MacAddress.BROADCAST, ourMac, {
    operation: ArpOperation.Request, senderHardwareAddress: MacAddress.mustParse('02:aa:00:00:00:00'), senderProtocolAddress: ourIp,
    targetHardwareAddress: MacAddress.ZERO, targetProtocolAddress: targetIp,
  });
  const inFlight = new Map<number, number>(); // seq -> send time
  const latencyUs = new Map<number, number>();
  let replies = 0, sent = 0, lost = 0, seq = 0;
  let running = true;
  const send = (): void => {
    seq = (seq + 1) & 0xffffff;
    template.writeUIntBE(seq, 25, 3); // sender MAC bytes 3..5 (frame offset 22 + 3)
    const t = performance.now();
    if (sock.send(template)) {
      inFlight.set(seq, t);
      sent++;
    }
  };
  sock.onFrame((frame) => {
    // an ARP reply whose target MAC is one of our 02:aa:… sequence MACs
    if (frame.length < 42 || frame.readUInt16BE(12) !== EtherType.ARP || frame.readUInt16BE(20) !== ArpOperation.Reply) return;
    if (frame[32] !== 0x02 || frame[33] !== 0xaa) return;
    const s = frame.readUIntBE(35, 3);
    const t0 = inFlight.get(s);
    if (t0 === undefined) return;
    inFlight.delete(s);
    const us = Math.round((performance.now() - t0) * 1000);
    latencyUs.set(us, (latencyUs.get(us) ?? 0) + 1);
    replies++;
    if (running) send();
  }, (err) => console.error(String(err)));
  const cpu0 = machineCpu();
  const start = performance.now();
  for (let i = 0; i < WINDOW; i++) send();
  const sweeper = setInterval(() => {
    const now = performance.now();
    for (const [s, t] of inFlight) {
      if (now - t > 200) {
        inFlight.delete(s);
        lost++;
        if (running) send();
      }
    }
  }, 50);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  running = false;
  const seconds = (performance.now() - start) / 1000;
  const machineCpuMs = (machineCpu().busy - cpu0.busy) * JIFFY_MS;
  await new Promise((r) => setTimeout(r, 250));
  clearInterval(sweeper);
  sock.close();
  const result: FloodResult = { sent, replies, lost, seconds, machineCpuMs, latencyUs: Object.fromEntries(latencyUs) };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function runFlood(net: TestNetwork, target: string, seconds: number): Promise<FloodResult> {
  const child = net.spawn('client', process.execPath, [join(here, 'layer2.js'), '--role', 'flood', '--target', target,
    '--seconds', String(seconds), '--window', String(WINDOW)]);
  const p = new LineProcess(child, `flooder for ${target}`);
  return (await p.next((seconds + 30) * 1000)) as unknown as FloodResult;
}


async function main(): Promise<void> {
  requireRoot('bench layer2');
  const VIP = '198.51.100.200';
  const NODE_IP = '198.51.100.11';
  const net = TestNetwork.create('l2b', [
    { name: 'node1', v4: `${NODE_IP}/24`, mac: '02:00:00:00:00:11' },
    { name: 'client', v4: '198.51.100.100/24', mac: '02:00:00:00:00:64' },
  ]);
  const log = new FigureLog('layer2');
  const say = (f: FigureInput, text: string): void => void log.add(f, text);
  try {
    console.log(`ARP flood, ${SECONDS} s per responder in ${ROUNDS} interleaved slices, ${WINDOW} requests in flight, 2 namespaces on one bridge (${new Date().toISOString()})`);
    // ours: the responder process answers for an address nobody has configured; the kernel
    // answers for the node's own address (our responder sees those requests too and ignores them)
    const responder = await startResponder(net, 'node1', ['--log-level', 'warn']);
    await responder.send({ cmd: 'announce', ips: [VIP] });
    await new Promise((r) => setTimeout(r, 6000)); // the gratuitous burst is over
    await responder.send({ cmd: 'reset-loop-delay' });
    const oursRuns: FloodResult[] = [];
    const kernelRuns: FloodResult[] = [];
    let answered = 0, responderCpuMs = 0, responderUserMs = 0;
    const slice = SECONDS / ROUNDS;
    for (let round = 0; round < ROUNDS; round++) {
      const before = await responder.send({ cmd: 'status' });
      oursRuns.push(await runFlood(net, VIP, slice));
      const done = await responder.send({ cmd: 'status' });
      answered += ((done.responses as Record<string, number>)[VIP] ?? 0) - ((before.responses as Record<string, number>)[VIP] ?? 0);
      responderCpuMs += ((done.cpuMicros as number) - (before.cpuMicros as number)) / 1000;
      responderUserMs += ((done.cpuUserMicros as number) - (before.cpuUserMicros as number)) / 1000;
      kernelRuns.push(await runFlood(net, NODE_IP, slice));
    }
    const after = await responder.send({ cmd: 'status' });
    const ours = merge(oursRuns);
    const kernel = merge(kernelRuns);

    const rate = (r: { replies: number; seconds: number }) => r.replies / r.seconds;
    const perK = (ms: number, r: { replies: number }) => (ms / r.replies) * 1000;
    const c = `arp-flood-${SECONDS}s-w${WINDOW}`;
    const fig = (metric: string, value: number, unit: string, reference: number): FigureInput =>
      ({ case: c, metric, value: +value.toFixed(4), unit, reference: +reference.toFixed(4), ratio: +(value / reference).toFixed(4) });
    say(fig('replies_per_s', rate(ours), '1/s', rate(kernel)),
      `replies/s:            ours ${rate(ours).toFixed(0)}  kernel ${rate(kernel).toFixed(0)}  ratio ${(rate(ours) / rate(kernel)).toFixed(3)}  (lost: ours ${ours.lost}, kernel ${kernel.lost})`);
    say(fig('reply_latency_p50', ours.p50Ms, 'ms', kernel.p50Ms),
      `reply latency p50:    ours ${ours.p50Ms.toFixed(3)} ms  kernel ${kernel.p50Ms.toFixed(3)} ms  ratio ${(ours.p50Ms / kernel.p50Ms).toFixed(3)}`);
    say(fig('reply_latency_p99', ours.p99Ms, 'ms', kernel.p99Ms),
      `reply latency p99:    ours ${ours.p99Ms.toFixed(3)} ms  kernel ${kernel.p99Ms.toFixed(3)} ms  ratio ${(ours.p99Ms / kernel.p99Ms).toFixed(3)}`);
    say(fig('machine_cpu_per_1k_replies', perK(ours.machineCpuMs, ours), 'ms', perK(kernel.machineCpuMs, kernel)),
      `machine CPU / 1k replies: ours ${perK(ours.machineCpuMs, ours).toFixed(2)} ms  kernel ${perK(kernel.machineCpuMs, kernel).toFixed(2)} ms (flooder included)`);
    say({ case: c, metric: 'responder_cpu_per_1k_replies', value: +perK(responderCpuMs, { ...ours, replies: answered }).toFixed(4), unit: 'ms' },
      `responder process CPU / 1k replies: ${perK(responderCpuMs, { replies: answered }).toFixed(2)} ms, of which user ${perK(responderUserMs, { replies: answered }).toFixed(2)} ms (${answered} replies counted by the responder; system time includes the kernel's transmit path)`);
    say({ case: c, metric: 'responder_event_loop_delay_p99', value: +(after.loopDelayP99Ms as number).toFixed(3), unit: 'ms' },
      `responder event-loop delay p99 under the flood: ${(after.loopDelayP99Ms as number).toFixed(2)} ms`);
  } finally {
    net.destroy();
  }
  log.printJSON();
}

if (values.role === 'flood') await flood(values.target ?? '');
else await main();
