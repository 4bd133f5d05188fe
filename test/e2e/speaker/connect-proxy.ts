// Runs INSIDE a node-network namespace (the router's): an HTTP CONNECT proxy on a Unix socket,
// for kube-apiserver's egress selector ("cluster" traffic: the pods/proxy subresource), so the
// API server on the host's loopback reaches the speakers' /metrics at their Pod IPs inside the
// test network, exactly as a cluster's API server reaches Pod IPs. Only targets inside
// 198.51.100.0/24 are allowed (the test LAN).
//   node connect-proxy.js <unix-socket-path>      prints "listening"; exits when stdin closes
import { connect, createServer } from 'node:net';
import { rmSync } from 'node:fs';

const [socketPath] = process.argv.slice(2);
if (!socketPath) {
  process.stderr.write('usage: connect-proxy.js <unix-socket-path>\n');
  process.exit(2);
}
rmSync(socketPath, { force: true });
const server = createServer((down) => {
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    if (head.length > 8192) { down.destroy(); return; }
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    down.off('data', onData);
    const m = /^CONNECT (198\.51\.100\.\d{1,3}):(\d{1,5}) HTTP\/1\.[01]\r\n/.exec(head.subarray(0, end + 4).toString('latin1'));
    if (!m) { down.end('HTTP/1.1 403 Forbidden\r\n\r\n'); return; }
    const up = connect(Number(m[2]), m[1], () => {
      down.write('HTTP/1.1 200 Connection established\r\n\r\n');
      const rest = head.subarray(end + 4);
      if (rest.length) up.write(rest);
      down.pipe(up);
      up.pipe(down);
    });
    const close = (): void => { down.destroy(); up.destroy(); };
    up.on('error', () => { if (!down.destroyed) down.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'); close(); }).on('close', close);
    down.on('error', close).on('close', close);
  };
  down.on('data', onData);
  down.on('error', () => down.destroy());
});
server.on('error', (err) => {
  process.stderr.write(`connect-proxy: ${err.message}\n`);
  process.exit(1);
});
server.listen(socketPath, () => process.stdout.write('listening\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
