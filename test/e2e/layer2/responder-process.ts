// A Layer2Announcer in its own process, run inside a node namespace by the layer-2 e2e tests
// and the benchmark. Commands arrive as JSON lines on stdin, answers leave as JSON lines on
// stdout; logs go to stderr.
//   {"cmd":"announce","ips":["198.51.100.200","fd00::200"]}   -> {"event":"announced",...}
//   {"cmd":"reannounce","ips":[...]}                           -> {"event":"reannounced"}
//   {"cmd":"rescan"}                                           -> {"event":"rescanned",...}
//   {"cmd":"status"}                                           -> {"event":"status",...}
// Arguments: --rescan-ms N (default 10000), --log-level L (default info).
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino, destination } from 'pino';
import { mustParseIP } from '../../../lib/ip/index.js';
import { Layer2Announcer, type Layer2Counters } from '../../../lib/layer2/index.js';

const { values } = parseArgs({ options: { 'rescan-ms': { type: 'string', default: '10000' }, 'log-level': { type: 'string', default: 'info' } } });
const logger = pino({ level: values['log-level'] ?? 'info', base: { caller: 'layer2-e2e' } }, destination(2));

const counts = { requests: new Map<string, number>(), responses: new Map<string, number>(), gratuitous: new Map<string, number>() };
const bump = (m: Map<string, number>, ip: string): void => { m.set(ip, (m.get(ip) ?? 0) + 1); };
const counters: Layer2Counters = {
  requestReceived: (ip) => bump(counts.requests, ip),
  responseSent: (ip) => bump(counts.responses, ip),
  gratuitousSent: (ip) => bump(counts.gratuitous, ip),
};

const say = (obj: object): void => { process.stdout.write(`${JSON.stringify(obj)}\n`); };
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

const announcer = new Layer2Announcer({ logger, counters, rescanIntervalMs: Number(values['rescan-ms']) });
try {
  await announcer.ready();
} catch (err) {
  say({ event: 'error', message: String(err) });
  process.exit(3);
}
say({ event: 'ready', interfaces: announcer.interfaceStatus() });

const status = () => {
  const cpu = process.cpuUsage();
  return {
    event: 'status',
    announced: announcer.announcedAddresses().map(String),
    interfaces: announcer.interfaceStatus(),
    requests: Object.fromEntries(counts.requests),
    responses: Object.fromEntries(counts.responses),
    gratuitous: Object.fromEntries(counts.gratuitous),
    cpuMicros: cpu.user + cpu.system,
    cpuUserMicros: cpu.user,
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
  };
};

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  void (async () => {
    try {
      const msg = JSON.parse(line) as { cmd: string; ips?: string[] };
      switch (msg.cmd) {
        case 'announce':
          announcer.setAnnounced((msg.ips ?? []).map(mustParseIP));
          say({ event: 'announced', ips: announcer.announcedAddresses().map(String) });
          break;
        case 'reannounce':
          announcer.reannounce((msg.ips ?? []).map(mustParseIP));
          say({ event: 'reannounced' });
          break;
        case 'rescan':
          await announcer.rescan();
          say({ event: 'rescanned', interfaces: announcer.interfaceStatus() });
          break;
        case 'status':
          say(status());
          break;
        case 'reset-loop-delay':
          loopDelay.reset();
          say({ event: 'reset' });
          break;
        default:
          say({ event: 'error', message: `unknown command ${msg.cmd}` });
      }
    } catch (err) {
      say({ event: 'error', message: String(err) });
    }
  })();
});
lines.on('close', () => {
  announcer.close();
  process.exit(0);
});
