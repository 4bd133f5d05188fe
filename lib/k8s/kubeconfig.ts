// Credentials for the API server: a kubeconfig file, or the in-cluster service account.
//
// Why not @kubernetes/client-node's KubeConfig for everything: importing it loads the whole
// generated API (thousands of classes), about 75 MB of resident memory, half of the controller's
// budget at 5,000 Services. The common cases (server, CA, client certificate, bearer token or
// token file, basic auth, insecure-skip-tls-verify, tls-server-name, in-cluster) are read here
// with js-yaml; anything else (exec plugins, auth-provider, proxy-url) is delegated to
// client-node's KubeConfig, imported only then.

import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { RequestOptions } from 'node:https';
import yaml from 'js-yaml';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface Credentials {
  /** e.g. https://127.0.0.1:6443 */
  readonly server: string;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** false when insecure-skip-tls-verify. */
  readonly rejectUnauthorized: boolean;
  readonly servername?: string;
  /** Authorization headers (re-read on every call: token files rotate). */
  authHeaders(): Promise<Record<string, string>>;
}

/** What loadKubeConfig found: credentials read directly, or a kubeconfig client-node must interpret. */
export type KubeConfigSource =
  | { readonly kind: 'direct'; readonly credentials: Credentials }
  | { readonly kind: 'delegate'; readonly path: string; readonly reason: string };

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Obj, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function named(list: unknown, name: string, inner: string, what: string): Obj {
  if (!Array.isArray(list)) throw new Error(`kubeconfig: no ${what}s`);
  for (const item of list) {
    if (isObj(item) && item.name === name && isObj(item[inner])) return item[inner] as Obj;
  }
  throw new Error(`kubeconfig: ${what} ${JSON.stringify(name)} not found`);
}

/** Reads `path` (kubeconfig) or, without a path, the in-cluster service account. */
export function loadKubeConfig(path?: string): KubeConfigSource {
  if (!path) return { kind: 'direct', credentials: inClusterCredentials() };
  const base = dirname(path);
  const resolve = (p: string): string => (isAbsolute(p) ? p : join(base, p));
  const doc = yaml.load(readFileSync(path, 'utf8'));
  if (!isObj(doc)) throw new Error(`kubeconfig ${path}: not a mapping`);
  const contextName = str(doc, 'current-context');
  if (!contextName) throw new Error(`kubeconfig ${path}: no current-context`);
  const context = named(doc.contexts, contextName, 'context', 'context');
  const cluster = named(doc.clusters, String(context.cluster ?? ''), 'cluster', 'cluster');
  const user = context.user !== undefined ? named(doc.users, String(context.user), 'user', 'user') : {};
  for (const unsupported of ['exec', 'auth-provider']) {
    if (user[unsupported] !== undefined) return { kind: 'delegate', path, reason: `user ${unsupported}` };
  }
  if (cluster['proxy-url'] !== undefined) return { kind: 'delegate', path, reason: 'cluster proxy-url' };
  const server = str(cluster, 'server');
  if (!server) throw new Error(`kubeconfig ${path}: cluster has no server`);
  const fileOrData = (o: Obj, fileKey: string, dataKey: string): Buffer | undefined => {
    const data = str(o, dataKey);
    if (data) return Buffer.from(data, 'base64');
    const file = str(o, fileKey);
    return file ? readFileSync(resolve(file)) : undefined;
  };
  const token = str(user, 'token');
  const tokenFile = str(user, 'tokenFile') ?? str(user, 'token-file');
  const username = str(user, 'username');
  const password = str(user, 'password') ?? '';
  return {
    kind: 'direct',
    credentials: {
      server,
      ca: fileOrData(cluster, 'certificate-authority', 'certificate-authority-data'),
      cert: fileOrData(user, 'client-certificate', 'client-certificate-data'),
      key: fileOrData(user, 'client-key', 'client-key-data'),
      rejectUnauthorized: cluster['insecure-skip-tls-verify'] !== true,
      servername: str(cluster, 'tls-server-name'),
      authHeaders: async (): Promise<Record<string, string>> => {
        if (token) return { Authorization: `Bearer ${token}` };
        if (tokenFile) return { Authorization: `Bearer ${readFileSync(resolve(tokenFile), 'utf8').trim()}` };
        if (username) return { Authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` };
        return {};
      },
    },
  };
}

/** The pod's service account: KUBERNETES_SERVICE_HOST/PORT, its CA and (rotating) token. */
export function inClusterCredentials(dir = SERVICE_ACCOUNT_DIR): Credentials {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new Error('not running in a cluster (KUBERNETES_SERVICE_HOST/PORT unset) and no --kubeconfig given');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: readFileSync(join(dir, 'ca.crt')),
    rejectUnauthorized: true,
    authHeaders: async () => ({ Authorization: `Bearer ${readFileSync(join(dir, 'token'), 'utf8').trim()}` }),
  };
}

/** Credentials from client-node's KubeConfig, for kubeconfigs this module does not interpret. */
export async function delegatedCredentials(path: string): Promise<Credentials> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`kubeconfig ${path}: no current cluster`);
  const tls: RequestOptions = {};
  await kc.applyToHTTPSOptions(tls);
  const asBuffer = (v: unknown): Buffer | undefined => (Buffer.isBuffer(v) ? v : typeof v === 'string' ? Buffer.from(v) : undefined);
  return {
    server: cluster.server,
    ca: asBuffer(tls.ca),
    cert: asBuffer(tls.cert),
    key: asBuffer(tls.key),
    rejectUnauthorized: tls.rejectUnauthorized !== false,
    servername: tls.servername,
    authHeaders: async () => {
      const opts: RequestOptions = {};
      await kc.applyToHTTPSOptions(opts);
      const h: Record<string, string> = {};
      for (const [k, v] of Object.entries(opts.headers ?? {})) {
        if (typeof v === 'string') h[k] = v;
        else if (typeof v === 'number') h[k] = String(v);
        else if (Array.isArray(v)) h[k] = v.join(', ');
      }
      if (opts.auth) h.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
      return h;
    },
  };
}
