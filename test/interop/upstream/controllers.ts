// Controller parity harness: one fresh control plane (kube-apiserver + etcd, the project's
// manifests applied) per implementation, our controller on one and upstream MetalLB v0.12.1's
// controller on the other, each with the `controller` ServiceAccount's own token.
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { ControllerProcess, NS, startEnv, type Env } from '../../integration/controller/env.js';
import { upstreamBinary } from './upstream.js';

export type Impl = 'ours' | 'upstream';

/** A free TCP port on loopback (upstream's controller always serves /metrics on all addresses). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface ControllerEnv {
  readonly impl: Impl;
  readonly env: Env;
  readonly controller: ControllerProcess;
  stop(): Promise<void>;
}

/** A control plane with one controller of the given implementation running against it. */
export async function startControllerEnv(impl: Impl): Promise<ControllerEnv> {
  const env = await startEnv();
  let controller: ControllerProcess;
  try {
    if (impl === 'ours') {
      controller = ControllerProcess.start(env);
    } else {
      const port = await freePort();
      const child = spawn(upstreamBinary('controller'), [
        `--kubeconfig=${env.controllerKubeconfig}`,
        `--port=${port}`,
        '--log-level=debug',
      ], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', METALLB_NAMESPACE: NS, METALLB_ML_SECRET_NAME: 'memberlist', METALLB_DEPLOYMENT: 'controller' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      controller = new ControllerProcess(child);
      controller.port = port;
    }
  } catch (err) {
    await env.cp.stop();
    throw err;
  }
  return {
    impl, env, controller,
    async stop() {
      await controller.stop().catch(() => undefined);
      await env.cp.stop();
    },
  };
}
