// Timings of the local control plane harness (test/support/sandbox/controlplane.ts):
//   npm run bench -- controlplane [--starts=N] [--drop-caches] [--rebuild-warm] [--rebuild-cold]
// - binaries: the cached path of scripts/k8s-binaries.sh (what every CI run pays), the durations the
//   script recorded for its last real build, and optionally a fresh build into a scratch cache:
//   --rebuild-warm reuses the machine's Go build cache (relink only), --rebuild-cold uses an empty
//   GOCACHE (a full compile, ~10 minutes on 2 cores; modules come from the shared module cache);
// - first start: the first startControlPlane() of this process (with --drop-caches the kernel page
//   cache is dropped first, so the ~125 MB of binaries are read from disk: a truly cold start);
// - warm start / stop: median and p95 over --starts (default 5) further starts;
// - start-up phases (keys+certificates, etcd, kube-apiserver /readyz, system namespaces);
// - kubectl apply of the install manifests on a fresh control plane.
// Readable lines first, then one JSON object per figure per line.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startControlPlane, resolveBinaries, DEFAULT_K8S_VERSION, type StartupPhases } from '../test/support/sandbox/controlplane.js';
import { FigureLog, median, quantile, sorted, type FigureInput } from './lib/figures.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const script = join(root, 'scripts', 'k8s-binaries.sh');
const log = new FigureLog('controlplane');

function record(caseName: string, metric: string, value: number, unit: string, reference?: number): void {
  const f: FigureInput = { case: caseName, metric, value: Math.round(value * 1000) / 1000, unit };
  if (reference !== undefined && reference > 0) {
    f.reference = Math.round(reference * 1000) / 1000;
    f.ratio = Math.round((value / reference) * 1000) / 1000;
  }
  const ref = f.reference !== undefined ? ` (reference ${f.reference} ${unit}, ratio ${f.ratio})` : '';
  log.add(f, `${caseName.padEnd(34)} ${metric.padEnd(14)} ${String(f.value).padStart(10)} ${unit}${ref}`);
}


function timeScript(env: NodeJS.ProcessEnv): number {
  const t0 = performance.now();
  const r = spawnSync('bash', [script], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`k8s-binaries.sh failed with ${r.status}`);
  return (performance.now() - t0) / 1000;
}

const { values: args } = parseArgs({
  options: {
    starts: { type: 'string', default: '5' },
    'drop-caches': { type: 'boolean', default: false },
    'rebuild-warm': { type: 'boolean', default: false },
    'rebuild-cold': { type: 'boolean', default: false },
  },
});
const starts = Number(args.starts);

// --- binaries -------------------------------------------------------------------------------
const binDir = resolveBinaries();
const cachedRuns = [0, 1, 2].map(() => timeScript(process.env));
record('binaries-cached', 'wall_s', median(cachedRuns), 's');
const cache = process.env.METALLB_TS_CACHE || '/var/cache/metallb-ts';
try {
  const times = JSON.parse(readFileSync(join(cache, `k8s-${process.env.METALLB_TS_K8S_VERSION || DEFAULT_K8S_VERSION}`, 'build-times.json'), 'utf8')) as Record<string, number>;
  for (const [k, v] of Object.entries(times)) record(`binaries-last-build-${k.replace(/_s$/, '')}`, 'wall_s', v, 's');
} catch {
  console.log('(no build-times.json: the binaries were not built by this version of k8s-binaries.sh)');
}
for (const mode of ['warm', 'cold'] as const) {
  if (!args[`rebuild-${mode}`]) continue;
  const scratch = mkdtempSync(join(tmpdir(), `metallb-ts-k8sbuild-${mode}-`));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, METALLB_TS_CACHE: scratch, KUBEBUILDER_ASSETS: '' };
    if (mode === 'cold') env.GOCACHE = join(scratch, 'gocache');
    const s = timeScript(env);
    record(`binaries-rebuild-${mode}`, 'wall_s', s, 's');
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

// --- starts ---------------------------------------------------------------------------------
if (args['drop-caches']) {
  spawnSync('sync');
  writeFileSync('/proc/sys/vm/drop_caches', '3\n');
  console.log('(kernel page cache dropped: the first start reads the binaries from disk)');
}
async function oneStart(): Promise<{ startMs: number; stopMs: number; phases: StartupPhases }> {
  const t0 = performance.now();
  const cp = await startControlPlane({ binDir });
  const t1 = performance.now();
  const phases = { ...cp.startupPhases };
  await cp.stop();
  return { startMs: t1 - t0, stopMs: performance.now() - t1, phases };
}
const first = await oneStart();
const firstCase = args['drop-caches'] ? 'first-start-cold-page-cache' : 'first-start';
record(firstCase, 'wall_ms', first.startMs, 'ms');
for (const k of ['pkiMs', 'etcdMs', 'apiserverReadyMs', 'namespacesMs'] as const) {
  record(`${firstCase}-phase-${k.replace(/Ms$/, '')}`, 'ms', first.phases[k], 'ms');
}
const warm: Awaited<ReturnType<typeof oneStart>>[] = [];
for (let i = 0; i < starts; i++) warm.push(await oneStart());
const warmStarts = warm.map((w) => w.startMs);
record('warm-start', 'median_ms', median(warmStarts), 'ms', first.startMs);
record('warm-start', 'p95_ms', quantile(sorted(warmStarts), 0.95), 'ms');
record('stop', 'median_ms', median(warm.map((w) => w.stopMs)), 'ms');
for (const k of ['pkiMs', 'etcdMs', 'apiserverReadyMs', 'namespacesMs'] as const) {
  record(`warm-start-phase-${k.replace(/Ms$/, '')}`, 'median_ms', median(warm.map((w) => w.phases[k])), 'ms');
}

// --- manifests --------------------------------------------------------------------------------
const applies: number[] = [];
for (let i = 0; i < 3; i++) {
  const cp = await startControlPlane({ binDir });
  try {
    const t0 = performance.now();
    await cp.kubectl(['apply', '-f', join(root, 'manifests', 'namespace.yaml'), '-f', join(root, 'manifests', 'metallb.yaml')]);
    applies.push(performance.now() - t0);
  } finally {
    await cp.stop();
  }
}
record('kubectl-apply-manifests', 'median_ms', median(applies), 'ms');

log.printJSON();
