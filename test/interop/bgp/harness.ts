// Shared pieces of the BGP interop tests and bench: FRR's bgpd in a namespace (no systemd, no
// zebra: routes are checked in bgpd's own RIB through vtysh JSON), and our session in a driver
// process inside another namespace.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { TestNetwork } from '../../../lib/sandbox/netns.js';
import type { DriverCommand, DriverOptions, DriverRoute } from './speaker-driver.js';

const BGPD = '/usr/lib/frr/bgpd';
const VTYSH = '/usr/bin/vtysh';

/** Throws a clear message when FRR is not installed. */
export function requireFRR(): void {
  for (const p of [BGPD, VTYSH]) {
    if (!existsSync(p)) throw new Error(`${p} is missing: install FRR with scripts/setup.sh (Debian package "frr" in scripts/apt-packages.txt)`);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000, stepMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(stepMs);
  }
}

/** bgpd of FRR in one namespace, with its config file, pid file and vty socket in a temp dir. */
export class FRR {
  readonly dir: string;
  private proc?: ChildProcess;

  constructor(private readonly net: TestNetwork, private readonly host: string, config: string) {
    this.dir = mkdtempSync(join(tmpdir(), 'mtbgp-frr-'));
    writeFileSync(join(this.dir, 'bgpd.conf'), config);
  }

  start(): void {
    rmSync(join(this.dir, 'bgpd.pid'), { force: true });
    // -S: no privilege drop, -Z: no zebra, foreground so TestNetwork.destroy() kills it
    this.proc = this.net.spawn(this.host, BGPD, ['-S', '-Z', '-f', join(this.dir, 'bgpd.conf'), '-i', join(this.dir, 'bgpd.pid'), '--vty_socket', this.dir, '-P', '0', '--log', `file:${join(this.dir, 'bgpd.log')}`], { stdio: 'ignore' });
  }

  async waitReady(): Promise<void> {
    await waitFor('bgpd vty socket', () => (this.vtysh('show bgp summary json').length > 0 ? true : undefined), 15_000, 100);
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    // the spawned process is `ip netns exec`, which execs bgpd: same pid
    p.kill('SIGKILL');
    await exited;
    this.proc = undefined;
  }

  vtysh(...commands: string[]): string {
    const args = ['--vty_socket', this.dir];
    for (const c of commands) args.push('-c', c);
    return execFileSync(VTYSH, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  json<T = Record<string, unknown>>(command: string): T {
    return JSON.parse(this.vtysh(`${command} json`)) as T;
  }

  neighborState(address: string): string | undefined {
    const n = this.json<Record<string, { bgpState?: string }>>(`show bgp neighbor ${address}`);
    return n[address]?.bgpState;
  }

  /** The prefixes (text) bgpd holds for an address family. */
  prefixes(afi: 'ipv4' | 'ipv6' = 'ipv4'): string[] {
    const t = this.json<{ routes?: Record<string, unknown> }>(`show bgp ${afi} unicast`);
    return Object.keys(t.routes ?? {});
  }

  /** The prefixes bgpd holds from one peer (by its address). */
  prefixesFrom(peer: string, afi: 'ipv4' | 'ipv6' = 'ipv4'): string[] {
    const t = this.json<{ routes?: Record<string, { peerId?: string }[]> }>(`show bgp ${afi} unicast`);
    return Object.entries(t.routes ?? {})
      .filter(([, paths]) => paths.some((p) => p.peerId === peer))
      .map(([prefix]) => prefix)
      .sort();
  }

  /** Sends a signal to bgpd (e.g. SIGSTOP to freeze it). */
  signal(sig: NodeJS.Signals): void {
    this.proc?.kill(sig);
  }

  /** The paths bgpd holds for one prefix, with the attributes tests check. */
  route(prefix: string, afi: 'ipv4' | 'ipv6' = 'ipv4'): FRRPath[] {
    const r = this.json<{ paths?: RawPath[] }>(`show bgp ${afi} unicast ${prefix}`);
    return (r.paths ?? []).map((p) => ({
      asPath: p.aspath?.string ?? '',
      asPathLength: p.aspath?.length ?? -1,
      origin: p.origin ?? '',
      localPref: p.locPrf ?? p.localpref,
      communities: p.community?.string ?? '',
      nextHops: (p.nexthops ?? []).map((n) => n.ip),
      valid: p.valid === true,
      peer: p.peer?.peerId ?? '',
    }));
  }

  log(): string {
    try {
      return readFileSync(join(this.dir, 'bgpd.log'), 'utf8');
    } catch {
      return '';
    }
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

interface RawPath {
  aspath?: { string?: string; length?: number };
  origin?: string;
  locPrf?: number;
  localpref?: number;
  community?: { string?: string };
  nexthops?: { ip: string }[];
  valid?: boolean;
  peer?: { peerId?: string };
}

export interface FRRPath {
  asPath: string;
  asPathLength: number;
  origin: string;
  localPref?: number;
  communities: string;
  nextHops: string[];
  valid: boolean;
  peer: string;
}

export type DriverEvent = { event: string; [k: string]: unknown };

/** Our BGP session running in a process inside a host namespace. */
export class SpeakerDriver {
  readonly events: DriverEvent[] = [];
  private readonly proc: ChildProcess;
  private stderr = '';

  constructor(net: TestNetwork, host: string) {
    const script = join(dirname(fileURLToPath(import.meta.url)), 'speaker-driver.js');
    this.proc = net.spawn(host, process.execPath, ['--enable-source-maps', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    const proc = this.proc;
    if (!proc.stdout || !proc.stderr) throw new Error('driver has no stdio');
    createInterface({ input: proc.stdout }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as DriverEvent);
      } catch {
        this.events.push({ event: 'unparsable', line });
      }
    });
    proc.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  send(cmd: DriverCommand): void {
    this.proc.stdin?.write(`${JSON.stringify(cmd)}\n`);
  }

  start(options: DriverOptions): void {
    this.send({ op: 'start', options });
  }

  setRoutes(routes: DriverRoute[]): void {
    this.send({ op: 'set', routes });
  }

  count(event: string, match: (e: DriverEvent) => boolean = () => true): number {
    return this.events.filter((e) => e.event === event && match(e)).length;
  }

  async waitEvent(event: string, match: (e: DriverEvent) => boolean = () => true, timeoutMs = 30_000, after = 0): Promise<DriverEvent> {
    return waitFor(`driver event ${event} (stderr: ${this.stderr.slice(-500)})`, () => this.events.slice(after).find((e) => e.event === event && match(e)), timeoutMs, 50);
  }

  async stats(): Promise<DriverEvent> {
    const n = this.events.length;
    this.send({ op: 'stats' });
    return this.waitEvent('stats', () => true, 10_000, n);
  }

  async close(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.send({ op: 'close' });
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }

  get stderrText(): string {
    return this.stderr;
  }
}

export function route(prefix: string, communities: number[] = [], localPref = 0): DriverRoute {
  return { prefix, communities, localPref };
}

/** A:B community text as FRR prints it. */
export function community(a: number, b: number): number {
  return a * 65536 + b;
}
