// Run inside the client namespace by bench/failover: sends an ARP request for one address every
// 50 ms from eth0 (arping only does whole seconds) and prints one JSON line at the first reply,
// {"event":"reply","mac":"..","epochMs":..}, then exits. Arguments: <target IPv4> <our IPv4> <our MAC>.
import { readFileSync } from 'node:fs';
import { FrameSocket } from '../../../lib/layer2/sockets.js';
import { ArpOperation, decodeArpFrame, encodeArpFrame } from '../../../lib/layer2/arp.js';
import { MacAddress } from '../../../lib/layer2/mac.js';
import { mustParseIP } from '../../../lib/ip/index.js';

const [targetText, ourIPText, ourMacText] = process.argv.slice(2);
const target = mustParseIP(targetText);
const ourIP = mustParseIP(ourIPText);
const ourMac = MacAddress.mustParse(ourMacText);
const ifindex = Number(readFileSync('/sys/class/net/eth0/ifindex', 'utf8'));
const sock = FrameSocket.open(ifindex, 'eth0');
const request = encodeArpFrame(MacAddress.BROADCAST, ourMac, {
  operation: ArpOperation.Request,
  senderHardwareAddress: ourMac,
  senderProtocolAddress: ourIP,
  targetHardwareAddress: MacAddress.ZERO,
  targetProtocolAddress: target,
});
sock.onFrame((frame) => {
  let arp;
  try {
    arp = decodeArpFrame(frame).arp;
  } catch {
    return;
  }
  if (arp.operation !== ArpOperation.Reply || !arp.senderProtocolAddress.equals(target) || !arp.targetProtocolAddress.equals(ourIP)) return;
  process.stdout.write(`${JSON.stringify({ event: 'reply', mac: arp.senderHardwareAddress.toString(), epochMs: Date.now() })}\n`);
  sock.close();
  process.exit(0);
}, (err) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
sock.send(request);
process.stdout.write(`${JSON.stringify({ event: 'ready' })}\n`);
setInterval(() => sock.send(request), 50);
