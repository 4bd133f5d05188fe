// The `cluster` tier: metallb-ts installed on a real 3-node cluster (test/support/cluster) the way
// an operator installs it, with the images built from ./Dockerfile, running as real pods. Nothing
// but the cluster itself, the FRR router and the client runs outside a pod.
// One cluster for the whole tier (start-up is the expensive part); the parts run in this order and
// each leaves the install in the state the next one expects (documented at each part).
import { after, before, describe } from 'node:test';
import { startCluster, type Cluster } from '../support/cluster/cluster.js';
import { installTests } from './parts/install.js';
import { securityTests } from './parts/security.js';
import { layer2Tests } from './parts/layer2.js';
import { bgpTests } from './parts/bgp.js';
import { failoverTests } from './parts/failover.js';
import { rolloutTests } from './parts/rollout.js';

let cluster: Cluster | undefined;
const get = (): Cluster => {
  if (!cluster) throw new Error('the cluster did not start (see the before hook)');
  return cluster;
};

describe('real cluster', { timeout: 60 * 60_000 }, () => {
  before(async () => {
    cluster = await startCluster({ log: (l) => console.log(`# ${l}`) });
    const p = cluster.startupPhases;
    console.log(`# start-up phases (ms): ${JSON.stringify(p)}`);
  }, { timeout: 15 * 60_000 });
  after(async () => {
    await cluster?.stop();
  }, { timeout: 5 * 60_000 });

  describe('install', () => installTests(get));
  describe('securityContext and Pod Security', () => securityTests(get));
  describe('layer2', () => layer2Tests(get));
  describe('bgp', () => bgpTests(get));
  describe('failover', () => failoverTests(get));
  describe('drain and rolling update', () => rolloutTests(get));
});
