import { createHash } from 'node:crypto';
import * as nodeFs from 'node:fs';
import type { FsView } from '../../src/fs/FsView.js';
import { readFile } from '../../src/fs/fileData.js';
import type { Inode } from '../../src/fs/types.js';
import type { ByteSource } from '../../src/io/ByteSource.js';
import { hasTruth, truthText } from './samples.js';

/** One entry of a sample's truth/files.json (the kernel's view through a mount of subvolume 5). */
export interface TruthEntry {
  path: string;
  path_b64: string;
  type: 'file' | 'dir' | 'symlink' | 'chr' | 'blk' | 'fifo' | 'sock';
  mode: number;
  ino: number;
  nlink: number;
  uid: number;
  gid: number;
  size: number;
  atime_ns: string;
  mtime_ns: string;
  ctime_ns: string;
  btime_ns?: string;
  subvol_id: number;
  subvol_root: boolean;
  xattrs: Record<string, string>;
  sha256?: string;
  symlink_target_b64?: string;
  rdev?: [number, number];
  filefrag?: { extents: { logical: number; physical: number; physical_end: number; length: number; flags: string[] }[] };
}

/** files.json with every *_ns time kept exact (as a decimal string). */
export function filesTruth(name: string): TruthEntry[] {
  const text = truthText(name, 'files.json').replace(/"(\w+_ns)": (-?\d+)/g, '"$1": "$2"');
  return (JSON.parse(text) as { entries: TruthEntry[] }).entries;
}

export interface LogTreeTruth {
  committed: Record<string, { sha256: string; size: number; ino: number; mtime_ns: string } | null>;
  after_log_replay: Record<string, { sha256: string; size: number; ino: number; mtime_ns: string } | null>;
}

/** For the log-tree sample: the committed state (we read commits; replaying the log is not done). */
export function logTreeTruth(name: string): LogTreeTruth | null {
  if (!hasTruth(name, 'log-tree.json')) return null;
  return JSON.parse(truthText(name, 'log-tree.json').replace(/"(\w+_ns)": (-?\d+)/g, '"$1": "$2"')) as LogTreeTruth;
}

const ZEROS = new Uint8Array(1 << 20);

/** sha256 of a file's content as read by the library, and the error segments met. */
export function hashFile(view: FsView, inode: Inode, opts: { verify?: boolean } = {}): { sha256: string; errors: string[] } {
  const h = createHash('sha256');
  const errors: string[] = [];
  for (const s of readFile(view, inode, opts)) {
    if (s.kind === 'data') h.update(s.bytes);
    else if (s.kind === 'zero') {
      let left = s.length;
      while (left > 0n) {
        const n = left > BigInt(ZEROS.length) ? ZEROS.length : Number(left);
        h.update(ZEROS.subarray(0, n));
        left -= BigInt(n);
      }
    } else errors.push(s.message);
  }
  return { sha256: h.digest('hex'), errors };
}

export function ns(t: { sec: bigint; nsec: number }): string {
  return (t.sec * 1_000_000_000n + BigInt(t.nsec)).toString();
}

export function b64(b: Uint8Array): string {
  return Buffer.from(b).toString('base64');
}

/** Captured stdout/stderr for runCli in-process. */
export function captureIO(opts: { tty?: boolean } = {}) {
  const out: Buffer[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: {
        write: (s: string | Uint8Array) => {
          out.push(typeof s === 'string' ? Buffer.from(s) : Buffer.from(s));
          return true;
        },
      },
      stderr: {
        write: (s: string) => {
          err.push(s);
          return true;
        },
      },
      stderrIsTTY: opts.tty ?? false,
    },
    stdout: () => Buffer.concat(out),
    text: () => Buffer.concat(out).toString('utf8'),
    stderr: () => err.join(''),
  };
}

/** Writes a source to a sparse file (only the non-zero MiBs), so the CLI can open an image edited in memory. */
export function writeSparse(src: ByteSource, path: string): void {
  const fd = nodeFs.openSync(path, 'w');
  try {
    const step = 1 << 20;
    for (let o = 0n; o < src.size; o += BigInt(step)) {
      const b = src.read(o, step);
      if (b.some((x) => x !== 0)) nodeFs.writeSync(fd, b, 0, b.length, Number(o));
    }
    nodeFs.ftruncateSync(fd, Number(src.size));
  } finally {
    nodeFs.closeSync(fd);
  }
}
