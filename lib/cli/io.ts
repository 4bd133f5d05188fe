// Small helpers shared by metallbctl's commands: reading FILE or "-" (bounded, also for endless
// sources such as FIFOs, /dev/zero or a pipe), writing standard output with its errors reported,
// and usage errors.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Exit codes: 0 ok, 1 the input is invalid, 2 usage error or unreadable input. */
export const EXIT_OK = 0;
export const EXIT_INVALID = 1;
export const EXIT_USAGE = 2;

/** The most metallbctl reads from FILE or standard input (a manifest with a 1 MiB config, indented, and other objects). */
export const MAX_INPUT_BYTES = 4 * 1024 * 1024;

function tooLarge(what: string, limit: number): UsageError {
  return new UsageError(`cannot read ${what}: more than ${limit} bytes (stopped reading; a ConfigMap holds at most 1 MiB)`);
}

function errnoText(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT': return 'no such file';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'is a directory';
    default: return e.message;
  }
}

/**
 * Reads FILE ("-": standard input) as UTF-8, at most `limit` bytes: reading stops at the first
 * byte past the limit (UsageError), so an endless source costs no more than `limit` of memory.
 */
export async function readInput(file: string, limit = MAX_INPUT_BYTES): Promise<string> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const c of process.stdin) {
      total += (c as Buffer).length;
      if (total > limit) {
        process.stdin.destroy();
        throw tooLarge('standard input', limit);
      }
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${errnoText(err as NodeJS.ErrnoException)}`);
  }
  try {
    if (fstatSync(fd).isDirectory()) throw new UsageError(`cannot read ${file}: is a directory`);
    const buf = Buffer.allocUnsafe(limit + 1);
    let total = 0;
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, total, buf.length - total, null);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'EAGAIN') continue;
        throw new UsageError(`cannot read ${file}: ${errnoText(e)}`);
      }
      if (n === 0) break;
      total += n;
      if (total > limit) throw tooLarge(file, limit);
    }
    return buf.toString('utf8', 0, total);
  } finally {
    closeSync(fd);
  }
}

/**
 * Standard output whose write errors (a full disk, a closed pipe) are kept instead of crashing
 * the process or being lost: `write` queues, `flush` resolves when everything was handed to
 * the kernel and rejects with a UsageError naming the first error.
 */
export class CheckedOutput {
  private error: NodeJS.ErrnoException | undefined;
  private pending: Promise<void>[] = [];

  constructor(private readonly stream: NodeJS.WritableStream & { on(e: 'error', l: (err: Error) => void): unknown } = process.stdout) {
    this.stream.on('error', (err: Error) => { this.error ??= err as NodeJS.ErrnoException; });
  }

  write(text: string): void {
    if (this.error) return;
    this.pending.push(new Promise((resolve) => {
      this.stream.write(text, (err?: Error | null) => {
        if (err) this.error ??= err as NodeJS.ErrnoException;
        resolve();
      });
    }));
  }

  async flush(): Promise<void> {
    await Promise.all(this.pending);
    this.pending = [];
    if (this.error) {
      const e = this.error;
      throw new UsageError(`cannot write standard output: ${e.code ? `${e.code} ` : ''}${e.message.replace(/^[A-Z]+: /, '')}`);
    }
  }
}
