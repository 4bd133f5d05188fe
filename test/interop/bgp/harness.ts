// Shared pieces of the BGP interop tests and bench: FRR's bgpd in a namespace (now in
// test/support/sandbox/frr.ts, re-exported here; routes are checked in bgpd's own RIB through vtysh JSON),
// and our session in a driver process inside another namespace.
import type { ChildProcess } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { TestNetwork } from '../../support/sandbox/netns.js';
import type { DriverCommand, DriverOptions, DriverRoute } from './speaker-driver.js';
import { waitFor } from '../../support/sandbox/frr.js';

export { FRR, requireFRR, sleep, waitFor, type FRRPath, type FRROptions } from '../../support/sandbox/frr.js';

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
