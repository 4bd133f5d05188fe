// npm run bench -- demo [--runs=N]
// The sandbox demo (test/support/sandbox/demo.ts) end to end, as root: how long each step takes on this
// machine, the whole story until both addresses are announced and served, and the resident memory
// of the controller and the speakers once everything is up (idle, two Services). No reference
// implementation runs here (upstream's images need a container runtime); the control-plane start
// is the natural yardstick and is reported as the reference of the total.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Demo } from '../test/support/sandbox/demo.js';
import { FigureLog, median, type FigureInput } from './lib/figures.js';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '1' } } });
const runs = Number(args.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');

const log = new FigureLog('demo');
function record(c: string, metric: string, value: number, unit: string, reference?: number): void {
  const f: FigureInput = { case: c, metric, value: Math.round(value * 100) / 100, unit };
  if (reference !== undefined) {
    f.reference = Math.round(reference * 100) / 100;
    f.ratio = Math.round((value / reference) * 100) / 100;
  }
  log.add(f, `${c.padEnd(34)} ${metric.padEnd(10)} ${f.value} ${unit}${reference !== undefined ? `  (reference ${f.reference}, ratio ${f.ratio})` : ''}`);
}
function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

const KEYS = ['prerequisites', 'control-plane', 'network', 'router', 'manifests', 'controller', 'speakers', 'services', 'kubectl-get-svc', 'layer2-arp', 'bgp-route', 'curl'];
const steps = new Map<string, number[]>();
const totals: number[] = [];
const untilAnnounced: number[] = [];
const rss = { controller: [] as number[], speaker: [] as number[] };
for (let i = 0; i < runs; i++) {
  const demo = new Demo({ print: () => undefined });
  const t0 = performance.now();
  try {
    await demo.run();
    totals.push(performance.now() - t0);
    for (const t of demo.stepTimings) {
      const key = KEYS[t.step - 1] ?? `step-${t.step}`;
      steps.set(key, [...(steps.get(key) ?? []), t.ms]);
    }
    // Services created -> ARP answered and route installed (steps 8 to 11)
    untilAnnounced.push(demo.stepTimings.filter((t) => t.step >= 8 && t.step <= 11).reduce((a, t) => a + t.ms, 0));
    const pids = demo.processIds();
    rss.controller.push(rssMiB(pids.controller));
    for (const pid of Object.values(pids.speakers)) rss.speaker.push(rssMiB(pid));
  } finally {
    await demo.stop();
  }
}
const cpStart = median(steps.get('control-plane') ?? [0]);
record(`whole-story-${runs}-run${runs > 1 ? 's' : ''}`, 'median_s', median(totals) / 1000, 's', cpStart / 1000);
record('services-to-announced-and-checked', 'median_s', median(untilAnnounced) / 1000, 's');
for (const k of KEYS) if (steps.has(k)) record(`step-${k}`, 'median_s', median(steps.get(k) ?? []) / 1000, 's');
record('controller-idle', 'rss_mib', median(rss.controller), 'MiB');
record('speaker-idle', 'rss_mib', median(rss.speaker), 'MiB');
log.printJSON();
