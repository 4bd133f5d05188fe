// Shared set-up for the controller's integration tests: a real control plane with the project's
// manifests applied, the controller binary run as a child process with the `controller`
// ServiceAccount's own token (so RBAC is exercised), and small helpers to read what it did.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startControlPlane, type ControlPlane } from '../../support/sandbox/controlplane.js';

export const root = fileURLToPath(new URL('../../../../', import.meta.url));
export const NS = 'metallb-system';

export interface Env {
  readonly cp: ControlPlane;
  /** Kubeconfig of system:serviceaccount:metallb-system:controller. */
  readonly controllerKubeconfig: string;
}

export async function startEnv(): Promise<Env> {
  const cp = await startControlPlane({ dirPrefix: 'metallb-ts-ctl-' });
  try {
    await cp.kubectl(['apply', '-f', join(root, 'manifests', 'namespace.yaml'), '-f', join(root, 'manifests', 'metallb.yaml')]);
    const controllerKubeconfig = await cp.serviceAccountKubeconfig(NS, 'controller');
    return { cp, controllerKubeconfig };
  } catch (err) {
    await cp.stop();
    throw err;
  }
}

export interface LogLine {
  readonly level?: string;
  readonly msg?: string;
  readonly op?: string;
  readonly [key: string]: unknown;
}

/** The controller binary as a child process. */
export class ControllerProcess {
  readonly lines: LogLine[] = [];
  readonly stderr: string[] = [];
  port = 0;
  exitCode: number | null | undefined = undefined;
  private readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      try {
        const obj = JSON.parse(l) as LogLine;
        this.lines.push(obj);
        if (obj.msg === 'serving /metrics' && typeof obj.port === 'number') this.port = obj.port;
      } catch {
        this.stderr.push(`stdout: ${l}`);
      }
    });
    createInterface({ input: child.stderr! }).on('line', (l) => this.stderr.push(l));
    this.exited = new Promise((resolve) => child.on('exit', (code) => { this.exitCode = code; resolve(code); }));
  }

  static start(env: Env, extraArgs: readonly string[] = [], extraEnv: Readonly<Record<string, string>> = {}): ControllerProcess {
    const child = spawn(process.execPath, [
      join(root, 'dist', 'bin', 'controller.js'),
      `--kubeconfig=${env.controllerKubeconfig}`,
      '--port=0',
      '--log-level=debug',
      ...extraArgs,
    ], {
      env: { ...process.env, METALLB_NAMESPACE: NS, METALLB_ML_SECRET_NAME: 'memberlist', METALLB_DEPLOYMENT: 'controller', ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ControllerProcess(child);
  }

  /** Sends SIGTERM and waits for the exit code. */
  async stop(): Promise<number | null> {
    if (this.exitCode === undefined) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  waitExit(): Promise<number | null> {
    return this.exited;
  }

  async metrics(): Promise<string> {
    await waitFor('metrics port', () => (this.port > 0 ? true : undefined));
    const r = await fetch(`http://127.0.0.1:${this.port}/metrics`);
    if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
    return r.text();
  }

  /** The value of one series, e.g. metric('metallb_allocator_addresses_in_use_total', {pool: 'a'}). */
  async metric(name: string, labels: Readonly<Record<string, string>> = {}): Promise<number | undefined> {
    return metricValue(await this.metrics(), name, labels);
  }

  describe(): string {
    return `controller output (last 30 lines):\n${this.lines.slice(-30).map((l) => JSON.stringify(l)).join('\n')}\n${this.stderr.slice(-10).join('\n')}`;
  }
}

/** The value of one series in Prometheus text, or undefined when the series does not exist. */
export function metricValue(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',');
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = (m[2] ?? '').split(',').filter(Boolean).sort().join(',');
    if (got === want) return Number(m[3]);
  }
  return undefined;
}

/** Polls `probe` until it returns a value other than undefined (deadline only against hangs). */
export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000, describe?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`gave up waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}${describe ? `\n${describe()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface ServiceSpecInput {
  readonly name: string;
  readonly namespace: string;
  readonly type?: string;
  readonly ports?: readonly { port: number; protocol?: string }[];
  readonly loadBalancerIP?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly selector?: Readonly<Record<string, string>>;
  readonly externalTrafficPolicy?: string;
  readonly ipFamilies?: readonly string[];
  readonly ipFamilyPolicy?: string;
}

export function serviceManifest(s: ServiceSpecInput): string {
  const obj = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: s.name, namespace: s.namespace, annotations: s.annotations ?? {} },
    spec: {
      type: s.type ?? 'LoadBalancer',
      selector: s.selector ?? { app: s.name },
      ports: (s.ports ?? [{ port: 80 }]).map((p) => ({ port: p.port, protocol: p.protocol ?? 'TCP', targetPort: p.port })),
      ...(s.loadBalancerIP ? { loadBalancerIP: s.loadBalancerIP } : {}),
      ...(s.externalTrafficPolicy ? { externalTrafficPolicy: s.externalTrafficPolicy } : {}),
      ...(s.ipFamilies ? { ipFamilies: s.ipFamilies } : {}),
      ...(s.ipFamilyPolicy ? { ipFamilyPolicy: s.ipFamilyPolicy } : {}),
    },
  };
  return JSON.stringify(obj);
}

export async function applyService(cp: ControlPlane, s: ServiceSpecInput): Promise<void> {
  await cp.kubectl(['apply', '-f', '-'], { input: serviceManifest(s) });
}

export async function applyConfig(cp: ControlPlane, configText: string, name = 'config'): Promise<void> {
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS }, data: { config: configText } };
  await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(cm) });
}

export async function createNamespace(cp: ControlPlane, name: string): Promise<void> {
  await cp.kubectl(['create', 'namespace', name]);
}

interface ServiceJSON {
  metadata: { resourceVersion: string; uid: string };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

export async function getService(cp: ControlPlane, namespace: string, name: string): Promise<ServiceJSON | undefined> {
  const r = await cp.kubectl(['get', 'service', '-n', namespace, name, '-o', 'json'], { check: false });
  if (r.code !== 0) return undefined;
  return JSON.parse(r.stdout) as ServiceJSON;
}

/** The IPs in status.loadBalancer.ingress (empty list when none). */
export async function ingressIPs(cp: ControlPlane, namespace: string, name: string): Promise<string[]> {
  const svc = await getService(cp, namespace, name);
  return (svc?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '');
}

export interface EventJSON {
  reason: string;
  type: string;
  message: string;
  count?: number;
  source?: { component?: string };
  involvedObject: { kind: string; name: string; namespace?: string };
}

export async function eventsFor(cp: ControlPlane, namespace: string, name: string, kind = 'Service'): Promise<EventJSON[]> {
  const r = await cp.kubectl(['get', 'events', '-n', namespace, '--field-selector', `involvedObject.name=${name},involvedObject.kind=${kind}`, '-o', 'json']);
  return (JSON.parse(r.stdout) as { items: EventJSON[] }).items;
}

/** Waits until the Service has an event with this reason (and message, if given). */
export async function waitForEvent(cp: ControlPlane, namespace: string, name: string, reason: string, message?: string | RegExp, kind = 'Service'): Promise<EventJSON> {
  return waitFor(`event ${reason} on ${kind} ${namespace}/${name}`, async () => {
    const evs = await eventsFor(cp, namespace, name, kind);
    return evs.find((e) => e.reason === reason && (message === undefined || (typeof message === 'string' ? e.message === message : message.test(e.message))));
  });
}

/** Waits until the ingress list equals `want` exactly. */
export async function waitForIngress(cp: ControlPlane, namespace: string, name: string, want: readonly string[], ctl?: ControllerProcess): Promise<void> {
  await waitFor(`${namespace}/${name} ingress = ${JSON.stringify(want)}`, async () => {
    const got = await ingressIPs(cp, namespace, name);
    return got.length === want.length && got.every((ip, i) => ip === want[i]) ? true : undefined;
  }, 60_000, ctl ? () => ctl.describe() : undefined);
}
