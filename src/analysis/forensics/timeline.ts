import { ItemType, ObjectId } from '../../format/constants.js';
import type { Timespec } from '../../format/items/common.js';
import { MAX_KEY } from '../../format/key.js';
import { displayPath } from '../../fs/names.js';
import type { FsView } from '../../fs/FsView.js';
import type { FileKind, Inode } from '../../fs/types.js';
import type { Recovered } from './recover.js';

/** One inode on the timeline. */
export interface TimelineEntry {
  subvol: bigint;
  ino: bigint;
  /** First path (as a mount of subvolume 5 shows it, or as it was for recovered inodes); null when it has none. */
  path: Uint8Array[] | null;
  inode: TimelineInode;
  /** Recovered from an older tree, an orphan, or a deleted subvolume. */
  deleted: boolean;
  source?: string;
  symlinkTarget?: Uint8Array | null;
  /** The path (and symlink target) as bodyName shows them, when made beforehand by slimEntry. */
  shown?: { path: string | null; target: string | null };
}

/** The fields of an inode a timeline shows. */
export type TimelineInode = Pick<Inode, 'kind' | 'mode' | 'uid' | 'gid' | 'size' | 'atime' | 'mtime' | 'ctime' | 'otime'>;

/**
 * An entry that pins nothing: the inode cut down to what a timeline shows
 * (a decoded inode keeps its leaf reachable) and the path's names copied
 * out of their leaves. Millions of these are held to sort them.
 */
export function slimEntry(e: TimelineEntry): TimelineEntry {
  const { kind, mode, uid, gid, size, atime, mtime, ctime, otime } = e.inode;
  const shown = { path: e.path ? shownPath(e.path) : null, target: e.symlinkTarget ? shownTarget(e.symlinkTarget) : null };
  return { subvol: e.subvol, ino: e.ino, path: null, inode: { kind, mode, uid, gid, size, atime, mtime, ctime, otime }, deleted: e.deleted, ...(e.source ? { source: e.source } : {}), shown };
}

const shownPath = (path: Uint8Array[]) => displayPath(path, { controls: true }).replace(/\|/g, '\\x7c');
const shownTarget = (t: Uint8Array) => displayPath([t], { controls: true }).slice(1).replace(/\|/g, '\\x7c');

/** Whether the entry has a path (as bytes, or shown beforehand). */
export function hasPath(e: TimelineEntry): boolean {
  return e.shown ? e.shown.path !== null : e.path !== null;
}

/** Every inode item of every subvolume's tree, or of subvolume `only` (not only those with a path), in subvolume then inode order. */
export function* liveInodes(view: FsView, only?: bigint): Generator<TimelineEntry & { inode: Inode }> {
  for (const s of view.subvolumes()) {
    if (only !== undefined && s.id !== only) continue;
    const t = view.tree(s.id);
    if (!t) continue;
    for (const { block, slot } of view.fs.items(t, { objectid: 0n, type: ItemType.INODE_ITEM, offset: 0n }, MAX_KEY)) {
      if (block.keyType(slot) !== ItemType.INODE_ITEM) continue;
      const ino = block.keyObjectid(slot);
      if (ino < ObjectId.FIRST_FREE && ino !== 1n) continue;
      const ref = { subvol: s.id, ino };
      const inode = view.inode(ref);
      if (!inode) continue;
      const paths = view.paths(ref);
      yield { subvol: s.id, ino, path: paths[0] ?? null, inode, deleted: s.deleted, ...(s.deleted ? { source: 'deleted subvolume' } : {}) };
    }
  }
}

export function recoveredEntries(files: Recovered[]): TimelineEntry[] {
  return files.map((r) => ({ subvol: r.subvol, ino: r.ino, path: r.paths[0] ?? null, inode: r.inode, deleted: true, source: r.source }));
}

const META_CHAR: Record<FileKind, string> = { file: 'r', dir: 'd', symlink: 'l', chr: 'c', blk: 'b', fifo: 'p', sock: 's', unknown: '-' };

/** TSK's mode string: name type / meta type + permission bits, e.g. "r/rrw-r--r--", "d/drwxr-xr-x". */
export function tskModeString(kind: FileKind, mode: number): string {
  const c = META_CHAR[kind];
  const r = (bit: number, ch: string) => (mode & bit ? ch : '-');
  const x = (bit: number, special: number, on: string, off: string) => (mode & special ? (mode & bit ? on : off) : mode & bit ? 'x' : '-');
  const perms = r(0o400, 'r') + r(0o200, 'w') + x(0o100, 0o4000, 's', 'S') + r(0o040, 'r') + r(0o020, 'w') + x(0o010, 0o2000, 's', 'S') + r(0o004, 'r') + r(0o002, 'w') + x(0o001, 0o1000, 't', 'T');
  return `${c}/${c}${perms}`;
}

/** Seconds as TSK 3 writes them: the whole seconds (btrfs keeps sec signed and nsec in [0, 1e9), so sec is already the floor). */
function bodyTime(t: Timespec, ns: boolean): string {
  return ns ? `${t.sec}.${String(t.nsec).padStart(9, '0')}` : String(t.sec);
}

/** A name safe for a "|"-separated line: control bytes and invalid UTF-8 as \xNN, "|" as \x7c. */
export function bodyName(e: TimelineEntry): string {
  const path = e.shown ? e.shown.path : e.path ? shownPath(e.path) : null;
  let name = path ?? `<no name: subvolume ${e.subvol} inode ${e.ino}>`.replace(/\|/g, '\\x7c');
  const target = e.shown ? e.shown.target : e.symlinkTarget ? shownTarget(e.symlinkTarget) : null;
  if (target !== null) name += ` -> ${target}`;
  if (e.deleted) name += ' (deleted)';
  return name;
}

/**
 * One TSK 3 body-file line: MD5|name|inode|mode_as_string|UID|GID|size|atime|mtime|ctime|crtime.
 * MD5 is 0 (not computed); inode is the btrfs inode number (paths tell
 * subvolumes apart); crtime is btrfs' otime. `ns` writes sec.nnnnnnnnn.
 */
export function bodyLine(e: TimelineEntry, ns = false): string {
  const i = e.inode;
  return ['0', bodyName(e), String(e.ino), tskModeString(i.kind, i.mode), String(i.uid), String(i.gid), String(i.size),
    bodyTime(i.atime, ns), bodyTime(i.mtime, ns), bodyTime(i.ctime, ns), bodyTime(i.otime, ns)].join('|');
}

export interface TimelineEvent {
  timeNs: bigint;
  /** mactime's flags: m(odified) a(ccessed) c(hanged) b(orn), '.' where this time is not that one. */
  macb: string;
  entry: TimelineEntry;
}

const ns = (t: Timespec) => t.sec * 1_000_000_000n + BigInt(t.nsec);

/** mactime-style events: one per distinct time of each inode, sorted by time (then subvolume, inode). */
export function timelineEvents(entries: Iterable<TimelineEntry>): TimelineEvent[] {
  const out: TimelineEvent[] = [];
  for (const e of entries) {
    const i = e.inode;
    const times = [ns(i.mtime), ns(i.atime), ns(i.ctime), ns(i.otime)];
    const done = new Set<bigint>();
    for (const t of times) {
      if (done.has(t)) continue;
      done.add(t);
      const macb = 'macb'.split('').map((ch, k) => (times[k] === t ? ch : '.')).join('');
      out.push({ timeNs: t, macb, entry: e });
    }
  }
  const c = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
  return out.sort((a, b) => c(a.timeNs, b.timeNs) || c(a.entry.subvol, b.entry.subvol) || c(a.entry.ino, b.entry.ino));
}
