// Start-up and shutdown steps shared by bin/controller.ts and bin/speaker.ts.
import { readFileSync } from 'node:fs';
import type { Logger } from './log.js';

/** The version in package.json, or "0.0.0" when packaged without it. */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0'; // packaged without package.json
  }
}

/**
 * On the first of `signals`: logs, runs `stop` (e.g. stop the daemon, close the metrics server and
 * the API client) and exits 0; if `stop` hangs past `forceAfterMs` (or fails), logs an error and
 * exits 1: a forced shutdown is not a clean one. Later signals are ignored while stopping.
 */
export function exitOnSignals(log: Logger, signals: readonly NodeJS.Signals[], stop: () => Promise<void>, forceAfterMs = 5000): void {
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info({ op: 'shutdown', signal }, 'stopping');
    const force = setTimeout(() => {
      log.error({ op: 'shutdown', afterMs: forceAfterMs }, 'shutdown did not finish in time, forcing exit');
      process.exit(1);
    }, forceAfterMs);
    force.unref();
    void (async () => {
      try {
        await stop();
      } catch (err) {
        log.error({ op: 'shutdown', error: (err as Error).message }, 'shutdown failed');
        process.exit(1);
      }
      log.info({ op: 'shutdown' }, 'stopped');
      process.exit(0);
    })();
  };
  for (const sig of signals) process.on(sig, () => shutdown(sig));
}
