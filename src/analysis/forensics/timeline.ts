import { ItemType, ObjectId } from '../../format/constants.js';
import type { Timespec } from '../../format/items/common.js';
import { MAX_KEY } from '../../format/key.js';
import type { FsView } from '../../fs/FsView.js';
import { bodyfilePath, bodyfileText, displayPath, displayText, jsonPath, pathBytes, toBase64 } from '../../fs/names.js';
import type { FileKind, Inode } from '../../fs/types.js';
import { ORPHAN_DIR, type Recovered } from './recover.js';

/**
 * One name of an inode on the timeline. An inode with several names (hard
 * links) gives one entry per name, as TSK's `fls -m` lists every name.
 */
export interface TimelineEntry {
  subvol: bigint;
  ino: bigint;
  /** This name's path (as a mount of subvolume 5 shows it, or as it was for recovered inodes); null when it has none. */
  path: Uint8Array[] | null;
  inode: TimelineInode;
  /** Recovered from an older tree, an orphan, or a deleted subvolume. */
  deleted: boolean;
  source?: string;
  /** Recovered, and its inode number is used by another inode now (TSK: "deleted-realloc"). */
  realloc?: boolean;
  /** Recovered from an orphan leaf: an earlier content of an inode that still lives. */
  olderVersion?: boolean;
  symlinkTarget?: Uint8Array | null;
  /** The path (and symlink target) as text, made beforehand by slimEntry in the form of the output. */
  shown?: Shown;
}

/** A path and symlink target made text: for people (`display`) or JSON (with the path's bytes in base64 when the text is not exact). */
export interface Shown {
  path: string | null;
  pathBase64?: string;
  target: string | null;
}

export type ShownStyle = 'display' | 'json';

/** The path and target of an entry as text in the given form. */
export function showEntry(e: TimelineEntry, style: ShownStyle): Shown {
  if (e.shown) return e.shown;
  if (style === 'display') return { path: e.path ? displayPath(e.path) : null, target: e.symlinkTarget ? displayText(e.symlinkTarget) : null };
  const p = e.path ? jsonPath(e.path) : null;
  return { path: p ? p.text : null, ...(p && !p.exact ? { pathBase64: toBase64(pathBytes(e.path!)) } : {}), target: null };
}

/** The fields of an inode a timeline shows. */
export type TimelineInode = Pick<Inode, 'kind' | 'mode' | 'uid' | 'gid' | 'size' | 'atime' | 'mtime' | 'ctime' | 'otime'>;

/**
 * An entry that pins nothing: the inode cut down to what a timeline shows
 * (a decoded inode keeps its leaf reachable) and the path's names copied
 * out of their leaves. Millions of these are held to sort them.
 */
export function slimEntry(e: TimelineEntry, style: ShownStyle): TimelineEntry {
  const { kind, mode, uid, gid, size, atime, mtime, ctime, otime } = e.inode;
  const shown = showEntry(e, style);
  return {
    subvol: e.subvol,
    ino: e.ino,
    path: null,
    inode: { kind, mode, uid, gid, size, atime, mtime, ctime, otime },
    deleted: e.deleted,
    ...(e.source ? { source: e.source } : {}),
    ...(e.realloc ? { realloc: true } : {}),
    shown,
  };
}

/** Inodes liveInodes reads between two clearings of the view's caches of inodes and directory links. */
const FORGET_EVERY = 1 << 16;

/**
 * Every inode item of every subvolume's tree, or of subvolume `only` (not only those with a path), in subvolume then inode order.
 * The view's caches are cleared every FORGET_EVERY inodes: they would otherwise hold every inode
 * and directory link of the filesystem (millions on a big one), and a walk in inode order asks
 * again mostly about the directories just read.
 */
export function* liveInodes(view: FsView, only?: bigint): Generator<TimelineEntry & { inode: Inode }> {
  let read = 0;
  for (const s of view.subvolumes()) {
    if (only !== undefined && s.id !== only) continue;
    const t = view.tree(s.id);
    if (!t) continue;
    for (const { block, slot } of view.fs.items(t, { objectid: 0n, type: ItemType.INODE_ITEM, offset: 0n }, MAX_KEY)) {
      if (block.keyType(slot) !== ItemType.INODE_ITEM) continue;
      const ino = block.keyObjectid(slot);
      if (ino < ObjectId.FIRST_FREE && ino !== 1n) continue;
      const ref = { subvol: s.id, ino };
      if (++read % FORGET_EVERY === 0) view.forget();
      const inode = view.inode(ref);
      if (!inode) continue;
      const paths = view.paths(ref);
      const base = { subvol: s.id, ino, inode, deleted: s.deleted, ...(s.deleted ? { source: 'deleted subvolume' } : {}) };
      if (paths.length === 0) yield { ...base, path: null };
      for (const path of paths) yield { ...base, path };
    }
  }
}

export function recoveredEntries(files: Recovered[]): (TimelineEntry & { inode: Inode })[] {
  return files.flatMap((r): (TimelineEntry & { inode: Inode })[] => {
    const base = { subvol: r.subvol, ino: r.ino, inode: r.inode, deleted: true, source: r.source, ...(r.inoReused ? { realloc: true } : {}), ...(r.olderVersion ? { olderVersion: true } : {}) };
    return r.paths.length ? r.paths.map((path) => ({ ...base, path })) : [{ ...base, path: null }];
  });
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

/** What stands for the name of an inode none of whose names survives. */
export function noName(e: TimelineEntry): string {
  return `<no name: subvolume ${e.subvol} inode ${e.ino}>`;
}

/** TSK's virtual directory of files no name reaches (fls lists them as $OrphanFiles/OrphanFile-INODE). */
export const TSK_ORPHAN_DIR = '$OrphanFiles';

/**
 * The path forensic formats (body file, DFXML) give an entry, by TSK's
 * conventions: an inode no name reaches (live or recovered) is
 * $OrphanFiles/OrphanFile-SUBVOL-INO; a name found in an orphan leaf whose
 * directory has no known path ($ORPHAN/TREE/DIR/NAME) is $OrphanFiles/NAME,
 * as fls shows a named orphan. `orphan`: it is under $OrphanFiles.
 */
export function tskPath(e: Pick<TimelineEntry, 'subvol' | 'ino' | 'path' | 'source'>): { path: Uint8Array[]; orphan: boolean } {
  const enc = new TextEncoder();
  const dir = enc.encode(TSK_ORPHAN_DIR);
  const unnamed = [dir, enc.encode(`OrphanFile-${e.subvol}-${e.ino}`)];
  if (!e.path) return { path: unnamed, orphan: true };
  const first = e.path[0];
  if (e.source === 'orphan leaf' && first && new TextDecoder().decode(first) === ORPHAN_DIR) return { path: e.path.length >= 4 ? [dir, ...e.path.slice(3)] : unnamed, orphan: true };
  return { path: e.path, orphan: false };
}

/**
 * The name field of a body-file line: path [-> target] [(deleted)], as TSK
 * writes it, escaped by bodyfileText's rule; "(deleted-realloc)" when the
 * inode number now belongs to another inode (fls' mark for a deleted name
 * whose metadata is allocated again).
 */
export function bodyName(e: TimelineEntry): string {
  let name = bodyfilePath(tskPath(e).path);
  if (e.symlinkTarget) name += ` -> ${bodyfileText(e.symlinkTarget)}`;
  if (e.deleted) name += e.realloc ? ' (deleted-realloc)' : ' (deleted)';
  return name;
}

/** The same for people (tables): path [-> target] [(deleted)], escaped by displayText's rule. */
export function displayEntryName(e: TimelineEntry): string {
  const s = showEntry(e, 'display');
  let name = s.path ?? displayText(new TextEncoder().encode(noName(e)));
  if (s.target !== null) name += ` -> ${s.target}`;
  if (e.deleted) name += ' (deleted)';
  return name;
}

/**
 * One TSK 3 body-file line: MD5|name|inode|mode_as_string|UID|GID|size|atime|mtime|ctime|crtime.
 * MD5 is 0 (not computed); inode is SUBVOL-INO: a btrfs inode number is only
 * unique within its subvolume (/, a subvolume and its snapshots all have an
 * inode 256). The dash is TSK's own way to write a many-part inode (NTFS
 * "ino-type-id"): mactime keeps a line only when the field is digits and
 * dashes (it drops "5:276"). crtime is btrfs' otime. `ns` writes sec.nnnnnnnnn.
 */
export function bodyLine(e: TimelineEntry, ns = false): string {
  const i = e.inode;
  return [
    '0',
    bodyName(e),
    `${e.subvol}-${e.ino}`,
    tskModeString(i.kind, i.mode),
    String(i.uid),
    String(i.gid),
    String(i.size),
    bodyTime(i.atime, ns),
    bodyTime(i.mtime, ns),
    bodyTime(i.ctime, ns),
    bodyTime(i.otime, ns),
  ].join('|');
}

export interface TimelineEvent {
  timeNs: bigint;
  /** mactime's flags: m(odified) a(ccessed) c(hanged) b(orn), '.' where this time is not that one. */
  macb: string;
  entry: TimelineEntry;
}

const ns = (t: Timespec) => t.sec * 1_000_000_000n + BigInt(t.nsec);

/** A time in ns since the epoch as a Timespec (nsec in [0, 1e9) also before 1970). */
export function timespecOfNs(t: bigint): Timespec {
  const n = ((t % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
  return { sec: (t - n) / 1_000_000_000n, nsec: Number(n) };
}

/** The distinct times of one entry with mactime's flags: m(odified) a(ccessed) c(hanged) b(orn), '.' where this time is not that one. */
export function entryTimes(e: TimelineEntry): { timeNs: bigint; macb: string }[] {
  const i = e.inode;
  const times = [ns(i.mtime), ns(i.atime), ns(i.ctime), ns(i.otime)];
  const out: { timeNs: bigint; macb: string }[] = [];
  for (const t of new Set(times)) out.push({ timeNs: t, macb: times.map((x, k) => (x === t ? 'macb'[k] : '.')).join('') });
  return out;
}

/** mactime-style events: one per distinct time of each entry (each name of each inode), sorted by time, then subvolume, inode (stable: names in the order given). */
export function timelineEvents(entries: Iterable<TimelineEntry>): TimelineEvent[] {
  const out: TimelineEvent[] = [];
  for (const e of entries) for (const t of entryTimes(e)) out.push({ ...t, entry: e });
  const c = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
  return out.sort((a, b) => c(a.timeNs, b.timeNs) || c(a.entry.subvol, b.entry.subvol) || c(a.entry.ino, b.entry.ino));
}
