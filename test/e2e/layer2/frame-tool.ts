// A raw-frame client for the layer-2 e2e tests, run inside the client namespace: sends
// hand-made Ethernet frames and records every ARP and IPv6 frame that arrives, with its arrival
// time. JSON lines on stdin/stdout:
//   {"cmd":"send","frames":["<hex>",...]}  -> {"event":"sent","count":N}
//   {"cmd":"dump"}                         -> {"event":"frames","frames":[{"ms":t,"hex":"..."}]} (and clears)
// Argument: the interface name (default eth0).
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { FrameSocket } from '../../../lib/layer2/sockets.js';

const ifname = process.argv[2] ?? 'eth0';
const ifindex = Number(readFileSync(`/sys/class/net/${ifname}/ifindex`, 'utf8'));
const say = (obj: object): void => { process.stdout.write(`${JSON.stringify(obj)}\n`); };

const arp = FrameSocket.open(ifindex, ifname, 0x0806);
const ipv6 = FrameSocket.open(ifindex, ifname, 0x86dd);
let frames: { ms: number; hex: string }[] = [];
const record = (frame: Buffer): void => { frames.push({ ms: performance.now(), hex: frame.toString('hex') }); };
const fail = (err: Error): void => say({ event: 'error', message: err.message });
arp.onFrame(record, fail);
ipv6.onFrame(record, fail);
say({ event: 'ready' });

createInterface({ input: process.stdin }).on('line', (line) => {
  const msg = JSON.parse(line) as { cmd: string; frames?: string[] };
  if (msg.cmd === 'send') {
    let count = 0;
    for (const hex of msg.frames ?? []) if (arp.send(Buffer.from(hex, 'hex'))) count++;
    say({ event: 'sent', count });
  } else if (msg.cmd === 'dump') {
    say({ event: 'frames', frames });
    frames = [];
  }
}).on('close', () => {
  arp.close();
  ipv6.close();
  process.exit(0);
});
