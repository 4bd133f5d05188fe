// A TCP relay between our speaker and FRR that, on command, injects garbage towards the speaker
// in the middle of an established session. Runs in its own namespace:
//   node garbage-proxy.js LISTEN_IP UPSTREAM_IP
// stdin  {"op":"inject","hex":"..."}   stdout {"event":"listening"} {"event":"accepted","n":1}
//        {"event":"after-inject","hex":"<bytes the speaker sent after the garbage>"}
import { createServer, connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

const [listenIP, upstreamIP] = process.argv.slice(2);
const emit = (e: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(e)}\n`);

let current: { speaker: Socket; router: Socket; injected: boolean } | undefined;
let accepted = 0;

const server = createServer((speaker) => {
  accepted++;
  emit({ event: 'accepted', n: accepted });
  const router = connect({ host: upstreamIP, port: 179, localAddress: listenIP });
  speaker.pipe(router);
  router.pipe(speaker);
  const pair = { speaker, router, injected: false };
  current = pair;
  const end = (): void => {
    if (pair.injected) return;
    speaker.destroy();
    router.destroy();
  };
  speaker.on('error', end);
  router.on('error', end);
  speaker.on('close', end);
  router.on('close', end);
});
server.listen(179, listenIP, () => emit({ event: 'listening' }));

createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line) as { op: string; hex?: string };
  if (cmd.op !== 'inject' || !current) return;
  const { speaker, router } = current;
  current.injected = true;
  current = undefined;
  // cut the relay, then play a broken peer towards the speaker and record its answer
  speaker.unpipe(router);
  router.unpipe(speaker);
  router.destroy();
  const got: Buffer[] = [];
  speaker.on('data', (d: Buffer) => got.push(d));
  speaker.resume(); // unpipe() left the stream paused
  speaker.on('close', () => emit({ event: 'after-inject', hex: Buffer.concat(got).toString('hex') }));
  speaker.write(Buffer.from(cmd.hex ?? '', 'hex'));
  setTimeout(() => speaker.destroy(), 3000).unref();
});
