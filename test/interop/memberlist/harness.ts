// Test harness for memberlist interop tests and the benchmark: starts Go peers (hashicorp/memberlist
// v0.1.7, built by scripts/setup.d/30-memberlist.sh) and our member as separate processes speaking
// one line protocol (JSON events on stdout, commands on stdin). Not a test file itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createSocket } from 'node:dgram';
import { createServer, isIPv6 } from 'node:net';

export interface PeerEvent {
  event: string;
  self?: string;
  t: number;
  node?: { name: string; addr: string; port: number };
  failed?: boolean;
  /** leave events: 'dead' (failure) or 'left' (graceful), as the member recorded the node. */
  state?: string;
  count?: number;
  error?: string;
  members?: { name: string; addr: string; port: number }[];
  decrypt_failed?: number;
  invalid_msg?: number;
  [k: string]: unknown;
}

export function goPeerBinary(): string {
  const path = `${process.env.METALLB_TS_CACHE ?? '/var/cache/metallb-ts'}/memberlist-peer/mlpeer`;
  if (!existsSync(path)) {
    throw new Error(`the hashicorp/memberlist test peer is missing (${path}); run scripts/setup.sh (or scripts/setup.d/30-memberlist.sh)`);
  }
  return path;
}

export const tsPeerScript = fileURLToPath(new URL('./ts-peer.js', import.meta.url));

export interface PeerSpec {
  kind: 'go' | 'ts';
  name: string;
  bind: string;
  port: number;
  secret?: string;
  profile?: 'lan' | 'fast';
  join?: string[];
  count?: number;
}

/** One peer process (Go or ours). */
export class PeerProcess {
  readonly events: PeerEvent[] = [];
  readonly proc: ChildProcess;
  private waiters: { pred: (e: PeerEvent) => boolean; resolve: (e: PeerEvent) => void }[] = [];
  stderr = '';
  exited = false;

  constructor(readonly spec: PeerSpec) {
    const args = ['--name', spec.name, '--bind', spec.bind, '--port', String(spec.port), '--profile', spec.profile ?? 'fast',
      '--count', String(spec.count ?? 1)];
    if (spec.secret) args.push('--secret', spec.secret);
    if (spec.join && spec.join.length > 0) args.push('--join', spec.join.join(','));
    if (spec.kind === 'go' && process.env.MEMBERLIST_PEER_VERBOSE) args.push('--verbose');
    this.proc = spec.kind === 'go'
      ? spawn(goPeerBinary(), args.map((a) => (a.startsWith('--') ? a.slice(1) : a)), { stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(process.execPath, [tsPeerScript, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      let ev: PeerEvent;
      try {
        ev = JSON.parse(line) as PeerEvent;
      } catch {
        return;
      }
      this.events.push(ev);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(ev)) return true;
        w.resolve(ev);
        return false;
      });
    });
    this.proc.stderr!.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-4000); });
    this.proc.on('exit', () => { this.exited = true; });
    this.proc.stdin!.on('error', () => undefined);
  }

  get name(): string {
    return this.spec.name;
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Resolves with the first event (past or future) matching `pred`; rejects after `timeoutMs`. */
  waitFor(pred: (e: PeerEvent) => boolean, timeoutMs: number, what = 'event'): Promise<PeerEvent> {
    const past = this.events.find(pred);
    if (past) return Promise.resolve(past);
    return this.waitNext(pred, timeoutMs, what);
  }

  /** Like waitFor, but only events arriving from now on. */
  waitNext(pred: (e: PeerEvent) => boolean, timeoutMs: number, what = 'event'): Promise<PeerEvent> {
    return new Promise<PeerEvent>((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`${this.spec.kind} peer ${this.name}: no ${what} within ${timeoutMs} ms; stderr: ${this.stderr.slice(-500)}`));
      }, timeoutMs);
      const done = (e: PeerEvent): void => {
        clearTimeout(t);
        resolve(e);
      };
      this.waiters.push({ pred, resolve: done });
    });
  }

  send(cmd: string): void {
    if (!this.exited) this.proc.stdin!.write(`${cmd}\n`);
  }

  async members(timeoutMs = 5000): Promise<string[]> {
    const p = this.waitNext((e) => e.event === 'members' && e.self === this.name, timeoutMs, 'members reply');
    this.send('members');
    return (await p).members!.map((m) => m.name).sort();
  }

  async stats(timeoutMs = 5000): Promise<PeerEvent> {
    const p = this.waitNext((e) => e.event === 'stats' && e.self === this.name, timeoutMs, 'stats reply');
    this.send('stats');
    return p;
  }

  kill9(): void {
    if (!this.exited) this.proc.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.kill('SIGKILL');
    await gone;
  }

  /** CPU seconds (user+system) and RSS bytes of the process, from /proc. */
  usage(): { cpuSeconds: number; rssBytes: number } {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { cpuSeconds: ticks / 100, rssBytes: rssKb * 1024 };
  }
}

/** A port free for both UDP and TCP on `host` (best effort: something may take it before use). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    const udpOk = await new Promise<boolean>((resolve) => {
      const s = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
      s.once('error', () => resolve(false));
      s.bind(port, host, () => s.close(() => resolve(true)));
    });
    if (!udpOk) continue;
    const tcpOk = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, host, () => srv.close(() => resolve(true)));
    });
    if (tcpOk) return port;
  }
  throw new Error('no free port found');
}

/** Polls `check` until it returns true or `timeoutMs` passes (no timing assertion: just a bound). */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`not reached within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
