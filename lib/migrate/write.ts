// Writing the output file. A regular file (also one reached through symlinks, which are
// followed and kept) is replaced in one step so that a failure never leaves a partial or empty
// file: the text goes to a temporary file created next to the link's final target (same
// filesystem), is flushed, then renamed over it; an existing file keeps its permission bits.
// A FIFO or a character device (/dev/null, /dev/stdout, a terminal) is written through, never
// replaced; anything else that is not a regular file (a directory, a socket, a block device) is
// refused. Before the rename the target is checked again: the rename only ever replaces the
// regular file that was there when writing began, or creates a new name.

import { closeSync, fsyncSync, lstatSync, openSync, realpathSync, readlinkSync, renameSync, statSync, unlinkSync, writeSync, constants, type Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';

function errno(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/** Follows symlinks to the final path (also when the last link dangles: its target is then created). */
function finalPath(path: string): string {
  let p = resolve(path);
  for (let hops = 0; hops < 40; hops++) {
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // not there: its directory must exist (resolving its own links)
      return join(realpathSync(dirname(p)), basename(p));
    }
    if (!st.isSymbolicLink()) return join(realpathSync(dirname(p)), basename(p));
    p = resolve(dirname(p), readlinkSync(p));
  }
  throw errno('ELOOP', `too many levels of symbolic links`);
}

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

export function writeFileAtomic(path: string, text: string): void {
  const target = finalPath(path);
  let before: Stats | undefined;
  try {
    before = statSync(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (before?.isDirectory()) throw errno('EISDIR', `${path} is a directory`);
  if (before && (before.isFIFO() || before.isCharacterDevice())) {
    // written through: O_NOFOLLOW|no O_CREAT, so nothing is created or replaced
    const fd = openSync(target, constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NOCTTY);
    try {
      const st = statSync(target);
      if (!sameFile(st, before)) throw errno('ECHANGED', `it changed while it was opened`);
      writeAll(fd, text);
    } finally {
      closeSync(fd);
    }
    return;
  }
  if (before && !before.isFile()) throw errno('ENOTREG', `not a regular file (a ${kind(before)}); refusing to replace it`);
  const mode = before ? before.mode & 0o7777 : 0o644;
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    try {
      writeAll(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    // what is at the target now must be what was there before (the same regular file, or nothing)
    let now: Stats | undefined;
    try {
      now = lstatSync(target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (before ? !(now && now.isFile() && sameFile(now, before)) : now !== undefined) {
      throw errno('ECHANGED', `it was replaced by something else while writing; not overwriting that`);
    }
    renameSync(temp, target);
  } catch (err) {
    try { unlinkSync(temp); } catch { /* already gone */ }
    throw err;
  }
}

function kind(st: Stats): string {
  if (st.isSocket()) return 'socket';
  if (st.isBlockDevice()) return 'block device';
  if (st.isSymbolicLink()) return 'symbolic link';
  return 'special file';
}
