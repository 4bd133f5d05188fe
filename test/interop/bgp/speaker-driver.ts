// A BGPSession in its own process, so a test can run it inside a network namespace
// (`ip netns exec <ns> node speaker-driver.js`). Commands arrive as JSON lines on stdin, events
// leave as JSON lines on stdout.
//   {"op":"start","options":{peerAddress, peerPort?, peerASN, myASN, holdTimeSeconds?, password?, sourceAddress?, routerID?, backoffMaxMs?}}
//   {"op":"set","routes":[{"prefix":"203.0.113.10/32","communities":[..],"localPref":0,"nextHop"?: ".."}]}
//   {"op":"stats"} (counters, CPU, event-loop delay p99 since the last stats or establishment)   {"op":"close"}
import { createInterface } from 'node:readline';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { mustParseCIDR, mustParseIP } from '../../../lib/ip/index.js';
import { BGPSession } from '../../../lib/bgp/session.js';
import type { Route } from '../../../lib/bgp/advertisement.js';

export interface DriverOptions {
  peerAddress: string;
  peerPort?: number;
  peerASN: number;
  myASN: number;
  holdTimeSeconds?: number;
  password?: string;
  sourceAddress?: string;
  routerID?: string;
  nodeName?: string;
  backoffMaxMs?: number;
}

export interface DriverRoute {
  prefix: string;
  communities: number[];
  localPref: number;
  nextHop?: string;
}

export type DriverCommand = { op: 'start'; options: DriverOptions } | { op: 'set'; routes: DriverRoute[] } | { op: 'stats' } | { op: 'close' };

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

let session: BGPSession | undefined;
let desired = new Map<string, Route>();
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();

async function handle(cmd: DriverCommand): Promise<void> {
  switch (cmd.op) {
    case 'start': {
      const o = cmd.options;
      session = new BGPSession({
        peerAddress: mustParseIP(o.peerAddress),
        peerPort: o.peerPort,
        peerASN: o.peerASN,
        myASN: o.myASN,
        holdTimeSeconds: o.holdTimeSeconds,
        password: o.password,
        sourceAddress: o.sourceAddress ? mustParseIP(o.sourceAddress) : undefined,
        routerID: o.routerID ? mustParseIP(o.routerID) : undefined,
        nodeName: o.nodeName,
        backoffMaxMs: o.backoffMaxMs,
      });
      session.on('state', (state) => emit({ event: 'state', state }));
      // the event-loop figure covers the advertisement after establishment, not the connect
      session.on('established', () => loopDelay.reset());
      session.on('established', (info) => emit({ event: 'established', localAddress: info.localAddress.toString(), routerID: info.routerID.toString(), holdTime: info.holdTimeSeconds, fourOctetAS: info.fourOctetAS, families: info.families }));
      session.on('down', (reason) => emit({ event: 'down', reason }));
      session.on('notification-sent', (code, subcode) => emit({ event: 'notification-sent', code, subcode }));
      session.on('notification-received', (code, subcode) => emit({ event: 'notification-received', code, subcode }));
      session.on('route-rejected', (prefix, reason) => emit({ event: 'route-rejected', prefix, reason }));
      session.setAdvertisements(desired);
      session.start();
      return;
    }
    case 'set': {
      const routes = new Map<string, Route>();
      for (const r of cmd.routes) {
        const prefix = mustParseCIDR(r.prefix);
        routes.set(prefix.toString(), { prefix, communities: r.communities, localPref: r.localPref, nextHop: r.nextHop ? mustParseIP(r.nextHop) : undefined });
      }
      desired = routes;
      session?.setAdvertisements(routes);
      emit({ event: 'set', count: routes.size });
      return;
    }
    case 'stats':
      emit({ event: 'stats', ...session?.stats, announced: session?.announcedPrefixes, cpuUserUs: process.cpuUsage().user, cpuSystemUs: process.cpuUsage().system, eventLoopP99Ms: loopDelay.percentile(99) / 1e6, eventLoopMaxMs: loopDelay.max / 1e6 });
      loopDelay.reset();
      return;
    case 'close':
      await session?.close();
      emit({ event: 'closed' });
      process.exit(0);
  }
}

const rl = createInterface({ input: process.stdin });
let chain = Promise.resolve();
rl.on('line', (line) => {
  if (!line.trim()) return;
  chain = chain.then(() => handle(JSON.parse(line) as DriverCommand)).catch((err: unknown) => emit({ event: 'error', message: String(err) }));
});
rl.on('close', () => process.exit(0));
emit({ event: 'ready' });
