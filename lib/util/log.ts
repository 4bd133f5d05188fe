// Structured JSON-lines logging (pino), one event per line, with upstream's keys where they exist
// (`op`, `service`, `ip`, `pool`, `protocol`, `peer`).
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

const LEVELS: readonly string[] = ['all', 'debug', 'info', 'warn', 'error', 'none'];

/** Maps upstream's --log-level values (all, debug, info, warn, error, none) to pino levels. */
export function toPinoLevel(level: string): LevelWithSilent {
  if (!LEVELS.includes(level)) throw new Error(`--log-level must be one of ${LEVELS.join(', ')}, got "${level}"`);
  if (level === 'all') return 'trace';
  if (level === 'none') return 'silent';
  return level as LevelWithSilent;
}

export function createLogger(caller: string, level = 'info'): Logger {
  return pino({
    level: toPinoLevel(level),
    base: { caller },
    timestamp: pino.stdTimeFunctions.isoTime,
    messageKey: 'msg',
    formatters: { level: (label) => ({ level: label }) },
  });
}

/** A logger that drops everything (for tests of pure logic). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
