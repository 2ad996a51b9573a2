import { toHex } from '../format/bytes.js';
import { compressionName } from '../format/compression/index.js';
import type { Timespec } from '../format/items/common.js';
import type { LogicalResolution } from '../fs/backrefs.js';
import type { FsView } from '../fs/FsView.js';
import type { FileExtent } from '../fs/fileData.js';
import { inodeFlagNames, kindOfMode } from '../fs/fileKinds.js';
import { displayPath, displayText, isUtf8, jsonPath, jsonText, pathBytes, toBase64 } from '../fs/names.js';
import type { Inode, InodeName, InodeRef, SubvolumeInfo, Xattr } from '../fs/types.js';
import type { WalkItem } from '../fs/walk.js';
import { JsonStreamArray } from './json.js';

/**
 * Text and JSON forms of files, inodes, subvolumes and back references for
 * the ls, stat, subvolumes and resolve commands. Names are bytes, made text
 * by the one rule of fs/names.ts: in JSON a name is its UTF-8 text with \xNN
 * for bytes that are not UTF-8, plus its exact bytes in base64 when the text
 * is not exact.
 */

// ------------------------------------------------------------------ times, modes

/** Nanoseconds since the epoch (exact). */
export function timeNs(t: Timespec): bigint {
  return t.sec * 1_000_000_000n + BigInt(t.nsec);
}

const MAX_DATE_SEC = 8_640_000_000_000n; // Date's range, in seconds

/** "2026-11-21T15:51:52.345487384Z"; out-of-range values as "sec.nsec s". */
export function formatTime(t: Timespec): string {
  if (t.nsec >= 1_000_000_000 || t.sec > MAX_DATE_SEC || t.sec < -MAX_DATE_SEC) return `${t.sec}.${String(t.nsec).padStart(9, '0')}s (invalid)`;
  const d = new Date(Number(t.sec) * 1000);
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z (or ±YYYYYY-...)
  return `${iso.slice(0, iso.length - 5)}.${String(t.nsec).padStart(9, '0')}Z`;
}

/** "2026-11-21 15:51:52.345487384Z" for tables and listings: UTC, and the Z says so. */
export function formatTimeShort(t: Timespec): string {
  return formatTime(t).replace('T', ' ');
}

const KIND_CHAR: Record<string, string> = { file: '-', dir: 'd', symlink: 'l', chr: 'c', blk: 'b', fifo: 'p', sock: 's', unknown: '?' };

/** "drwxr-xr-x", "-rwsr-xr-t", ... */
export function modeString(mode: number): string {
  const kind = KIND_CHAR[kindOfMode(mode)] ?? '?';
  const r = (bit: number, c: string) => (mode & bit ? c : '-');
  const x = (bit: number, special: number, on: string, off: string) => (mode & special ? (mode & bit ? on : off) : mode & bit ? 'x' : '-');
  return kind + r(0o400, 'r') + r(0o200, 'w') + x(0o100, 0o4000, 's', 'S') + r(0o040, 'r') + r(0o020, 'w') + x(0o010, 0o2000, 's', 'S') + r(0o004, 'r') + r(0o002, 'w') + x(0o001, 0o1000, 't', 'T');
}

/** Major and minor of a btrfs inode's rdev (the kernel's dev_t: major << 20 | minor). */
export function rdevParts(rdev: bigint): { major: number; minor: number } {
  return { major: Number((rdev >> 20n) & 0xfffn), minor: Number(rdev & 0xfffffn) };
}

// ------------------------------------------------------------------ names

/** JSON fields for a directory entry name: text, and base64 of the bytes when the text is not exact. */
export function nameFields(bytes: Uint8Array, field = 'name'): Record<string, string> {
  const { text, exact } = jsonText(bytes, true);
  return exact ? { [field]: text } : { [field]: text, [`${field}Base64`]: toBase64(bytes) };
}

/** JSON fields for a byte string that may hold "/" (a symlink target), as nameFields. */
export function textFields(bytes: Uint8Array, field: string): Record<string, string> {
  const { text, exact } = jsonText(bytes);
  return exact ? { [field]: text } : { [field]: text, [`${field}Base64`]: toBase64(bytes) };
}

export function pathFields(components: readonly Uint8Array[], field = 'path'): Record<string, string> {
  const { text, exact } = jsonPath(components);
  return exact ? { [field]: text } : { [field]: text, [`${field}Base64`]: toBase64(pathBytes(components)) };
}

/** An xattr value for a table: printable text as is (escaped), else hex. */
export function xattrValueText(v: Uint8Array, max = 64): string {
  const printable = isUtf8(v) && !/[\x00-\x08\x0e-\x1f\x7f]/.test(new TextDecoder().decode(v));
  const cut = v.length > max;
  const b = cut ? v.subarray(0, max) : v;
  const s = printable ? `"${displayText(b)}"` : `0x${toHex(b)}`;
  return cut ? `${s}... (${v.length} bytes)` : s;
}

export function xattrJson(x: Xattr): Record<string, unknown> {
  return { ...nameFields(x.name), size: x.value.length, valueBase64: toBase64(x.value), valueHex: toHex(x.value), ...(isUtf8(x.value) ? { valueText: new TextDecoder().decode(x.value) } : {}) };
}

// ------------------------------------------------------------------ inodes

export function timesJson(i: Inode): Record<string, unknown> {
  return {
    atime: formatTime(i.atime),
    atimeNs: timeNs(i.atime),
    mtime: formatTime(i.mtime),
    mtimeNs: timeNs(i.mtime),
    ctime: formatTime(i.ctime),
    ctimeNs: timeNs(i.ctime),
    otime: formatTime(i.otime),
    otimeNs: timeNs(i.otime),
  };
}

/** What one file's JSON entry is made of. */
export interface EntryParts {
  /** The path it was reached by (its name is the last component); absent for an inode asked for by number. */
  path?: readonly Uint8Array[] | null;
  ref: InodeRef;
  /** Null when the name's inode is gone (type "missing"). */
  inode: Inode | null;
  symlinkTarget?: Uint8Array | null;
  /**
   * Its xattrs; absent where they cannot be read (an inode of an older tree). An array is
   * written as one; any other iterable (FsView.eachXattr) becomes a JsonStreamArray, each
   * value read as it is written (for writeJsonStream only).
   */
  xattrs?: Iterable<Xattr>;
}

/**
 * The JSON entry of one file: the one shape `ls`, `ls -R`, `stat` and the
 * recover report share (each adds its own fields after it): path and name,
 * subvol and ino, every inode item field, symlink target, xattrs.
 */
/**
 * Fields of an inode item that say when and where it was written, not what the
 * file is: two writes of the same content differ in them. A manifest leaves
 * them out (`stable`), so that the same content gives the same manifest.
 */
const WRITE_FIELDS = ['nbytes', 'generation', 'transid', 'sequence', 'blockGroup', 'atime', 'atimeNs', 'ctime', 'ctimeNs', 'otime', 'otimeNs', 'item'];

export function fileEntryJson(p: EntryParts, opts: { stable?: boolean } = {}): Record<string, unknown> {
  const path = p.path ?? null;
  const base: Record<string, unknown> = {
    ...(path ? pathFields(path) : {}),
    ...(path ? nameFields(path.length ? path[path.length - 1]! : new Uint8Array(0)) : {}),
    subvol: p.ref.subvol,
    ino: p.ref.ino,
  };
  if (!p.inode) return { ...base, type: 'missing' };
  const { subvol: _s, ino: _i, ...fields } = inodeJson(p.inode);
  if (opts.stable) for (const k of WRITE_FIELDS) delete fields[k];
  return {
    ...base,
    ...fields,
    ...(p.symlinkTarget ? textFields(p.symlinkTarget, 'symlinkTarget') : {}),
    ...(p.xattrs ? { xattrs: xattrsJson(p.xattrs) } : {}),
  };
}

function xattrsJson(xs: Iterable<Xattr>): Record<string, unknown>[] | JsonStreamArray {
  if (Array.isArray(xs)) return (xs as readonly Xattr[]).map(xattrJson);
  return new JsonStreamArray((emit) => {
    for (const x of xs) emit(xattrJson(x));
  });
}

/** The entry ls writes for one walked item: fileEntryJson and how the walk met it. */
export function entryJson(item: WalkItem, symlinkTarget: Uint8Array | null, xattrs: Iterable<Xattr>): Record<string, unknown> {
  return {
    ...fileEntryJson({ path: item.path, ref: item.ref, inode: item.inode, symlinkTarget, xattrs }),
    ...(item.entry?.crossing === 'subvolume' ? { subvolumeRoot: true } : {}),
    ...(item.entry?.crossing === 'placeholder' ? { placeholder: true } : {}),
    ...(item.loop ? { loop: true } : {}),
  };
}

/** One `ls -l` line: ino, mode, nlink, uid, gid, size (or major, minor), mtime, name [-> target]. */
export function longLine(item: WalkItem, name: string, symlinkTarget: Uint8Array | null, allTimes: boolean): string {
  const i = item.inode;
  if (!i) return `${item.ref.ino} ?????????? (inode missing) ${name}`;
  const size = i.kind === 'chr' || i.kind === 'blk' ? `${rdevParts(i.rdev).major}, ${rdevParts(i.rdev).minor}` : String(i.size);
  const times = allTimes ? `a:${formatTimeShort(i.atime)} m:${formatTimeShort(i.mtime)} c:${formatTimeShort(i.ctime)} o:${formatTimeShort(i.otime)}` : formatTimeShort(i.mtime);
  const target = symlinkTarget ? ` -> ${displayText(symlinkTarget)}` : '';
  return `${String(item.ref.ino).padStart(7)} ${modeString(i.mode)} ${String(i.nlink).padStart(3)} ${String(i.uid).padStart(5)} ${String(i.gid).padStart(5)} ${size.padStart(12)} ${times} ${name}${target}`;
}

/** Every field of an inode item as [field, value] rows. */
export function inodeRows(i: Inode): [string, string][] {
  const rdev = rdevParts(i.rdev);
  return [
    ['subvolume', String(i.subvol)],
    ['inode', String(i.ino) + (i.placeholder ? ' (empty directory standing for a subvolume not linked in this snapshot)' : '')],
    ['type', i.kind],
    ['mode', `0${i.mode.toString(8)} (${modeString(i.mode)})`],
    ['nlink', String(i.nlink)],
    ['uid', String(i.uid)],
    ['gid', String(i.gid)],
    ['size', String(i.size)],
    ['nbytes', String(i.nbytes)],
    ['rdev', `${i.rdev} (${rdev.major}:${rdev.minor})`],
    ['flags', `0x${i.flags.toString(16)}${i.flags ? ` (${inodeFlagNames(i.flags).join(' | ')})` : ''}`],
    ['generation', String(i.generation)],
    ['transid', String(i.transid)],
    ['sequence', String(i.sequence)],
    ['block group', String(i.blockGroup)],
    ['atime', formatTime(i.atime)],
    ['mtime', formatTime(i.mtime)],
    ['ctime', formatTime(i.ctime)],
    ['otime', formatTime(i.otime)],
  ];
}

export function inodeJson(i: Inode): Record<string, unknown> {
  return {
    subvol: i.subvol,
    ino: i.ino,
    type: i.kind,
    ...(i.placeholder ? { placeholder: true } : {}),
    mode: i.mode,
    modeOctal: i.mode.toString(8),
    modeString: modeString(i.mode),
    nlink: i.nlink,
    uid: i.uid,
    gid: i.gid,
    size: i.size,
    nbytes: i.nbytes,
    rdev: i.rdev,
    rdevMajor: rdevParts(i.rdev).major,
    rdevMinor: rdevParts(i.rdev).minor,
    flags: i.flags,
    flagNames: inodeFlagNames(i.flags),
    generation: i.generation,
    transid: i.transid,
    sequence: i.sequence,
    blockGroup: i.blockGroup,
    ...timesJson(i),
    ...(i.place ? { item: i.place } : {}),
  };
}

export function nameJson(view: FsView, subvol: bigint, n: InodeName): Record<string, unknown> {
  const dir = view.dirPath({ subvol: n.parentSubvol ?? subvol, ino: n.parent });
  return {
    parent: n.parent,
    ...(n.parentSubvol !== undefined ? { parentSubvol: n.parentSubvol } : {}),
    ...nameFields(n.name),
    index: n.index,
    source: n.source,
    ...(dir ? pathFields([...dir, n.name]) : { path: null }),
  };
}

// ------------------------------------------------------------------ extents

export interface ExtentSummary {
  count: number;
  inline: number;
  regular: number;
  prealloc: number;
  hole: number;
  compressed: Record<string, number>;
  /** Bytes of the file the extents map. */
  mappedBytes: bigint;
  /** Bytes on disk of the distinct extents referenced. */
  diskBytes: bigint;
}

export function summarizeExtents(extents: Iterable<FileExtent>, keep = 0): { summary: ExtentSummary; list: FileExtent[] } {
  const s: ExtentSummary = { count: 0, inline: 0, regular: 0, prealloc: 0, hole: 0, compressed: {}, mappedBytes: 0n, diskBytes: 0n };
  const list: FileExtent[] = [];
  const disk = new Set<bigint>();
  for (const e of extents) {
    s.count++;
    s[e.kind]++;
    s.mappedBytes += e.length;
    if (e.compression) {
      const n = compressionName(e.compression) ?? `type ${e.compression}`;
      s.compressed[n] = (s.compressed[n] ?? 0) + 1;
    }
    if ((e.kind === 'regular' || e.kind === 'prealloc') && !disk.has(e.diskBytenr)) {
      if (disk.size < 1_000_000) disk.add(e.diskBytenr);
      s.diskBytes += e.diskNumBytes;
    }
    if (list.length < keep) list.push(e);
  }
  return { summary: s, list };
}

export function extentJson(e: FileExtent): Record<string, unknown> {
  return {
    fileOffset: e.fileOffset,
    length: e.length,
    kind: e.kind,
    compression: compressionName(e.compression) ?? e.compression,
    ...(e.kind === 'inline' ? { inlineSize: e.inline!.length, ramBytes: e.ramBytes } : { diskBytenr: e.diskBytenr, diskNumBytes: e.diskNumBytes, offset: e.offset, ramBytes: e.ramBytes }),
    generation: e.generation,
    ...(e.encryption || e.otherEncoding ? { encryption: e.encryption, otherEncoding: e.otherEncoding } : {}),
    item: e.place,
    ...(e.errors ? { errors: e.errors } : {}),
  };
}

export function extentRow(e: FileExtent): (string | bigint)[] {
  return [
    e.fileOffset,
    e.length,
    e.kind,
    compressionName(e.compression) ?? String(e.compression),
    e.kind === 'inline' ? `inline ${e.inline!.length} bytes` : e.kind === 'hole' ? '-' : `${e.diskBytenr} +${e.diskNumBytes}`,
    e.kind === 'inline' || e.kind === 'hole' ? '-' : e.offset,
  ];
}

// ------------------------------------------------------------------ subvolumes

export function subvolumeJson(s: SubvolumeInfo): Record<string, unknown> {
  const it = s.item;
  const time = (t: Timespec, valid: boolean, name: string) => (valid ? { [name]: formatTime(t), [`${name}Ns`]: timeNs(t) } : { [name]: null, [`${name}Ns`]: null });
  return {
    subvol: s.id,
    ...(s.path ? pathFields(s.path) : { path: null }),
    parentSubvol: s.parentId,
    dirId: s.dirId,
    ...(s.name ? nameFields(s.name) : { name: null }),
    generation: s.generation,
    otransid: s.otransid,
    ctransid: s.ctransid,
    stransid: it.v2Valid ? it.stransid : 0n,
    rtransid: it.v2Valid ? it.rtransid : 0n,
    uuid: s.uuid,
    parentUuid: s.parentUuid,
    receivedUuid: s.receivedUuid,
    ...time(it.ctime, it.v2Valid, 'ctime'),
    ...time(it.otime, it.v2Valid, 'otime'),
    ...time(it.stime, it.v2Valid && it.stransid !== 0n, 'stime'),
    ...time(it.rtime, it.v2Valid && it.rtransid !== 0n, 'rtime'),
    readOnly: s.readOnly,
    default: s.isDefault,
    deleted: s.deleted,
    orphan: s.orphan,
    snapshotOf: s.snapshotOf,
    refs: it.refs,
    flags: it.flags,
    rootDirId: s.rootDirId,
    bytenr: it.bytenr,
    level: it.level,
    lastSnapshot: it.lastSnapshot,
  };
}

export function subvolumeLabel(s: SubvolumeInfo): string {
  if (s.id === 5n) return '<FS_TREE>';
  return s.path ? displayPath(s.path) : s.deleted ? '(deleted)' : '(unlinked)';
}

export function subvolumeRow(s: SubvolumeInfo): (string | bigint)[] {
  const it = s.item;
  const flags = [s.readOnly ? 'ro' : 'rw', s.isDefault ? 'default' : '', s.deleted ? 'deleted' : '', s.orphan && !s.deleted ? 'orphan' : ''].filter(Boolean).join(',');
  return [
    s.id,
    subvolumeLabel(s),
    s.parentId ?? '-',
    s.generation,
    s.otransid,
    s.uuid ?? '-',
    s.parentUuid ?? '-',
    s.receivedUuid ?? '-',
    it.v2Valid ? formatTimeShort(it.ctime) : '-',
    it.v2Valid ? formatTimeShort(it.otime) : '-',
    flags,
  ];
}

/**
 * Snapshot lineage as an indented tree: each subvolume under the one whose
 * uuid is its parent uuid. Parent uuids that name no present subvolume
 * start their own group.
 */
export function lineageLines(subvols: SubvolumeInfo[]): string[] {
  const children = new Map<bigint, SubvolumeInfo[]>();
  const orphanGroups = new Map<string, SubvolumeInfo[]>();
  const roots: SubvolumeInfo[] = [];
  for (const s of subvols) {
    if (s.snapshotOf !== null && s.snapshotOf !== s.id) {
      const l = children.get(s.snapshotOf) ?? [];
      l.push(s);
      children.set(s.snapshotOf, l);
    } else if (s.parentUuid) {
      const l = orphanGroups.get(s.parentUuid) ?? [];
      l.push(s);
      orphanGroups.set(s.parentUuid, l);
    } else roots.push(s);
  }
  const lines: string[] = [];
  const seen = new Set<bigint>();
  const label = (s: SubvolumeInfo) =>
    `${s.id} ${subvolumeLabel(s)}${s.readOnly ? ' (ro)' : ''}${s.deleted && s.path ? ' (deleted)' : ''}${s.receivedUuid ? ` (received, from ${s.receivedUuid})` : ''}`;
  const visit = (s: SubvolumeInfo, prefix: string, last: boolean, top: boolean) => {
    if (seen.has(s.id)) return;
    seen.add(s.id);
    lines.push(top ? label(s) : `${prefix}${last ? '└── ' : '├── '}${label(s)}`);
    const kids = children.get(s.id) ?? [];
    const next = top ? '' : prefix + (last ? '    ' : '│   ');
    kids.forEach((k, i) => visit(k, next, i === kids.length - 1, false));
  };
  for (const r of roots) visit(r, '', true, true);
  for (const [uuid, group] of orphanGroups) {
    lines.push(`(parent ${uuid}, not present)`);
    group.forEach((k, i) => visit(k, '', i === group.length - 1, false));
  }
  // Anything left is in a parent-uuid cycle.
  for (const s of subvols) if (!seen.has(s.id)) visit(s, '', true, true);
  return lines;
}

// ------------------------------------------------------------------ resolve

export function resolutionJson(r: LogicalResolution): Record<string, unknown> {
  return {
    logical: r.logical,
    extent: r.extent,
    // A back reference's root is a subvolume for data (EXTENT_DATA_REF) and a tree for tree blocks.
    backrefs: r.backrefs.map((b) => {
      const { type, ...rest } = b;
      if (!('root' in rest)) return { kind: type, ...rest };
      const { root, ...more } = rest;
      return type === 'extent-data' ? { kind: type, subvol: root, ...more } : { kind: type, tree: root, ...more };
    }),
    files: r.files.map((f) => ({
      subvol: f.subvol,
      ino: f.ino,
      fileOffset: f.fileOffset,
      extentFileOffset: f.extentFileOffset,
      extentLength: f.extentLength,
      compressed: f.compressed,
      paths: f.paths.map((p) => pathFields(p).path),
      ...(f.paths.some((p) => 'pathBase64' in pathFields(p)) ? { pathsBase64: f.paths.map((p) => toBase64(pathBytes(p))) } : {}),
    })),
    ...(r.treeBlock ? { treeBlock: { owner: r.treeBlock.owner, level: r.treeBlock.level, firstKey: r.treeBlock.firstKey, trees: r.treeBlock.roots } } : {}),
    notes: r.notes,
  };
}
