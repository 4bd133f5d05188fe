// The demo's tiny HTTP backend: runs inside one node's network namespace (started by
// test/support/sandbox/demo.ts) and answers every request with one line naming the node, so a `curl`
// through a LoadBalancer address shows which node served it.
//   node demo-backend.js <node-name> <listen-address> <port>
// Prints "listening" once ready; exits on SIGTERM/SIGINT or when its stdin closes.
import { createServer } from 'node:http';

const [nodeName, host, portText] = process.argv.slice(2);
const port = Number(portText);
if (!nodeName || !host || !Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write('usage: demo-backend.js <node-name> <listen-address> <port>\n');
  process.exit(2);
}

const server = createServer((req, res) => {
  const body = `Hello from the metallb-ts demo: served by ${nodeName} (backend ${host}:${port}) to ${req.socket.remoteAddress ?? '?'}\n`;
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.on('error', (err) => {
  process.stderr.write(`demo-backend: ${err.message}\n`);
  process.exit(1);
});
server.listen(port, host, () => process.stdout.write('listening\n'));
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
