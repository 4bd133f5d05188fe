// Runs INSIDE a network namespace (started by ControlPlane.relayIntoNamespace): listens on
// host:port of the namespace and forwards every connection to the control plane's Unix socket,
// which the harness (in the host namespace) forwards to kube-apiserver on loopback. Unix socket
// paths are shared across network namespaces, TCP loopback is not.
//   node apiserver-relay.js <host> <port> <unix-socket-path>
// Prints "listening" once ready; exits when its stdin closes (the harness died or stopped it).
import { createServer, connect } from 'node:net';

const [host, portText, socketPath] = process.argv.slice(2);
const port = Number(portText);
if (!host || !socketPath || !Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write('usage: apiserver-relay.js <host> <port> <unix-socket-path>\n');
  process.exit(2);
}

const server = createServer((down) => {
  const up = connect(socketPath);
  const close = (): void => {
    down.destroy();
    up.destroy();
  };
  down.on('error', close).on('close', close);
  up.on('error', close).on('close', close);
  down.pipe(up);
  up.pipe(down);
});
server.on('error', (err) => {
  process.stderr.write(`relay: ${err.message}\n`);
  process.exit(1);
});
server.listen(port, host, () => process.stdout.write('listening\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
