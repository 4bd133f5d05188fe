// The helm binary (built by scripts/helm-binary.sh from helm.sh/helm/v4) and helpers to render
// and install charts/metallb-ts in tests. Rendered output is parsed with js-yaml into plain
// objects so tests check fields, never text produced by the chart itself.
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const chartDir = join(repoRoot, 'charts', 'metallb-ts');

let cachedBinary: string | undefined;

/** Path of the helm binary; builds it (once, cached) when setup has not. */
export function helmBinary(): string {
  if (!cachedBinary) {
    cachedBinary = execFileSync(join(repoRoot, 'scripts', 'helm-binary.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  }
  return cachedBinary;
}

export interface HelmResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface HelmOptions {
  /** Extra environment (e.g. KUBECONFIG). */
  readonly env?: Record<string, string>;
  readonly input?: string;
  /** Working directory (default: the test process's). */
  readonly cwd?: string;
}

/** Runs helm with its own config/cache/data dirs under a temporary HOME-like directory. */
export function helm(args: readonly string[], opts: HelmOptions = {}): Promise<HelmResult> {
  const home = helmHome();
  return new Promise((resolve, reject) => {
    const child = execFile(helmBinary(), args, {
      cwd: opts.cwd,
      maxBuffer: 64 * 1024 * 1024,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HELM_CONFIG_HOME: join(home, 'config'),
        HELM_CACHE_HOME: join(home, 'cache'),
        HELM_DATA_HOME: join(home, 'data'),
        ...opts.env,
      },
    }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') { reject(err); return; }
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

let home: string | undefined;
function helmHome(): string {
  if (!home) {
    home = mkdtempSync(join(tmpdir(), 'metallb-ts-helm-home-'));
    const dir = home;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return home;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface RenderOptions {
  readonly release?: string;
  readonly namespace?: string;
  /** Values documents, each written to its own file and passed with -f, in order. */
  readonly values?: readonly (Record<string, unknown> | string)[];
  readonly set?: readonly string[];
  readonly chart?: string;
  readonly extraArgs?: readonly string[];
}

export interface Rendered extends HelmResult {
  readonly objects: K8sObject[];
}

/** Writes values documents to files (YAML text as is, objects dumped) and returns their paths. */
export function valuesFiles(dir: string, values: readonly (Record<string, unknown> | string)[]): string[] {
  return values.map((v, i) => {
    const p = join(dir, `values-${i}.yaml`);
    writeFileSync(p, typeof v === 'string' ? v : yaml.dump(v));
    return p;
  });
}

/** `helm template`; objects are the parsed documents (empty when helm failed). */
export async function render(opts: RenderOptions = {}): Promise<Rendered> {
  const dir = mkdtempSync(join(tmpdir(), 'metallb-ts-helm-values-'));
  try {
    const files = valuesFiles(dir, opts.values ?? []);
    const r = await helm(['template', opts.release ?? 'metallb', opts.chart ?? chartDir,
      '--namespace', opts.namespace ?? 'metallb-system',
      ...files.flatMap((f) => ['-f', f]),
      ...(opts.set ?? []).flatMap((s) => ['--set', s]),
      ...(opts.extraArgs ?? [])]);
    const objects = r.code === 0 ? parseObjects(r.stdout) : [];
    return { ...r, objects };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function parseObjects(text: string): K8sObject[] {
  return yaml.loadAll(text).filter((d): d is K8sObject => typeof d === 'object' && d !== null);
}

/** The one object of that kind and name (throws when absent or ambiguous). */
export function find(objects: readonly K8sObject[], kind: string, name?: string): K8sObject {
  const hits = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (hits.length !== 1) throw new Error(`expected one ${kind}${name ? ` named ${name}` : ''}, found ${hits.length}: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return hits[0];
}

export function kinds(objects: readonly K8sObject[]): string[] {
  return objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
}

/**
 * Upstream MetalLB v0.12.1's chart directory inside the Go module cache (downloaded through the
 * Go module proxy by scripts/setup.d/50-helm.sh). Tests read its values files as inputs; its text
 * never enters this repository.
 */
export function upstreamChartDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'metallb-ts-gomod-'));
  try {
    const out = execFileSync('go', ['mod', 'download', '-json', 'go.universe.tf/metallb@v0.12.1'],
      { cwd: dir, encoding: 'utf8', env: { ...process.env, GOFLAGS: '', GOWORK: 'off' }, stdio: ['ignore', 'pipe', 'inherit'] });
    return join((JSON.parse(out) as { Dir: string }).Dir, 'charts', 'metallb');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A copy of the chart under `dir` whose files/monitoring/ holds the files of `monitoringDir`
 * instead of the link to manifests/monitoring/ (to test the inclusion mechanism on fixtures).
 */
export function chartCopyWithMonitoring(dir: string, monitoringDir: string): string {
  const out = join(dir, 'metallb-ts');
  cpSync(chartDir, out, { recursive: true, filter: (src) => !src.startsWith(join(chartDir, 'files')) });
  cpSync(monitoringDir, join(out, 'files', 'monitoring'), { recursive: true });
  return out;
}
