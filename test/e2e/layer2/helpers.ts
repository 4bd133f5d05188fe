// Shared plumbing of the layer-2 e2e tests: a test network with two responder nodes and a
// client, and JSON-line control of the processes started inside it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { TestNetwork, type HostSpec } from '../../support/sandbox/netns.js';

const here = dirname(fileURLToPath(import.meta.url));
export const RESPONDER_SCRIPT = join(here, 'responder-process.js');
export const FRAME_TOOL_SCRIPT = join(here, 'frame-tool.js');

export const NODE1_MAC = '02:00:00:00:00:11';
export const NODE2_MAC = '02:00:00:00:00:12';
export const CLIENT_MAC = '02:00:00:00:00:64';
export const HOSTS: HostSpec[] = [
  { name: 'node1', v4: '198.51.100.11/24', v6: 'fd00::11/64', mac: NODE1_MAC },
  { name: 'node2', v4: '198.51.100.12/24', v6: 'fd00::12/64', mac: NODE2_MAC },
  { name: 'client', v4: '198.51.100.100/24', v6: 'fd00::100/64', mac: CLIENT_MAC },
];

/** Fails with a clear message when a tool the tests need is missing. */
export function requireTools(): void {
  for (const tool of ['arping', 'ndisc6', 'ping', 'ip']) {
    if (!['/usr/bin', '/usr/sbin', '/bin', '/sbin'].some((d) => existsSync(join(d, tool)))) {
      throw new Error(`${tool} is not installed: run scripts/setup.sh (Debian packages in scripts/apt-packages.txt)`);
    }
  }
  if (!existsSync(join(here, '..', '..', '..', '..', 'native', 'build', 'Release', 'metallb_native.node'))) {
    throw new Error('native addon not built: run `npm run build:native` (scripts/setup.sh does)');
  }
}

export type Reply = Record<string, unknown> & { event: string };

/** A process speaking JSON lines: send a command, await the next line it prints. */
export class LineProcess {
  private readonly queue: Reply[] = [];
  private readonly waiters: ((r: Reply) => void)[] = [];
  stderr = '';

  constructor(readonly child: ChildProcess, readonly label: string) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let msg: Reply;
      try {
        msg = JSON.parse(line) as Reply;
      } catch {
        return;
      }
      const w = this.waiters.shift();
      if (w) w(msg);
      else this.queue.push(msg);
    });
    child.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-20000);
    });
    child.once('exit', (code) => {
      this.exited = code ?? -1;
      for (const w of this.failers.splice(0)) w(new Error(`${this.label} exited (${code}); stderr:\n${this.stderr}`));
    });
  }

  private exited: number | undefined;
  private readonly failers: ((err: Error) => void)[] = [];

  /** The next line printed (waits up to timeoutMs). */
  next(timeoutMs = 10_000): Promise<Reply> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.exited !== undefined) return Promise.reject(new Error(`${this.label} exited (${this.exited}); stderr:\n${this.stderr}`));
    return new Promise((resolve, reject) => {
      const forget = (): void => {
        clearTimeout(timer);
        const i = this.waiters.indexOf(done);
        if (i >= 0) this.waiters.splice(i, 1);
        const j = this.failers.indexOf(fail);
        if (j >= 0) this.failers.splice(j, 1);
      };
      const timer = setTimeout(() => {
        forget();
        reject(new Error(`${this.label}: no answer within ${timeoutMs} ms; stderr:\n${this.stderr}`));
      }, timeoutMs);
      const done = (r: Reply): void => {
        forget();
        resolve(r);
      };
      const fail = (err: Error): void => {
        forget();
        reject(err);
      };
      this.waiters.push(done);
      this.failers.push(fail);
    });
  }

  async send(cmd: object, timeoutMs?: number): Promise<Reply> {
    this.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
    const r = await this.next(timeoutMs);
    if (r.event === 'error') throw new Error(`${this.label}: ${String(r.message)}\nstderr:\n${this.stderr}`);
    return r;
  }
}

export async function startResponder(net: TestNetwork, host: string, extraArgs: string[] = []): Promise<LineProcess> {
  const child = net.spawn(host, process.execPath, ['--enable-source-maps', RESPONDER_SCRIPT, ...extraArgs]);
  const p = new LineProcess(child, `responder in ${host}`);
  const ready = await p.next(15_000);
  if (ready.event !== 'ready') throw new Error(`responder in ${host} did not start: ${JSON.stringify(ready)}\n${p.stderr}`);
  return p;
}

export async function startFrameTool(net: TestNetwork, host: string, ifname = 'eth0'): Promise<LineProcess> {
  const child = net.spawn(host, process.execPath, ['--enable-source-maps', FRAME_TOOL_SCRIPT, ifname]);
  const p = new LineProcess(child, `frame tool in ${host}`);
  const ready = await p.next(15_000);
  if (ready.event !== 'ready') throw new Error(`frame tool did not start: ${JSON.stringify(ready)}`);
  return p;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until check() returns a value (not undefined) or the deadline passes. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(100);
  }
}

/** The MAC address the host's kernel has for ip on eth0, if any ("ip neigh"). */
export function neighbourMac(net: TestNetwork, host: string, ip: string): string | undefined {
  const out = net.exec(host, 'ip', [ip.includes(':') ? '-6' : '-4', 'neigh', 'show', ip, 'dev', 'eth0']);
  return /lladdr ([0-9a-f:]{17})/.exec(out)?.[1];
}

export function arping(net: TestNetwork, host: string, ip: string, count = 2, ifname = 'eth0'): { replies: number; macs: string[]; output: string } {
  const r = net.execStatus(host, 'arping', ['-c', String(count), '-w', String(count + 1), '-I', ifname, ip]);
  const macs = [...r.stdout.matchAll(/reply from \S+ \[([0-9A-Fa-f:]{17})\]/g)].map((m) => m[1].toLowerCase());
  return { replies: macs.length, macs, output: r.stdout + r.stderr };
}

export function ndisc6(net: TestNetwork, host: string, ip: string, ifname = 'eth0'): { mac: string | undefined; output: string; status: number } {
  const r = net.execStatus(host, 'ndisc6', ['-r', '2', '-w', '500', ip, ifname]);
  const mac = /Target link-layer address: ([0-9A-Fa-f:]{17})/.exec(r.stdout)?.[1]?.toLowerCase();
  return { mac, output: r.stdout + r.stderr, status: r.status };
}
