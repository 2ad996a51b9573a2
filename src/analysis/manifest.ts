import type { FsView } from '../fs/FsView.js';
import { readFile, symlinkTarget } from '../fs/fileData.js';
import type { FileKind, Inode, InodeRef, Timespec, Xattr } from '../fs/types.js';
import { walkFiles } from '../fs/walk.js';

/**
 * A running content hash, injected by the caller (Node's crypto in the CLI,
 * a JS implementation in a browser): the core computes no digest itself.
 */
export interface ContentHasher {
  update(bytes: Uint8Array): void;
  /** Lower-case hex of each algorithm it computes. */
  digest(): ContentDigests;
}

/** The digests a manifest can carry (mtree's md5digest, sha1digest, sha256digest; hashdeep's columns). */
export type DigestAlgorithm = 'md5' | 'sha1' | 'sha256';
export type ContentDigests = Partial<Record<DigestAlgorithm, string>>;

/** One file of a manifest, as the image holds it. */
export interface ManifestEntry {
  /** Components from the manifest's start (empty for the start itself). */
  path: Uint8Array[];
  ref: InodeRef;
  /** 'missing': a directory entry whose inode item cannot be read. */
  type: FileKind | 'missing';
  /** Permission bits with setuid, setgid and sticky (mode & 07777). */
  perm: number;
  uid: number;
  gid: number;
  size: bigint;
  nlink: number;
  mtime: Timespec;
  rdev: bigint;
  /** Symlink target bytes. */
  link?: Uint8Array;
  /** Content digests of a regular file (absent when content is not hashed or could not be read). */
  digests?: ContentDigests;
  /** Why the content could not be hashed: the first unreadable range. */
  contentError?: string;
  /** A subvolume's root directory reached through its link. */
  subvolumeRoot?: boolean;
  /**
   * The empty directory a snapshot shows where its source had a subvolume
   * linked (no inode item on disk): its times are the kernel's time of
   * lookup, nothing an image records.
   */
  placeholder?: boolean;
  /** The inode item (absent for "missing") and its xattrs: what the JSON form writes, as ls and stat do. */
  inode?: Inode;
  xattrs?: Iterable<Xattr>;
}

export interface ManifestOptions {
  /** Makes a hasher per regular file; without it, no content digests. */
  hasher?: () => ContentHasher;
  /** Enter subvolumes and snapshots linked below the start, as a mount shows them (default true). */
  crossSubvolumes?: boolean;
  /** Largest file whose content is hashed (default DEFAULT_MAX_HASH_SIZE); a larger one gets `contentError`. */
  maxHashSize?: bigint;
}

/**
 * Files larger than this are not hashed unless asked: i_size is read from the
 * image, and a hostile (or sparse) file of 2^64 - 2 bytes would be hashed,
 * zeros and all, for ever. 64 GiB is minutes of hashing at disk speed.
 */
export const DEFAULT_MAX_HASH_SIZE = 64n << 30n;

const ZERO_CHUNK = 1 << 20;

/**
 * Every file below `start` (the start included), in the walk's order, with
 * what a content manifest records: type, permissions, owner, size, link
 * target, mtime and the content digest. Content is read as `cat` reads it
 * (checksums verified, holes and preallocated ranges as zeros); a file
 * whose bytes cannot all be read gets `contentError`, never a digest of
 * wrong bytes.
 */
/**
 * The digests of a regular file's content as `view` reads it (holes and
 * preallocated ranges as zeros), or why it has none: too large, or a range
 * unreadable. `verify` false: no checksums looked up (recovered data, whose
 * checksums the current csum tree no longer has; recover checks it itself).
 */
export function contentDigests(
  view: FsView,
  i: Inode,
  hasher: () => ContentHasher,
  maxHash: bigint = DEFAULT_MAX_HASH_SIZE,
  zeros = new Uint8Array(ZERO_CHUNK),
  verify = true,
): { digests: ContentDigests } | { contentError: string } {
  if (i.size > maxHash) return { contentError: `not hashed: ${i.size} bytes is over the ${maxHash}-byte limit (--max-hash-size)` };
  const h = hasher();
  for (const seg of readFile(view, i, { verify })) {
    if (seg.kind === 'data') h.update(seg.bytes);
    else if (seg.kind === 'zero') {
      for (let left = seg.length; left > 0n; ) {
        const n = left > BigInt(ZERO_CHUNK) ? ZERO_CHUNK : Number(left);
        h.update(n === ZERO_CHUNK ? zeros : zeros.subarray(0, n));
        left -= BigInt(n);
      }
    } else return { contentError: `bytes ${seg.offset}..${seg.offset + seg.length} unreadable: ${seg.message}` };
  }
  return { digests: h.digest() };
}

export function* manifestEntries(view: FsView, start: InodeRef, opts: ManifestOptions = {}): Generator<ManifestEntry> {
  const zeros = new Uint8Array(ZERO_CHUNK);
  for (const it of walkFiles(view, start, { crossSubvolumes: opts.crossSubvolumes !== false })) {
    const i = it.inode;
    if (!i) {
      yield { path: it.path, ref: it.ref, type: 'missing', perm: 0, uid: 0, gid: 0, size: 0n, nlink: 0, mtime: { sec: 0n, nsec: 0 }, rdev: 0n };
      continue;
    }
    // Read when iterated (each time): the mtree and digest forms never read them, and the JSON
    // form writes each value as it is read.
    const ref = it.ref;
    const e: ManifestEntry = { ...manifestEntryOf(it.path, ref, i), xattrs: { [Symbol.iterator]: () => view.eachXattr(ref) } };
    if (it.entry?.crossing === 'subvolume') e.subvolumeRoot = true;
    if (i.placeholder) e.placeholder = true;
    if (i.kind === 'symlink') {
      const t = symlinkTarget(view, i);
      if (t) e.link = t;
    }
    if (i.kind === 'file' && opts.hasher) Object.assign(e, contentDigests(view, i, opts.hasher, opts.maxHashSize ?? DEFAULT_MAX_HASH_SIZE, zeros));
    yield e;
  }
}

/** A manifest entry's inode fields, for a file at `path` (live, or recovered from an older tree). */
export function manifestEntryOf(path: Uint8Array[], ref: InodeRef, i: Inode): ManifestEntry {
  return { path, ref, type: i.kind, perm: i.mode & 0o7777, uid: i.uid, gid: i.gid, size: i.size, nlink: i.nlink, mtime: i.mtime, rdev: i.rdev, inode: i };
}
