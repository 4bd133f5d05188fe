// metallbctl's file handling as a real process: what it reads (bounded, also from endless
// sources) and what it writes (-o through symlinks, FIFOs and device nodes without replacing
// them; standard output errors are reported, never exit 0).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, lstatSync, mkdtempSync, openSync, closeSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_INPUT_BYTES } from '../../../lib/cli/io.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const bin = join(root, 'dist', 'bin', 'metallbctl.js');
const configmap = join(root, 'test', 'fixtures', 'migrate', 'full', 'configmap.yaml');
const expected = readFileSync(join(root, 'test', 'fixtures', 'migrate', 'full', 'expected.yaml'), 'utf8');

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'metallb-ts-io-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs metallbctl with `args`, feeding `feed` (a writable sink) an endless stream of config-like lines until it exits. */
async function runFed(args: string[], feedInto: 'stdin' | string): Promise<{ code: number | null; stderr: string; fed: number }> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
  child.stdout.resume();
  const exited = once(child, 'exit');
  const sink = feedInto === 'stdin' ? child.stdin : createWriteStream(feedInto);
  sink.on('error', () => { /* the reader went away: expected */ });
  const line = Buffer.from('# endless comment line, the reader must stop at its limit ...............\n'.repeat(800));
  let fed = 0;
  let done = false;
  void exited.then(() => { done = true; sink.destroy(); });
  // Feed at most 64 x the limit: a reader without a bound would take it all and then go on.
  const cap = 64 * MAX_INPUT_BYTES;
  while (!done && fed < cap) {
    const ok = sink.write(line);
    fed += line.length;
    if (!ok) await Promise.race([once(sink, 'drain').catch(() => undefined), exited]);
  }
  sink.end();
  const [code] = (await exited) as [number | null];
  return { code, stderr, fed };
}

test('an endless standard input is read up to the limit only: exit 2, says so', async () => {
  const r = await runFed(['validate', '-'], 'stdin');
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /<stdin>|standard input/);
  assert.match(r.stderr, new RegExp(`more than ${MAX_INPUT_BYTES} bytes`));
  assert.ok(r.fed < 8 * MAX_INPUT_BYTES, `the reader took ${r.fed} bytes`);
});

test('an endless file (a FIFO) is read up to the limit only: exit 2, says so', async (t) => {
  const dir = tempDir(t);
  const fifo = join(dir, 'endless.yaml');
  execFileSync('mkfifo', [fifo]);
  const r = await runFed(['validate', fifo], fifo);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`cannot read .*endless\\.yaml: more than ${MAX_INPUT_BYTES} bytes`));
  assert.ok(r.fed < 8 * MAX_INPUT_BYTES, `the reader took ${r.fed} bytes`);
});

test('a regular file over the limit is refused with exit 2 before parsing', (t) => {
  const dir = tempDir(t);
  const f = join(dir, 'big.yaml');
  writeFileSync(f, '#'.repeat(MAX_INPUT_BYTES + 1));
  const r = spawnSync(process.execPath, [bin, 'migrate', f], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /more than \d+ bytes/);
});

test('migrate -o through a symlink writes the link target and keeps the link', (t) => {
  const dir = tempDir(t);
  const target = join(dir, 'real.yaml');
  writeFileSync(target, 'old\n', { mode: 0o600 });
  const link = join(dir, 'link.yaml');
  symlinkSync('real.yaml', link);
  const r = spawnSync(process.execPath, [bin, 'migrate', configmap, '-o', link], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(lstatSync(link).isSymbolicLink(), 'the symlink was replaced');
  assert.equal(readlinkSync(link), 'real.yaml');
  assert.equal(readFileSync(target, 'utf8'), expected);
  assert.equal(statSync(target).mode & 0o777, 0o600);
});

test('migrate -o to a dangling symlink creates the target, keeps the link', (t) => {
  const dir = tempDir(t);
  const link = join(dir, 'link.yaml');
  symlinkSync('new.yaml', link);
  const r = spawnSync(process.execPath, [bin, 'migrate', configmap, '-o', link], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.equal(readFileSync(join(dir, 'new.yaml'), 'utf8'), expected);
});

test('migrate -o to a FIFO writes through it; the FIFO stays a FIFO', async (t) => {
  const dir = tempDir(t);
  const fifo = join(dir, 'out.fifo');
  execFileSync('mkfifo', [fifo]);
  // The reader is a separate process (cat), so a FIFO replaced under it cannot hang this test.
  const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
  let got = '';
  reader.stdout.setEncoding('utf8').on('data', (c: string) => { got += c; });
  const readerDone = once(reader, 'exit');
  const r = spawnSync(process.execPath, [bin, 'migrate', configmap, '-o', fifo], { encoding: 'utf8', timeout: 60_000 });
  const timer = setTimeout(() => reader.kill('SIGKILL'), 5000);
  await readerDone;
  clearTimeout(timer);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(got, expected);
  assert.ok(lstatSync(fifo).isFIFO(), 'the FIFO was replaced');
});

test('migrate -o to a character device node writes through it; the node stays', { skip: process.getuid?.() !== 0 ? 'mknod needs root (CI runs as root)' : false }, (t) => {
  const dir = tempDir(t);
  const dev = join(dir, 'null');
  execFileSync('mknod', ['-m', '666', dev, 'c', '1', '3']); // a private /dev/null
  const r = spawnSync(process.execPath, [bin, 'migrate', configmap, '-o', dev], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const st = lstatSync(dev);
  assert.ok(st.isCharacterDevice(), 'the device node was replaced by a regular file');
});

test('migrate -o to a socket or a directory is refused with exit 2, nothing replaced', async (t) => {
  const dir = tempDir(t);
  const r = spawnSync(process.execPath, [bin, 'migrate', configmap, '-o', dir], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /is a directory/);
  const net = await import('node:net');
  const sock = join(dir, 'sock');
  const server = net.createServer().listen(sock);
  await once(server, 'listening');
  t.after(() => server.close());
  const s = spawnSync(process.execPath, [bin, 'migrate', configmap, '-o', sock], { encoding: 'utf8' });
  assert.equal(s.status, 2, s.stderr);
  assert.match(s.stderr, /cannot write .*sock: not a regular file/);
  assert.ok(lstatSync(sock).isSocket());
});

test('a failing standard output (full disk) is an error: exit 2 with a message, for validate and migrate', () => {
  for (const args of [['validate', configmap], ['migrate', configmap]]) {
    const full = openSync('/dev/full', 'w');
    try {
      const r = spawnSync(process.execPath, [bin, ...args], { stdio: ['ignore', full, 'pipe'], encoding: 'utf8' });
      assert.equal(r.status, 2, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, /cannot write standard output: .*(ENOSPC|no space)/i);
      assert.doesNotMatch(r.stderr, /Unhandled|at .*\.js:\d+/);
    } finally {
      closeSync(full);
    }
  }
});
