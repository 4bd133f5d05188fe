// FRR (Free Range Routing) as a BGP router inside a TestNetwork namespace, for the BGP interop
// tests, the benchmarks and the demo. No systemd and no watchfrr: the daemons run in the
// foreground under `ip netns exec`, so TestNetwork.destroy() kills them, with their config, pid
// files, vty sockets and logs in one temporary directory.
//
//   const frr = new FRR(net, 'router', bgpdConfigText);                 // bgpd only (no zebra):
//   frr.start(); await frr.waitReady();                                 //   routes stay in bgpd's RIB
//   frr.json('show bgp summary'); frr.route('203.0.113.1/32');          // vtysh JSON
//   const r = new FRR(net, 'router', conf, { zebra: true });            // bgpd + zebra: best routes
//   r.start(); await r.waitReady(); r.kernelRoute('203.0.113.1/32');    //   go into the namespace's kernel
//   await frr.stop(); frr.cleanup();
//
// zebra cannot skip its privilege drop (it has no -S), so with `zebra: true` the directory is
// handed to the `frr` user (Debian package "frr"); bgpd still runs as root (-S) and talks to
// zebra over the zserv socket in that directory.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestNetwork } from './netns.js';

const BGPD = '/usr/lib/frr/bgpd';
const ZEBRA = '/usr/lib/frr/zebra';
const VTYSH = '/usr/bin/vtysh';

/** Throws a clear message when FRR is not installed. */
export function requireFRR(): void {
  for (const p of [BGPD, ZEBRA, VTYSH]) {
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

/** Polls `ready` every 20 ms (blocking) for at most `timeoutMs`; returns whether it became true. */
function waitSync(ready: () => boolean, timeoutMs: number): boolean {
  const end = Date.now() + timeoutMs;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  while (!ready()) {
    if (Date.now() > end) return false;
    Atomics.wait(cell, 0, 0, 20);
  }
  return true;
}

export interface FRROptions {
  /** Also run zebra, so bgpd's best routes are installed in the namespace's kernel (default false). */
  readonly zebra?: boolean;
  /** Prefix of the temporary directory under os.tmpdir() (default "mtbgp-frr-"). */
  readonly dirPrefix?: string;
}

/** One next hop of a route zebra holds (`show ip route <prefix> json`). */
export interface FRRKernelNextHop {
  readonly ip: string;
  readonly interfaceName: string;
  readonly active: boolean;
  readonly fib: boolean;
}

/** A route as zebra holds it, with whether it is installed in the kernel (FIB). */
export interface FRRKernelRoute {
  readonly prefix: string;
  readonly protocol: string;
  readonly installed: boolean;
  readonly nextHops: FRRKernelNextHop[];
}

/** bgpd (and optionally zebra) of FRR in one namespace, with their files in a temp dir. */
export class FRR {
  readonly dir: string;
  private proc?: ChildProcess;
  private zebraProc?: ChildProcess;
  private readonly zebra: boolean;

  constructor(private readonly net: TestNetwork, private readonly host: string, config: string, options: FRROptions = {}) {
    this.zebra = options.zebra === true;
    this.dir = mkdtempSync(join(tmpdir(), options.dirPrefix ?? 'mtbgp-frr-'));
    writeFileSync(join(this.dir, 'bgpd.conf'), config);
    if (this.zebra) {
      writeFileSync(join(this.dir, 'zebra.conf'), `hostname ${host}\n`);
      const uid = Number(execFileSync('id', ['-u', 'frr'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'frr'], { encoding: 'utf8' }).trim());
      for (const f of ['', 'bgpd.conf', 'zebra.conf']) chownSync(join(this.dir, f), uid, gid);
    }
  }

  private get zservPath(): string {
    return join(this.dir, 'zserv.api');
  }

  start(): void {
    rmSync(join(this.dir, 'bgpd.pid'), { force: true });
    if (this.zebra) {
      rmSync(join(this.dir, 'zebra.pid'), { force: true });
      // foreground, drops to user frr; -z: its zserv socket in our directory
      this.zebraProc = this.net.spawn(this.host, ZEBRA, ['-f', join(this.dir, 'zebra.conf'), '-i', join(this.dir, 'zebra.pid'), '-z', this.zservPath, '--vty_socket', this.dir, '-P', '0', '--log', `file:${join(this.dir, 'zebra.log')}`], { stdio: 'ignore' });
    }
    // bgpd connects to zebra once at start and then retries slowly: let zebra's socket appear first
    if (this.zebra) waitSync(() => existsSync(this.zservPath), 10_000);
    // -S: no privilege drop, -Z: no zebra, foreground so TestNetwork.destroy() kills it
    const zebraArgs = this.zebra ? ['-z', this.zservPath] : ['-Z'];
    this.proc = this.net.spawn(this.host, BGPD, ['-S', ...zebraArgs, '-f', join(this.dir, 'bgpd.conf'), '-i', join(this.dir, 'bgpd.pid'), '--vty_socket', this.dir, '-P', '0', '--log', `file:${join(this.dir, 'bgpd.log')}`], { stdio: 'ignore' });
  }

  async waitReady(): Promise<void> {
    await waitFor('bgpd vty socket', () => (this.vtysh('show bgp summary json').length > 0 ? true : undefined), 15_000, 100);
    if (this.zebra) await waitFor('zebra vty socket', () => (this.vtysh('show zebra client summary').length > 0 ? true : undefined), 15_000, 100);
  }

  async stop(): Promise<void> {
    for (const p of [this.proc, this.zebraProc]) {
      if (!p || p.exitCode !== null || p.signalCode !== null) continue;
      const exited = new Promise<void>((r) => p.once('exit', () => r()));
      // the spawned process is `ip netns exec`, which execs the daemon: same pid
      p.kill('SIGKILL');
      await exited;
    }
    this.proc = undefined;
    this.zebraProc = undefined;
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

  /** zebra's routes for one prefix (needs `zebra: true`): `show ip[v6] route <prefix> json`. */
  kernelRoutes(prefix: string): FRRKernelRoute[] {
    if (!this.zebra) throw new Error('kernelRoutes needs an FRR started with { zebra: true }');
    const cmd = prefix.includes(':') ? 'show ipv6 route' : 'show ip route';
    const r = this.json<Record<string, RawZebraRoute[]>>(`${cmd} ${prefix}`);
    return (r[prefix] ?? []).map((z) => ({
      prefix: z.prefix ?? prefix,
      protocol: z.protocol ?? '',
      installed: z.installed === true,
      nextHops: (z.nexthops ?? []).map((n) => ({ ip: n.ip ?? '', interfaceName: n.interfaceName ?? '', active: n.active === true, fib: n.fib === true })),
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

interface RawZebraRoute {
  prefix?: string;
  protocol?: string;
  installed?: boolean;
  nexthops?: { ip?: string; interfaceName?: string; active?: boolean; fib?: boolean }[];
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
