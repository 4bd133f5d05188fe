// A test network of Linux network namespaces joined by one bridge, for e2e/interop tests and the
// demo. Needs root and iproute2. Addresses must be documentation ranges (or ULA) used only inside
// these namespaces. Every namespace gets a per-network prefix so parallel runs never collide, and
// destroy() kills everything still running inside before deleting the namespaces.

import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface HostSpec {
  /** Short role name, e.g. "router", "node1", "client". */
  readonly name: string;
  /** IPv4 address with prefix, e.g. "198.51.100.11/24". */
  readonly v4?: string;
  /** IPv6 address with prefix, e.g. "fd00::11/64" (added with nodad). */
  readonly v6?: string;
  /** Interface MAC, e.g. "02:00:00:00:00:11". */
  readonly mac?: string;
}

export interface Host extends HostSpec {
  /** The namespace's name (prefix + name). */
  readonly netns: string;
  /** The interface on the LAN inside the namespace. */
  readonly ifname: 'eth0';
}

function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

function tryRun(cmd: string, args: string[]): void {
  try {
    run(cmd, args);
  } catch {
    /* best effort during teardown */
  }
}

export function requireRoot(what: string): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(`${what} needs root (network namespaces); run as root, after scripts/setup.sh`);
  }
}

export class TestNetwork {
  readonly hosts = new Map<string, Host>();
  private readonly children = new Set<ChildProcess>();
  private readonly lan: string;
  private destroyed = false;
  private vethCount = 0;

  private constructor(readonly prefix: string) {
    this.lan = `${prefix}lan`;
  }

  /**
   * Creates the LAN (a bridge in its own namespace) and the hosts. `tag` names the area
   * (at most 5 characters, e.g. "bgp"); a random suffix keeps parallel networks apart.
   */
  static create(tag: string, hosts: readonly HostSpec[]): TestNetwork {
    requireRoot('TestNetwork');
    if (!/^[a-z0-9]{1,5}$/.test(tag)) throw new Error(`network tag must be 1-5 lower-case letters/digits, got "${tag}"`);
    const net = new TestNetwork(`mt${tag}${randomBytes(2).toString('hex')}-`);
    try {
      run('ip', ['netns', 'add', net.lan]);
      run('ip', ['-n', net.lan, 'link', 'set', 'lo', 'up']);
      run('ip', ['-n', net.lan, 'link', 'add', 'br0', 'type', 'bridge']);
      // no multicast snooping: without an MLD querier it would filter solicited-node multicast (NDP)
      run('ip', ['-n', net.lan, 'link', 'set', 'br0', 'type', 'bridge', 'mcast_snooping', '0', 'stp_state', '0', 'forward_delay', '0']);
      run('ip', ['-n', net.lan, 'link', 'set', 'br0', 'up']);
      for (const h of hosts) net.addHost(h);
    } catch (err) {
      net.destroy();
      throw err;
    }
    return net;
  }

  /** Adds one more host on the LAN. */
  addHost(spec: HostSpec): Host {
    const netns = `${this.prefix}${spec.name}`;
    run('ip', ['netns', 'add', netns]);
    run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    run('ip', ['netns', 'exec', netns, 'sysctl', '-qw',
      'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0',
      'net.ipv6.conf.all.accept_ra=0', 'net.ipv6.conf.default.accept_ra=0']);
    const veth = `v${this.prefix.slice(2, 10)}${this.vethCount++}`.slice(0, 15);
    run('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    run('ip', ['link', 'set', veth, 'netns', this.lan]);
    run('ip', ['-n', this.lan, 'link', 'set', veth, 'master', 'br0', 'up']);
    if (spec.mac) run('ip', ['-n', netns, 'link', 'set', 'eth0', 'address', spec.mac]);
    run('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
    if (spec.v4) run('ip', ['-n', netns, 'addr', 'add', spec.v4, 'dev', 'eth0']);
    if (spec.v6) run('ip', ['-n', netns, 'addr', 'add', spec.v6, 'dev', 'eth0', 'nodad']);
    const host: Host = { ...spec, netns, ifname: 'eth0' };
    this.hosts.set(spec.name, host);
    return host;
  }

  host(name: string): Host {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host "${name}" in test network ${this.prefix}`);
    return h;
  }

  /** Runs a command inside a host's namespace and returns its stdout (throws on non-zero exit). */
  exec(host: string, cmd: string, args: readonly string[] = [], input?: string): string {
    return run('ip', ['netns', 'exec', this.host(host).netns, cmd, ...args], input);
  }

  /** Like exec but returns the exit status and output instead of throwing. */
  execStatus(host: string, cmd: string, args: readonly string[] = []): { status: number; stdout: string; stderr: string } {
    try {
      return { status: 0, stdout: this.exec(host, cmd, args), stderr: '' };
    } catch (err) {
      const e = err as { status?: number; stdout?: string; stderr?: string };
      return { status: e.status ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }

  /** Starts a long-running process inside a host's namespace; destroy() kills it. */
  spawn(host: string, cmd: string, args: readonly string[] = [], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.host(host).netns, cmd, ...args], { stdio: 'pipe', ...opts });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Kills every process inside the namespaces, then deletes them. Safe to call twice. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const c of this.children) c.kill('SIGKILL');
    const all = [...[...this.hosts.values()].map((h) => h.netns), this.lan];
    for (const sig of ['-TERM', '-KILL']) {
      for (const ns of all) {
        let pids = '';
        try { pids = run('ip', ['netns', 'pids', ns]).trim(); } catch { /* gone */ }
        for (const pid of pids.split(/\s+/).filter(Boolean)) tryRun('kill', [sig, pid]);
      }
      if (sig === '-TERM') sleepSync(200);
    }
    for (const ns of all) tryRun('ip', ['netns', 'del', ns]);
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Deletes namespaces left behind by crashed runs (names starting with "mt"). Used by setup/CI. */
export function removeStaleNetworks(): string[] {
  const out = run('ip', ['netns', 'list']);
  const stale = out.split('\n').map((l) => l.split(' ')[0]).filter((n) => /^mt[a-z0-9]+-/.test(n));
  for (const ns of stale) {
    let pids = '';
    try { pids = run('ip', ['netns', 'pids', ns]).trim(); } catch { /* ignore */ }
    for (const pid of pids.split(/\s+/).filter(Boolean)) tryRun('kill', ['-KILL', pid]);
    tryRun('ip', ['netns', 'del', ns]);
  }
  return stale;
}
