// ts-peer: our member (lib/memberlist) as a separate process speaking the same command/event
// protocol as the Go peer (peer/main.go), so tests and the benchmark can kill -9 it and measure it
// exactly like the Go members. Not a test file itself.
//   node dist/test/interop/memberlist/ts-peer.js --name n --bind 127.0.0.1 --port 7946 \
//        [--secret s] [--profile lan|fast] [--join a,b] [--count N]
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Memberlist, type MemberInfo } from '../../../lib/memberlist/index.js';

const { values } = parseArgs({
  options: {
    name: { type: 'string', default: 'ts-peer' },
    bind: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '7946' },
    secret: { type: 'string', default: '' },
    profile: { type: 'string', default: 'lan' },
    join: { type: 'string', default: '' },
    count: { type: 'string', default: '1' },
  },
});

function emit(ev: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ...ev, t: Date.now() })}\n`);
}
const node = (m: MemberInfo): Record<string, unknown> => ({ name: m.name, addr: m.addr, port: m.port });

// sampled every 20 ms; reported as the delay beyond the sampling interval
const LOOP_SAMPLE_MS = 20;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
loopDelay.enable();
const profile = values.profile === 'fast' ? 'fast' : 'lan';
const members: Memberlist[] = [];
for (let i = 0; i < Number(values.count); i++) {
  const name = i === 0 ? values.name! : `${values.name!}-${i}`;
  const ml = new Memberlist({
    name, bindAddr: values.bind!, bindPort: Number(values.port) + i,
    secretKey: values.secret ? Buffer.from(values.secret, 'utf8') : null, timers: profile,
  });
  ml.on('join', (m) => emit({ event: 'join', self: name, node: node(m) }));
  ml.on('leave', (m) => emit({ event: 'leave', self: name, node: node(m), state: m.state, failed: m.state === 'dead' }));
  ml.on('update', (m) => emit({ event: 'update', self: name, node: node(m) }));
  await ml.start();
  members.push(ml);
  emit({ event: 'ready', self: name, addr: values.bind, port: ml.boundPort() });
}

async function joinAll(addrs: string[]): Promise<void> {
  for (const ml of members) {
    try {
      emit({ event: 'joined', self: ml.name, count: await ml.join(addrs) });
    } catch (err) {
      emit({ event: 'joined', self: ml.name, count: 0, error: (err as Error).message });
    }
  }
}
if (values.join) await joinAll(values.join.split(','));

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, arg] = line.trim().split(/\s+/);
  void (async () => {
    switch (cmd) {
      case 'members':
        for (const ml of members) emit({ event: 'members', self: ml.name, members: ml.members().map(node) });
        break;
      case 'stats':
        for (const ml of members) {
          const c = ml.counters;
          emit({ event: 'stats', self: ml.name, decrypt_failed: c.udpUndecryptable + c.tcpUndecryptable, invalid_msg: c.messagesInvalid, counters: c,
            loop_delay_p99_ms: Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_SAMPLE_MS), loop_delay_max_ms: Math.max(0, loopDelay.max / 1e6 - LOOP_SAMPLE_MS) });
        }
        loopDelay.reset(); // each stats reply covers the time since the previous one

        break;
      case 'join':
        if (arg) await joinAll(arg.split(','));
        break;
      case 'leave':
        for (const ml of members) {
          const ok = await ml.leave(Number(arg ?? 1000));
          await ml.shutdown();
          emit({ event: 'left', self: ml.name, ...(ok ? {} : { error: 'timeout waiting for leave broadcast' }) });
        }
        break;
      case 'exit':
        await Promise.all(members.map((ml) => ml.shutdown()));
        process.exit(0);
    }
  })();
});
rl.on('close', () => {
  void Promise.all(members.map((ml) => ml.shutdown())).then(() => process.exit(0));
});
