// Credential loading (lib/k8s/kubeconfig.ts): kubeconfig fields, relative paths, token files,
// delegation to client-node for exec/auth-provider, and the in-cluster service account.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKubeConfig, inClusterCredentials } from '../../../lib/k8s/kubeconfig.js';

const dir = mkdtempSync(join(tmpdir(), 'metallb-ts-kc-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function kubeconfig(name: string, user: Record<string, unknown>, cluster: Record<string, unknown> = { server: 'https://127.0.0.1:6443' }): string {
  const text = `apiVersion: v1
kind: Config
current-context: ctx
contexts:
- name: ctx
  context: {cluster: c, user: u}
clusters:
- name: c
  cluster: ${JSON.stringify(cluster)}
users:
- name: u
  user: ${JSON.stringify(user)}
`;
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

test('kubeconfig: inline data, bearer token, tls-server-name, insecure flag', async () => {
  const p = kubeconfig('a.yaml', { token: 'abc', 'client-certificate-data': Buffer.from('CERT').toString('base64') }, {
    server: 'https://[::1]:6443', 'certificate-authority-data': Buffer.from('CA').toString('base64'), 'tls-server-name': 'kubernetes', 'insecure-skip-tls-verify': true,
  });
  const src = loadKubeConfig(p);
  assert.equal(src.kind, 'direct');
  if (src.kind !== 'direct') return;
  assert.equal(src.credentials.server, 'https://[::1]:6443');
  assert.equal(src.credentials.ca?.toString(), 'CA');
  assert.equal(src.credentials.cert?.toString(), 'CERT');
  assert.equal(src.credentials.servername, 'kubernetes');
  assert.equal(src.credentials.rejectUnauthorized, false);
  assert.deepEqual(await src.credentials.authHeaders(), { Authorization: 'Bearer abc' });
});

test('kubeconfig: file paths are relative to the kubeconfig; token files are re-read', async () => {
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'ca.pem'), 'CAFILE');
  writeFileSync(join(dir, 'sub', 'token'), 'one\n');
  const p = kubeconfig('b.yaml', { tokenFile: 'sub/token' }, { server: 'https://127.0.0.1:1', 'certificate-authority': 'sub/ca.pem' });
  const src = loadKubeConfig(p);
  assert.equal(src.kind, 'direct');
  if (src.kind !== 'direct') return;
  assert.equal(src.credentials.ca?.toString(), 'CAFILE');
  assert.equal(src.credentials.rejectUnauthorized, true);
  assert.deepEqual(await src.credentials.authHeaders(), { Authorization: 'Bearer one' });
  writeFileSync(join(dir, 'sub', 'token'), 'two\n');
  assert.deepEqual(await src.credentials.authHeaders(), { Authorization: 'Bearer two' });
});

test('kubeconfig: exec and auth-provider users are delegated to client-node', () => {
  const p = kubeconfig('c.yaml', { exec: { command: 'x', apiVersion: 'client.authentication.k8s.io/v1' } });
  const src = loadKubeConfig(p);
  assert.equal(src.kind, 'delegate');
});

test('kubeconfig: a missing context or cluster is an error naming it', () => {
  const p = join(dir, 'd.yaml');
  writeFileSync(p, 'current-context: nope\ncontexts: []\nclusters: []\nusers: []\n');
  assert.throws(() => loadKubeConfig(p), /context "nope" not found/);
});

test('in-cluster: server from KUBERNETES_SERVICE_HOST/PORT (IPv6 bracketed), CA and token from the SA directory', async () => {
  const sa = join(dir, 'sa');
  mkdirSync(sa);
  writeFileSync(join(sa, 'ca.crt'), 'SACA');
  writeFileSync(join(sa, 'token'), 'satoken');
  const saved = { h: process.env.KUBERNETES_SERVICE_HOST, p: process.env.KUBERNETES_SERVICE_PORT };
  try {
    process.env.KUBERNETES_SERVICE_HOST = 'fd00:10:96::1';
    process.env.KUBERNETES_SERVICE_PORT = '443';
    const c = inClusterCredentials(sa);
    assert.equal(c.server, 'https://[fd00:10:96::1]:443');
    assert.equal(c.ca?.toString(), 'SACA');
    assert.deepEqual(await c.authHeaders(), { Authorization: 'Bearer satoken' });
    delete process.env.KUBERNETES_SERVICE_HOST;
    assert.throws(() => inClusterCredentials(sa), /not running in a cluster/);
  } finally {
    if (saved.h === undefined) delete process.env.KUBERNETES_SERVICE_HOST; else process.env.KUBERNETES_SERVICE_HOST = saved.h;
    if (saved.p === undefined) delete process.env.KUBERNETES_SERVICE_PORT; else process.env.KUBERNETES_SERVICE_PORT = saved.p;
  }
});
