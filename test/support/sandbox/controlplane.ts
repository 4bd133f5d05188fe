// A real, throw-away Kubernetes control plane (etcd + kube-apiserver) on loopback, shared by the
// integration/e2e tests and the demo. No kubelet, no kube-controller-manager, no scheduler.
//
//   import { startControlPlane } from '../support/sandbox/controlplane.js';
//   const cp = await startControlPlane();             // ready in a few seconds
//   try {
//     cp.kubeconfigPath;                              // admin kubeconfig (client cert, system:masters)
//     cp.server;                                      // "https://127.0.0.1:<port>"
//     await cp.kubectl(['apply', '-f', 'manifests/metallb.yaml']);   // throws on non-zero exit
//     const r = await cp.kubectl(['get', 'ns', 'x'], { check: false }); // r.code, r.stdout, r.stderr
//     const kc = cp.kubeConfig();                     // @kubernetes/client-node KubeConfig
//     const sa = await cp.serviceAccountKubeconfig('metallb-system', 'controller'); // real RBAC
//     // processes inside a network namespace cannot reach the host's loopback: relay the API
//     // server into the namespace through a Unix socket (the filesystem is shared):
//     const inNs = await cp.relayIntoNamespace(net.host('node1').netns);
//     net.spawn('node1', 'node', ['dist/bin/speaker.js', `--kubeconfig=${inNs.kubeconfigPath}`]);
//   } finally {
//     await cp.stop();                                // kills every process, removes every file
//   }
//
// Binaries follow the envtest convention: $KUBEBUILDER_ASSETS if it holds etcd, kube-apiserver and
// kubectl, else the cache filled by scripts/k8s-binaries.sh (run by scripts/setup.sh). Nothing is
// downloaded or built here; a missing binary is an error that says to run scripts/setup.sh.
//
// What the API server is configured with (see docs/install.md, "Test control plane"):
//  - TLS with a test CA (keys from node:crypto, certificates from node-forge; made once per process
//    and reused by its later control planes, since key generation dominates start-up); serving cert for
//    127.0.0.1, ::1, localhost, kubernetes[.default[.svc[.cluster.local]]] and `extraSANs`;
//  - client-certificate admin (CN=metallb-ts-admin, O=system:masters); RBAC authorization, so
//    `kubectl auth can-i --as=...` and service-account tokens (TokenRequest) are meaningful;
//  - dual-stack service ranges 10.96.0.0/16 and fd00:10:96::/112: room for 65 k Services, so a
//    10 k-Service bench fits (allocation only: nothing routes to them, there is no kube-proxy);
//  - default/kubernetes gets Endpoints and an EndpointSlice naming 192.0.2.1 (ADVERTISED_ADDRESS),
//    a documentation address no process dials; clients use the kubeconfig's loopback URL;
//  - the ServiceAccount admission plugin off (no controller-manager creates `default` accounts,
//    so tests can create Pod objects directly); Pod Security Admission on (namespace labels work);
//  - etcd with --unsafe-no-fsync in the run's temporary directory.
// Without kube-controller-manager nothing garbage-collects owner references and deleted
// namespaces stay Terminating; tests that need a clean slate use their own namespace names.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { generateKeyPair, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync, readFileSync, accessSync, constants as fsConstants, readdirSync, openSync, closeSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { KubeConfig } from '@kubernetes/client-node';

const generateKeyPairAsync = promisify(generateKeyPair);

export const DEFAULT_K8S_VERSION = 'v1.33.13';
/** Address kube-apiserver advertises in default/kubernetes (TEST-NET-1; never contacted). */
export const ADVERTISED_ADDRESS = '192.0.2.1';

export interface ControlPlaneOptions {
  /** Directory with etcd, kube-apiserver and kubectl. Default: see resolveBinaries(). */
  readonly binDir?: string;
  /** Extra subject alternative names (IP addresses or DNS names) for the serving certificate. */
  readonly extraSANs?: readonly string[];
  /** Address kube-apiserver binds to. Default 127.0.0.1. Never bind a non-loopback host address. */
  readonly bindAddress?: string;
  /** How long to wait for /readyz. Default 90 s (a cold disk cache on 2 cores can be slow). */
  readonly readyTimeoutMs?: number;
  /** Extra kube-apiserver flags ("--name=value"), appended last so they override the defaults. */
  readonly extraApiServerFlags?: readonly string[];
  /** Prefix of the temporary directory (under os.tmpdir()). */
  readonly dirPrefix?: string;
  /**
   * Keep the ServiceAccount admission plugin on (default false: tests create Pod objects without
   * a controller-manager). A cluster with kube-controller-manager and kubelets needs it, so that
   * pods get their API token volume.
   */
  readonly serviceAccountAdmission?: boolean;
}

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface KubectlOptions {
  /** Text for kubectl's stdin (e.g. with `apply -f -`). */
  readonly input?: string;
  /** Throw when kubectl exits non-zero (default true). */
  readonly check?: boolean;
  /** Use this kubeconfig instead of the admin one. */
  readonly kubeconfigPath?: string;
  /** Working directory (e.g. for `apply -k .`). */
  readonly cwd?: string;
}

export interface NamespaceRelay {
  /** Kubeconfig for processes inside the namespace (admin credentials unless told otherwise). */
  readonly kubeconfigPath: string;
  /** URL the processes inside the namespace use, e.g. "https://127.0.0.1:6443". */
  readonly server: string;
  /** The relay process (inside the namespace). stop() of the control plane kills it. */
  readonly process: ChildProcess;
}

export interface RelayOptions {
  /** Address inside the namespace to listen on. Default 127.0.0.1 (the namespace's own loopback). */
  readonly host?: string;
  /** Port inside the namespace. Default 6443. */
  readonly port?: number;
  /** Kubeconfig whose credentials the namespace copy uses (default: the admin kubeconfig). */
  readonly credentialsFrom?: string;
}

export interface StartupPhases {
  /** Keys and certificates (made once per process and SAN set, then reused). */
  pkiMs: number;
  /** etcd start until /health answers (runs alongside the PKI phase). */
  etcdMs: number;
  /** kube-apiserver start until /readyz answers 200. */
  apiserverReadyMs: number;
  /** /readyz until namespace `default` exists. */
  namespacesMs: number;
}

export interface ControlPlane {
  /** Admin kubeconfig (embedded CA, client certificate and key). */
  readonly kubeconfigPath: string;
  /** API server URL on loopback, e.g. "https://127.0.0.1:40123". */
  readonly server: string;
  /** The run's temporary directory (certificates, logs, etcd data); removed by stop(). */
  readonly dir: string;
  /** Directory of the binaries in use. */
  readonly binDir: string;
  /** CA certificate (PEM) that signed the serving and client certificates. */
  readonly caCertPem: string;
  /** Process ids of etcd, kube-apiserver and any namespace relays (for leak checks). */
  processIds(): number[];
  /** How long each start-up phase took, in milliseconds (for bench/controlplane.ts). */
  readonly startupPhases: Readonly<StartupPhases>;
  /** Runs kubectl against this API server (admin credentials unless opts.kubeconfigPath). */
  kubectl(args: readonly string[], opts?: KubectlOptions): Promise<KubectlResult>;
  /** A client-node KubeConfig loaded from the admin kubeconfig (or another one). */
  kubeConfig(kubeconfigPath?: string): KubeConfig;
  /**
   * Writes a kubeconfig that authenticates as a ServiceAccount with a bound token from the
   * TokenRequest API (so RBAC applies exactly as in a cluster). The account must exist.
   */
  serviceAccountKubeconfig(namespace: string, name: string): Promise<string>;
  /**
   * Makes the API server reachable from inside a network namespace: the harness serves a Unix
   * socket in the run directory that forwards to the API server, and a small relay process inside
   * the namespace listens on host:port (default 127.0.0.1:6443) and forwards to that socket.
   */
  relayIntoNamespace(netns: string, opts?: RelayOptions): Promise<NamespaceRelay>;
  /** Path of the Unix socket that forwards to the API server (created on first use). */
  unixSocket(): Promise<string>;
  /** Kills every process (relays, kube-apiserver, etcd) and removes the run directory. Idempotent. */
  stop(): Promise<void>;
}

/** Error raised when the Kubernetes binaries are missing. */
export class MissingBinariesError extends Error {
  constructor(readonly searched: readonly string[]) {
    super(`etcd, kube-apiserver and kubectl not found (looked in ${searched.join(', ')}); ` +
      'run scripts/setup.sh (or scripts/k8s-binaries.sh) once, or point KUBEBUILDER_ASSETS at a directory holding them');
    this.name = 'MissingBinariesError';
  }
}

const BINARIES = ['etcd', 'kube-apiserver', 'kubectl'] as const;

function hasAllBinaries(dir: string): boolean {
  return BINARIES.every((b) => {
    try {
      accessSync(join(dir, b), fsConstants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * The directory holding etcd, kube-apiserver and kubectl: $KUBEBUILDER_ASSETS when it has all
 * three, else ${METALLB_TS_CACHE:-/var/cache/metallb-ts}/k8s-${METALLB_TS_K8S_VERSION:-v1.33.13}/bin.
 */
export function resolveBinaries(): string {
  const searched: string[] = [];
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (assets) {
    if (hasAllBinaries(assets)) return assets;
    searched.push(`KUBEBUILDER_ASSETS=${assets}`);
  }
  const cache = process.env.METALLB_TS_CACHE || '/var/cache/metallb-ts';
  const version = process.env.METALLB_TS_K8S_VERSION || DEFAULT_K8S_VERSION;
  const dir = join(cache, `k8s-${version}`, 'bin');
  if (hasAllBinaries(dir)) return dir;
  searched.push(dir);
  throw new MissingBinariesError(searched);
}

// ---------------------------------------------------------------------------------------------
// Certificates

interface KeyPairPem {
  readonly privatePem: string; // PKCS#1 "RSA PRIVATE KEY"
  readonly publicPem: string; // SPKI "PUBLIC KEY"
}

async function rsaKeyPair(): Promise<KeyPairPem> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return { privatePem: privateKey, publicPem: publicKey };
}

interface CertSpec {
  readonly subject: forge.pki.CertificateField[];
  readonly keys: KeyPairPem;
  readonly extensions: object[];
  readonly issuer?: { readonly cert: forge.pki.Certificate; readonly keys: KeyPairPem };
}

function makeCertificate(spec: CertSpec): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(spec.keys.publicPem);
  // positive serial: clear the top bit of the first byte
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  cert.serialNumber = serial.toString('hex');
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 60 * 60 * 1000);
  cert.validity.notAfter = new Date(now + 365 * 24 * 60 * 60 * 1000);
  cert.setSubject(spec.subject);
  cert.setIssuer(spec.issuer ? spec.issuer.cert.subject.attributes : spec.subject);
  cert.setExtensions(spec.extensions);
  const signer = spec.issuer ? spec.issuer.keys : spec.keys;
  cert.sign(forge.pki.privateKeyFromPem(signer.privatePem) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return cert;
}

function isIpLiteral(s: string): boolean {
  return /^[0-9.]+$/.test(s) || s.includes(':');
}

interface GeneratedPki {
  readonly caPem: string;
  readonly serving: { readonly certPem: string; readonly keyPem: string };
  readonly admin: { readonly certPem: string; readonly keyPem: string };
  readonly serviceAccount: KeyPairPem;
}

// One PKI per process and SAN set: RSA key generation is the slow part of a start on a busy
// machine, and every control plane lives only on loopback for the length of a test run.
const pkiCache = new Map<string, Promise<GeneratedPki>>();
function sharedPki(extraSANs: readonly string[]): Promise<GeneratedPki> {
  const k = [...extraSANs].sort().join(',');
  let p = pkiCache.get(k);
  if (!p) {
    p = generatePki(extraSANs);
    p.catch(() => pkiCache.delete(k));
    pkiCache.set(k, p);
  }
  return p;
}

async function generatePki(extraSANs: readonly string[]): Promise<GeneratedPki> {
  // Two RSA keys: the CA's, and one shared by the serving certificate, the admin client certificate
  // and service-account token signing. Separate keys buy nothing for a throw-away loopback cluster,
  // and key generation is the slowest part of the first start on a busy machine.
  const [caKeys, leafKeys] = await Promise.all([rsaKeyPair(), rsaKeyPair()]);
  const servingKeys = leafKeys;
  const adminKeys = leafKeys;
  const saKeys = leafKeys;
  const ca = makeCertificate({
    subject: [{ name: 'commonName', value: 'metallb-ts-test-ca' }],
    keys: caKeys,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ],
  });
  const issuer = { cert: ca, keys: caKeys };
  const names = ['127.0.0.1', '::1', '10.96.0.1', 'localhost', 'kubernetes', 'kubernetes.default',
    'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', ...extraSANs];
  const altNames = [...new Set(names)].map((n) => (isIpLiteral(n) ? { type: 7, ip: n } : { type: 2, value: n }));
  const serving = makeCertificate({
    subject: [{ name: 'commonName', value: 'kube-apiserver' }],
    keys: servingKeys,
    issuer,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  const admin = makeCertificate({
    subject: [
      { name: 'commonName', value: 'metallb-ts-admin' },
      { name: 'organizationName', value: 'system:masters' },
    ],
    keys: adminKeys,
    issuer,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
    ],
  });
  return {
    caPem: forge.pki.certificateToPem(ca),
    serving: { certPem: forge.pki.certificateToPem(serving), keyPem: servingKeys.privatePem },
    admin: { certPem: forge.pki.certificateToPem(admin), keyPem: adminKeys.privatePem },
    serviceAccount: saKeys,
  };
}

// ---------------------------------------------------------------------------------------------
// Kubeconfig files

interface KubeconfigSpec {
  readonly server: string;
  readonly caPem: string;
  readonly user: { readonly certPem: string; readonly keyPem: string } | { readonly token: string };
  readonly userName: string;
  readonly tlsServerName?: string;
}

function b64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}

/** Kubeconfig YAML; JSON is valid YAML, so no serializer is needed. */
function kubeconfigText(spec: KubeconfigSpec): string {
  const user = 'token' in spec.user
    ? { token: spec.user.token }
    : { 'client-certificate-data': b64(spec.user.certPem), 'client-key-data': b64(spec.user.keyPem) };
  const cluster: Record<string, string> = { server: spec.server, 'certificate-authority-data': b64(spec.caPem) };
  if (spec.tlsServerName) cluster['tls-server-name'] = spec.tlsServerName;
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'metallb-ts', cluster }],
    users: [{ name: spec.userName, user }],
    contexts: [{ name: 'metallb-ts', context: { cluster: 'metallb-ts', user: spec.userName } }],
    'current-context': 'metallb-ts',
    preferences: {},
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

// ---------------------------------------------------------------------------------------------
// Processes

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function tail(path: string, lines = 25): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

interface HttpProbe {
  readonly url: string;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

/** GET url; resolves with the status code (0 on connection errors). */
function probe(p: HttpProbe): Promise<number> {
  return new Promise((resolve) => {
    const u = new URL(p.url);
    const opts = { method: 'GET', host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port, path: u.pathname + u.search, timeout: 2000 };
    const req = u.protocol === 'https:'
      ? httpsRequest({ ...opts, ca: p.ca, cert: p.cert, key: p.key, servername: 'localhost' })
      : httpRequest(opts);
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

class ManagedProcess {
  readonly child: ChildProcess;
  exited = false;
  exitCode: number | null = null;
  private readonly exitPromise: Promise<void>;

  constructor(readonly name: string, cmd: string, args: readonly string[], readonly logPath: string) {
    const out = openSync(logPath, 'a');
    try {
      this.child = spawn(cmd, args, { stdio: ['ignore', out, out] });
    } finally {
      closeSync(out); // the child has its own copy
    }
    this.exitPromise = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        this.exited = true;
        this.exitCode = code;
        resolve();
      });
      this.child.once('error', () => {
        this.exited = true;
        resolve();
      });
    });
  }

  /** SIGTERM, then SIGKILL after graceMs. */
  async stop(graceMs: number): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGTERM');
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
    if ((await Promise.race([this.exitPromise.then(() => 'exited' as const), timer])) === 'timeout') {
      this.child.kill('SIGKILL');
      await this.exitPromise;
    }
  }

  killSync(): void {
    if (!this.exited && this.child.pid !== undefined) {
      try {
        process.kill(this.child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
}


// Every live control plane, so that an exiting test process does not leave processes or files.
const live = new Set<ControlPlaneImpl>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const cp of live) cp.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const cp of live) cp.destroySync();
      process.kill(process.pid, sig); // default action now that our listener is gone
    });
  }
}

/** Path of the compiled relay script that runs inside a network namespace. */
function relayScriptPath(): string {
  return join(dirname(fileURLToPath(import.meta.url)), 'apiserver-relay.js');
}

class ControlPlaneImpl implements ControlPlane {
  kubeconfigPath = '';
  server = '';
  caCertPem = '';
  private etcd?: ManagedProcess;
  private apiserver?: ManagedProcess;
  private socketServer?: Server;
  private socketPath?: string;
  private readonly sockets = new Set<Socket>();
  private readonly relays = new Set<ChildProcess>();
  private stopped = false;
  private adminCert = { certPem: '', keyPem: '' };
  private tokenCounter = 0;
  readonly startupPhases: StartupPhases = { pkiMs: 0, etcdMs: 0, apiserverReadyMs: 0, namespacesMs: 0 };

  constructor(readonly dir: string, readonly binDir: string) {}

  async start(opts: ControlPlaneOptions): Promise<void> {
    let mark = performance.now();
    const phase = (name: keyof StartupPhases): void => {
      const now = performance.now();
      this.startupPhases[name] = Math.round(now - mark);
      mark = now;
    };
    // etcd starts while the keys and certificates are made (it needs neither)
    const [clientPort, peerPort, securePort] = [await freePort(), await freePort(), await freePort()];
    this.etcd = new ManagedProcess('etcd', join(this.binDir, 'etcd'), [
      '--name=metallb-ts',
      `--data-dir=${join(this.dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${clientPort}`,
      `--advertise-client-urls=http://127.0.0.1:${clientPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=metallb-ts=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ], join(this.dir, 'etcd.log'));
    const etcd = this.etcd;
    const etcdReady = this.waitFor('etcd', etcd, () => probe({ url: `http://127.0.0.1:${clientPort}/health` }), 30_000)
      .then(() => { this.startupPhases.etcdMs = Math.round(performance.now() - mark); });
    etcdReady.catch(() => undefined); // awaited below; avoid an unhandled rejection meanwhile
    const pki = await sharedPki(opts.extraSANs ?? []);
    this.startupPhases.pkiMs = Math.round(performance.now() - mark);
    this.caCertPem = pki.caPem;
    this.adminCert = pki.admin;
    const f = (name: string, text: string): string => {
      const p = join(this.dir, name);
      writeFileSync(p, text, { mode: 0o600 });
      return p;
    };
    const caFile = f('ca.crt', pki.caPem);
    const servingCert = f('apiserver.crt', pki.serving.certPem);
    const servingKey = f('apiserver.key', pki.serving.keyPem);
    const saPub = f('sa.pub', pki.serviceAccount.publicPem);
    const saKey = f('sa.key', pki.serviceAccount.privatePem);
    await etcdReady;
    mark = performance.now();

    const bind = opts.bindAddress ?? '127.0.0.1';
    const host = bind.includes(':') ? `[${bind}]` : bind;
    this.server = `https://${host === '0.0.0.0' ? '127.0.0.1' : host}:${securePort}`;
    this.apiserver = new ManagedProcess('kube-apiserver', join(this.binDir, 'kube-apiserver'), [
      `--etcd-servers=http://127.0.0.1:${clientPort}`,
      `--bind-address=${bind}`,
      `--secure-port=${securePort}`,
      // published in default/kubernetes' Endpoints and EndpointSlice, as in a real cluster (some
      // clients probe that slice); a documentation address that nothing ever dials (no
      // kube-proxy), because Endpoints may not contain loopback addresses
      `--advertise-address=${ADVERTISED_ADDRESS}`,
      `--cert-dir=${join(this.dir, 'apiserver-certs')}`,
      `--tls-cert-file=${servingCert}`,
      `--tls-private-key-file=${servingKey}`,
      `--client-ca-file=${caFile}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      '--service-cluster-ip-range=10.96.0.0/16,fd00:10:96::/112',
      '--authorization-mode=RBAC',
      '--allow-privileged=true',
      ...(opts.serviceAccountAdmission ? [] : ['--disable-admission-plugins=ServiceAccount']),
      '--enable-priority-and-fairness=false',
      '--profiling=false',
      '--v=1',
      ...(opts.extraApiServerFlags ?? []),
    ], join(this.dir, 'kube-apiserver.log'));
    const tlsProbe = (path: string): Promise<number> =>
      probe({ url: `${this.server}${path}`, ca: pki.caPem, cert: pki.admin.certPem, key: pki.admin.keyPem });
    await this.waitFor('kube-apiserver', this.apiserver, () => tlsProbe('/readyz'), opts.readyTimeoutMs ?? 90_000);
    phase('apiserverReadyMs');
    // the bootstrap controller creates the system namespaces just after /readyz turns green
    await this.waitFor('kube-apiserver (namespace default)', this.apiserver, () => tlsProbe('/api/v1/namespaces/default'), 30_000);
    phase('namespacesMs');

    this.kubeconfigPath = f('admin.kubeconfig', kubeconfigText({
      server: this.server, caPem: pki.caPem, user: pki.admin, userName: 'metallb-ts-admin',
    }));
  }

  private async waitFor(what: string, proc: ManagedProcess, check: () => Promise<number>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (proc.exited) throw new Error(`${what} exited (code ${proc.exitCode}) before it was ready; log tail:\n${tail(proc.logPath)}`);
      if ((await check()) === 200) return;
      if (Date.now() > deadline) throw new Error(`${what} not ready after ${timeoutMs} ms; log tail:\n${tail(proc.logPath)}`);
      await sleep(100);
    }
  }

  processIds(): number[] {
    const all = [this.etcd?.child, this.apiserver?.child, ...this.relays];
    return all.map((c) => c?.pid).filter((p): p is number => typeof p === 'number');
  }

  kubectl(args: readonly string[], opts: KubectlOptions = {}): Promise<KubectlResult> {
    const full = [`--kubeconfig=${opts.kubeconfigPath ?? this.kubeconfigPath}`, `--cache-dir=${join(this.dir, 'kubectl-cache')}`, ...args];
    return new Promise((resolve, reject) => {
      const child = execFile(join(this.binDir, 'kubectl'), full, { cwd: opts.cwd, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          if (code !== 0 && opts.check !== false) {
            reject(new Error(`kubectl ${args.join(' ')} exited ${code}: ${stderr.trim() || stdout.trim()}`));
            return;
          }
          resolve({ code, stdout, stderr });
        });
      child.stdin?.end(opts.input ?? '');
    });
  }

  kubeConfig(kubeconfigPath?: string): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath ?? this.kubeconfigPath);
    return kc;
  }

  async serviceAccountKubeconfig(namespace: string, name: string): Promise<string> {
    const r = await this.kubectl(['create', 'token', name, '-n', namespace, '--duration=24h']);
    const token = r.stdout.trim();
    const path = join(this.dir, `sa-${namespace}-${name}-${++this.tokenCounter}.kubeconfig`);
    writeFileSync(path, kubeconfigText({ server: this.server, caPem: this.caCertPem, user: { token }, userName: `${namespace}:${name}` }), { mode: 0o600 });
    return path;
  }

  async unixSocket(): Promise<string> {
    if (this.socketPath) return this.socketPath;
    const path = join(this.dir, 'apiserver.sock');
    const target = new URL(this.server);
    const server = createServer((down) => {
      this.sockets.add(down);
      const up = connect({ host: target.hostname.replace(/^\[|\]$/g, ''), port: Number(target.port) });
      this.sockets.add(up);
      const close = (): void => {
        down.destroy();
        up.destroy();
        this.sockets.delete(down);
        this.sockets.delete(up);
      };
      down.on('error', close).on('close', close);
      up.on('error', close).on('close', close);
      down.pipe(up);
      up.pipe(down);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    this.socketServer = server;
    this.socketPath = path;
    return path;
  }

  async relayIntoNamespace(netns: string, opts: RelayOptions = {}): Promise<NamespaceRelay> {
    const socketPath = await this.unixSocket();
    const host = opts.host ?? '127.0.0.1';
    const port = opts.port ?? 6443;
    const script = relayScriptPath();
    if (!existsSync(script)) throw new Error(`relay script ${script} missing; run npm run build`);
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, script, host, String(port), socketPath],
      { stdio: ['pipe', 'pipe', 'pipe'] });
    this.relays.add(child);
    child.once('exit', () => this.relays.delete(child));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      let err = '';
      const timer = setTimeout(() => reject(new Error(`relay in ${netns} did not start: ${err}`)), 15_000);
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('listening')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`relay in ${netns} exited with ${code}: ${err.trim()}`));
      });
    });
    const urlHost = host.includes(':') ? `[${host}]` : host;
    const server = `https://${urlHost}:${port}`;
    const source = opts.credentialsFrom ? this.kubeConfig(opts.credentialsFrom) : undefined;
    const token = source?.getCurrentUser()?.token;
    const path = join(this.dir, `relay-${netns}-${port}.kubeconfig`);
    writeFileSync(path, kubeconfigText({
      server,
      caPem: this.caCertPem,
      user: token ? { token } : this.adminCert,
      userName: token ? 'service-account' : 'metallb-ts-admin',
      // the serving certificate names 127.0.0.1 and ::1; any other address is checked as "localhost"
      tlsServerName: host === '127.0.0.1' || host === '::1' ? undefined : 'localhost',
    }), { mode: 0o600 });
    return { kubeconfigPath: path, server, process: child };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const r of this.relays) r.kill('SIGKILL');
    for (const s of this.sockets) s.destroy();
    if (this.socketServer) await new Promise<void>((r) => this.socketServer?.close(() => r()));
    await this.apiserver?.stop(5_000);
    await this.etcd?.stop(5_000);
    rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }

  /** Synchronous last-resort cleanup (process exit or signal). */
  destroySync(): void {
    for (const r of this.relays) r.kill('SIGKILL');
    this.apiserver?.killSync();
    this.etcd?.killSync();
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
}

/**
 * Starts etcd and kube-apiserver on loopback and resolves once the API server is ready (a few
 * seconds). On any failure everything started so far is stopped and removed before the error
 * (with the failing component's log tail) is thrown.
 */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binDir = opts.binDir ?? resolveBinaries();
  if (opts.binDir && !hasAllBinaries(opts.binDir)) throw new MissingBinariesError([opts.binDir]);
  installExitHook();
  // a free port found by binding port 0 can be taken by someone else before etcd or
  // kube-apiserver binds it: such a start is retried with fresh ports (other errors are not)
  for (let attempt = 1; ; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), opts.dirPrefix ?? 'metallb-ts-cp-'));
    writeFileSync(join(dir, OWNER_FILE), `${process.pid}\n`);
    const cp = new ControlPlaneImpl(dir, binDir);
    live.add(cp);
    try {
      await cp.start(opts);
      return cp;
    } catch (err) {
      await cp.stop();
      if (attempt < 3 && /address already in use/i.test(String((err as Error).message))) continue;
      throw err;
    }
  }
}

const OWNER_FILE = 'owner.pid';

/** Run directories of control planes (for leak checks in tests): entries of os.tmpdir() with the prefix. */
export function listRunDirectories(prefix = 'metallb-ts-cp-'): string[] {
  return readdirSync(tmpdir()).filter((e) => e.startsWith(prefix)).map((e) => join(tmpdir(), e));
}

/**
 * Cleans up after test processes that were SIGKILLed (the only case the exit hook cannot cover):
 * for every run directory whose owning process is gone, kills the processes started with that
 * directory in their command line and removes the directory. Returns the directories removed.
 */
export function removeStaleControlPlanes(): string[] {
  const removed: string[] = [];
  for (const dir of listRunDirectories()) {
    let owner = NaN;
    try {
      owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8').trim());
    } catch {
      /* no owner file: a directory being created right now, or not ours */
      continue;
    }
    if (Number.isInteger(owner) && owner > 0 && pidAlive(owner)) continue;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dir)) process.kill(Number(entry), 'SIGKILL');
      } catch {
        /* exited meanwhile, or not ours to kill */
      }
    }
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
