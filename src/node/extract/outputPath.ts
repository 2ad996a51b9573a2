import * as nodeFs from 'node:fs';
import * as af from './asyncFs.js';

/**
 * Output-path safety, for extract and recover -o: nothing is written
 * outside the output directory. A name from the image must be one path
 * component (unsafeNameReason: no "/" or NUL, not "." or "..", not empty,
 * at most 255 bytes); every directory on the way is made here or checked
 * with lstat to be a real directory, so a symlink (from the image or placed
 * by anyone) is never followed; files are created with O_EXCL|O_NOFOLLOW by
 * their writers. Paths are Buffers: names that are not UTF-8 are written
 * exactly.
 */

/** dir/a/b as bytes (empty parts are left out). */
export function joinBytes(dir: Buffer, ...parts: Uint8Array[]): Buffer {
  const bufs: Buffer[] = [dir];
  for (const p of parts) {
    if (p.length === 0) continue;
    bufs.push(Buffer.from('/'), Buffer.from(p));
  }
  return Buffer.concat(bufs);
}

/**
 * The output directory, made (with its parents, mode 0700) when missing:
 * whether this call made it. Throws an Error whose message names the
 * directory when it is something else or cannot be made.
 */
export function prepareOutputDir(outDir: string): { created: boolean } {
  let st: nodeFs.Stats | null = null;
  try {
    st = nodeFs.statSync(outDir);
  } catch {
    st = null;
  }
  if (st) {
    if (!st.isDirectory()) throw new Error(`${outDir}: exists and is not a directory`);
    return { created: false };
  }
  try {
    nodeFs.mkdirSync(outDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new Error(`${outDir}: cannot create: ${(e as Error).message}`);
  }
  return { created: true };
}

/**
 * Makes directory `host` (mode 0700): 'made', or what is there already, as
 * lstat sees it (a symlink is never followed: only a real directory is one).
 */
export async function enterDir(host: Buffer): Promise<'made' | nodeFs.Stats> {
  try {
    await af.mkdir(host, 0o700);
    return 'made';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const st = await af.lstat(host);
    if (!st) throw e;
    return st;
  }
}

/** A name of the output made free (`replaced`: something there was removed, with --force), or why not. */
export type Cleared = { replaced: boolean } | { why: string };

/**
 * A directory of the output to write into: made, or reused (then made
 * writable for us: its own mode is set at the end). Something else in the
 * way is replaced only with `force`.
 */
export async function makeOutputDir(host: Buffer, force: boolean): Promise<Cleared> {
  const got = await enterDir(host);
  if (got === 'made') return { replaced: false };
  if (got.isDirectory()) {
    await af.chmod(host, (got.mode & 0o7777) | 0o700);
    return { replaced: false };
  }
  // A symlink or file in the way: never write through it.
  if (!force) return { why: `exists and is not a directory${got.isSymbolicLink() ? ' (a symlink: not followed)' : ''}; nothing below it written (use --force to replace)` };
  await af.unlink(host);
  await af.mkdir(host, 0o700);
  return { replaced: true };
}

/** Makes way for a new entry at `host`: free already, or an existing non-directory removed with `force`. */
export async function clearName(host: Buffer, force: boolean): Promise<Cleared> {
  const st = await af.lstat(host);
  if (!st) return { replaced: false };
  if (!force) return { why: 'exists (use --force to replace)' };
  if (st.isDirectory()) return { why: 'exists as a directory; not replaced' };
  await af.unlink(host);
  return { replaced: true };
}
