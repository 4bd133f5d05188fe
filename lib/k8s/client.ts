// A small JSON client for the Kubernetes API on node:https with one keep-alive connection pool.
//
// Credentials come from kubeconfig.ts (a kubeconfig file, or the in-cluster service account).
// We do not use @kubernetes/client-node's generated typed APIs: importing them costs about 75 MB
// of resident memory, they build a new https.Agent (a new TLS handshake) for every request and
// convert every object into class instances; the caches here keep plain JSON as sent.
//
//   const client = await KubeClient.fromKubeConfig(loadKubeConfig(path));
//   const r = await client.request('GET', '/api/v1/services', { query: { limit: 500 } });
//   r.status, r.body
//   const stream = client.watchStream('/api/v1/services', { watch: 1, resourceVersion: '42' });
//
// Every request is counted per verb (`requestCounts`) so tests and benchmarks can check how many
// calls the controller makes.

import { Agent, request as httpsRequest } from 'node:https';
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage, type ClientRequest } from 'node:http';
import { createInterface } from 'node:readline';
import { delegatedCredentials, loadKubeConfig, type Credentials, type KubeConfigSource } from './kubeconfig.js';

export { loadKubeConfig };

export type JSONValue = string | number | boolean | null | JSONValue[] | { [key: string]: JSONValue };

/** An API call that returned a non-2xx status. `reason` is the Status object's reason (e.g. `Conflict`). */
export class ApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly statusCode: number,
    readonly reason: string,
    readonly apiMessage: string,
  ) {
    super(`${method} ${path}: HTTP ${statusCode}${reason ? ` ${reason}` : ''}${apiMessage ? `: ${apiMessage}` : ''}`);
    this.name = 'ApiError';
  }
}

export function isApiError(err: unknown, statusCode?: number): err is ApiError {
  return err instanceof ApiError && (statusCode === undefined || err.statusCode === statusCode);
}

export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

export interface RequestOptionsLite {
  readonly query?: Query;
  readonly body?: unknown;
  /** Content type of the body; default application/json. */
  readonly contentType?: string;
  /** Abort after this many ms (default 30 s). */
  readonly timeoutMs?: number;
  /** Name the request is counted under (default: the HTTP method; e.g. LIST for collection GETs). */
  readonly verb?: string;
  /** Return the body as text (a string), not parsed JSON (e.g. /metrics through the pod proxy). */
  readonly text?: boolean;
}

export interface ApiResponse<T> {
  readonly status: number;
  readonly body: T;
}

/** A running watch: lines are delivered to onEvent; `done` settles when the stream ends. */
export interface WatchStream {
  /** Resolves when the stream ends (server closed it, timeout); rejects on HTTP or network errors. */
  readonly done: Promise<void>;
  /** Ends the stream. */
  abort(): void;
}

export interface WatchEvent {
  readonly type: string;
  readonly object: { [key: string]: JSONValue };
}

const AUTH_HEADER_TTL_MS = 30_000;

export class KubeClient {
  private readonly agent: Agent | HttpAgent;
  private readonly base: URL;
  private authHeaders: Record<string, string> = {};
  private authFetchedAt = -Infinity;
  private readonly counts = new Map<string, number>();

  private constructor(private readonly credentials: Credentials, base: URL, agent: Agent | HttpAgent) {
    this.base = base;
    this.agent = agent;
  }

  /** Builds a client with a keep-alive connection pool from loadKubeConfig()'s result. */
  static async fromKubeConfig(source: KubeConfigSource, maxSockets = 32): Promise<KubeClient> {
    const creds = source.kind === 'direct' ? source.credentials : await delegatedCredentials(source.path);
    const base = new URL(creds.server);
    const agent = base.protocol === 'http:'
      ? new HttpAgent({ keepAlive: true, maxSockets })
      : new Agent({
          keepAlive: true,
          maxSockets,
          ca: creds.ca,
          cert: creds.cert,
          key: creds.key,
          rejectUnauthorized: creds.rejectUnauthorized,
          servername: creds.servername,
        });
    return new KubeClient(creds, base, agent);
  }

  /** Requests made so far, keyed `VERB` (GET, LIST, WATCH, POST, PUT, PATCH, DELETE). */
  requestCounts(): ReadonlyMap<string, number> {
    return this.counts;
  }

  /** Total of all requests made so far. */
  totalRequests(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  private count(verb: string): void {
    this.counts.set(verb, (this.counts.get(verb) ?? 0) + 1);
  }

  private async headers(): Promise<Record<string, string>> {
    const now = Date.now();
    if (now - this.authFetchedAt > AUTH_HEADER_TTL_MS) {
      // Re-read credentials periodically: in-cluster service-account tokens rotate.
      const h = await this.credentials.authHeaders();
      this.authHeaders = h;
      this.authFetchedAt = now;
    }
    return this.authHeaders;
  }

  private url(path: string, query?: Query): URL {
    const u = new URL(this.base.toString().replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u;
  }

  private send(method: string, u: URL, headers: Record<string, string>, timeoutMs: number): ClientRequest {
    const fn = u.protocol === 'http:' ? httpRequest : httpsRequest;
    return fn(u, { method, agent: this.agent, headers, timeout: timeoutMs });
  }

  /** One JSON request. Non-2xx → ApiError (with the Status reason); network errors reject as they are. */
  async request<T = { [key: string]: JSONValue }>(method: string, path: string, opts: RequestOptionsLite = {}): Promise<ApiResponse<T>> {
    const u = this.url(path, opts.query);
    this.count(opts.verb ?? method);
    const headers: Record<string, string> = { Accept: opts.text ? 'text/plain, */*' : 'application/json', ...(await this.headers()) };
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.body));
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const timeoutMs = opts.timeoutMs ?? 30_000;
    return new Promise<ApiResponse<T>>((resolve, reject) => {
      const req = this.send(method, u, headers, timeoutMs);
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no response within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          let body: unknown = undefined;
          try {
            body = text.length ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          if (opts.text && status >= 200 && status <= 299) body = text;
          if (status < 200 || status > 299) {
            const st = (body ?? {}) as { reason?: unknown; message?: unknown };
            reject(new ApiError(method, path, status, typeof st.reason === 'string' ? st.reason : '', typeof st.message === 'string' ? st.message : text.slice(0, 200)));
            return;
          }
          resolve({ status, body: body as T });
        });
      });
      req.end(payload);
    });
  }

  /**
   * Opens a watch (`?watch=1` is added). Each JSON line becomes onEvent(event). A non-200 answer
   * rejects `done` with an ApiError; a network error rejects it with that error; an orderly end of
   * the stream resolves it. If nothing at all arrives for `idleTimeoutMs` the stream is treated as
   * dead (a half-open TCP connection after an API server crash) and `done` rejects.
   */
  watchStream(path: string, query: Query, onEvent: (event: WatchEvent) => void, idleTimeoutMs: number): WatchStream {
    const u = this.url(path, { ...query, watch: 1 });
    this.count('WATCH');
    let req: ClientRequest | undefined;
    let aborted = false;
    const done = (async () => {
      const headers: Record<string, string> = { Accept: 'application/json', ...(await this.headers()) };
      await new Promise<void>((resolve, reject) => {
        if (aborted) { resolve(); return; }
        req = this.send('GET', u, headers, idleTimeoutMs);
        req.on('timeout', () => req?.destroy(new Error(`watch ${path}: nothing received for ${idleTimeoutMs} ms`)));
        req.on('error', (err) => (aborted ? resolve() : reject(err)));
        req.on('response', (res: IncomingMessage) => {
          if (res.statusCode !== 200) {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              let st: { reason?: unknown; message?: unknown } = {};
              try { st = JSON.parse(text) as typeof st; } catch { /* not JSON */ }
              reject(new ApiError('WATCH', path, res.statusCode ?? 0, typeof st.reason === 'string' ? st.reason : '', typeof st.message === 'string' ? st.message : text.slice(0, 200)));
            });
            res.on('error', reject);
            return;
          }
          const lines = createInterface({ input: res, crlfDelay: Infinity });
          lines.on('error', () => { /* the same error reaches res's handlers below */ });
          lines.on('line', (line) => {
            if (!line) return;
            let ev: WatchEvent;
            try {
              ev = JSON.parse(line) as WatchEvent;
            } catch {
              req?.destroy(new Error(`watch ${path}: undecodable line: ${line.slice(0, 100)}`));
              return;
            }
            onEvent(ev);
          });
          res.on('error', (err) => (aborted ? resolve() : reject(err)));
          res.on('aborted', () => (aborted ? resolve() : reject(new Error(`watch ${path}: connection aborted`))));
          res.on('end', () => resolve());
          res.on('close', () => resolve());
        });
        req.end();
      });
    })();
    return {
      done,
      abort: () => {
        aborted = true;
        req?.destroy();
      },
    };
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}
