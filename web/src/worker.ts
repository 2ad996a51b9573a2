import { runCheck } from '../../src/analysis/check/index.js';
import { computeUsage } from '../../src/analysis/usage.js';
import { formatLocation } from '../../src/findings.js';
import { ItemType } from '../../src/format/constants.js';
import { HEADER_SIZE, ITEM_SIZE, KEY_PTR_SIZE } from '../../src/format/treeBlock.js';
import { FsView } from '../../src/fs/FsView.js';
import { readAll } from '../../src/fs/fileData.js';
import { type Located, locate } from '../../src/fs/select.js';
import type { ByteSource } from '../../src/io/ByteSource.js';
import { dumpRoots, printContextOf } from '../../src/report/dumpTree.js';
import { listingJson, statJson } from '../../src/report/fileDocs.js';
import { subvolumeJson } from '../../src/report/fs.js';
import { jsonDocument, setJsonBigint, toJson } from '../../src/report/json.js';
import { reverseJson } from '../../src/report/map.js';
import { superblockJson, superblockRows } from '../../src/report/superblock.js';
import { treeBlockJson, treeStartJson } from '../../src/report/treeJson.js';
import { Filesystem } from '../../src/tree/Filesystem.js';
import { NotBtrfsError } from '../../src/volume/assemble.js';
import { readSuperblocks } from '../../src/volume/superblocks.js';
import { recover, roots, timeline } from './ops/forensics.js';
import { chunk, layout, resolve } from './ops/layout.js';
import { diff, free, sharing } from './ops/sharing.js';
import { tarOf } from './ops/tar.js';
import type { Envelope, Reply, Request, SourceSpec } from './protocol.js';
import { fileSource, httpSource, isRunsName, runsFileSource } from './sources.js';

/**
 * The library runs here, off the page's thread: its reads are synchronous,
 * and only a worker can read a File (FileReaderSync) or the server
 * (synchronous XHR) synchronously. u64 values go out as decimal strings so
 * the page's JSON.parse keeps them exact.
 */
setJsonBigint('string');

declare const self: DedicatedWorkerGlobalScope;

let fs: Filesystem | undefined;
let view: FsView | undefined;
let sources: ByteSource[] = [];

function sourceOf(s: SourceSpec): ByteSource {
  if (s.kind === 'http') return httpSource(s.url, s.name, BigInt(s.size));
  return isRunsName(s.file.name) ? runsFileSource(s.file) : fileSource(s.file);
}

function opened(): { fs: Filesystem; view: FsView } {
  if (!fs || !view) throw new Error('no image is open');
  return { fs, view };
}

function open(specs: SourceSpec[]): string {
  sources = specs.map(sourceOf);
  try {
    fs = Filesystem.open(sources);
  } catch (e) {
    if (e instanceof NotBtrfsError) throw new Error(`${e.message} (pick the image of a btrfs filesystem, or all devices of one)`);
    throw e;
  }
  view = new FsView(fs);
  return toJson({ label: fs.superblock.label, fsid: fs.superblock.fsid, devices: sources.map((s) => ({ name: s.name, size: s.size })) });
}

/** Superblock (fields as `super` shows them), each device's copies, subvolumes, usage by type and profile. */
function overview(): string {
  const { fs, view } = opened();
  const u = computeUsage(fs);
  return toJson({
    superblock: superblockJson(fs.superblock),
    superblockRows: superblockRows(fs.superblock),
    devices: sources.map((s) => {
      const supers = readSuperblocks(s);
      return {
        name: s.name,
        size: s.size,
        usedCopy: supers.bestIndex,
        mirrors: supers.mirrors.map((m) => ({ index: m.index, offset: m.offset, state: m.state, problems: m.problems, ...(m.generation !== undefined ? { generation: m.generation } : {}) })),
      };
    }),
    defaultSubvol: view.defaultSubvolume(),
    subvolumes: view.subvolumes().map(subvolumeJson),
    usage: { ...u, devices: u.devices.map((d) => ({ ...d, byGroup: Object.fromEntries(d.byGroup) })) },
    findings: fs.findings.items.map((f) => ({ ...f, where: formatLocation(f.location) })),
  });
}

/** The trees the root tree names, as the "tree" records of `tree --json`. */
function trees(): string {
  const { fs } = opened();
  return dumpRoots(fs)
    .map((t) => treeStartJson(t.root.tree, t.title.replace(/ key .*$/, '').trim(), t.root.bytenr, t.root.level, t.key))
    .join('');
}

/**
 * One tree block, as `tree --block LOGICAL --json` writes it (without the header record), what
 * reading it found, and its raw bytes with a "layout" record: where the header, each slot's key
 * entry and each leaf item's data lie in them (for the hex view).
 */
function block(logical: string): { json: string; bytes?: Uint8Array } {
  const { fs } = opened();
  const r = fs.reader.read({ logical: BigInt(logical) });
  const b = r.block ?? r.damaged;
  const findings = r.findings.map((f) => toJson({ record: 'finding', ...f, where: formatLocation(f.location) }) + '\n').join('');
  if (!b) return { json: findings };
  const entry = b.isLeaf ? ITEM_SIZE : KEY_PTR_SIZE;
  const slots = Array.from({ length: r.validItems }, (_, i) => ({
    slot: i,
    key: [b.keyOffset(i), b.keyOffset(i) + entry],
    ...(b.isLeaf ? { data: [b.itemOffset(i), b.itemOffset(i) + b.itemSize(i)] } : {}),
  }));
  const layout = toJson({ record: 'layout', size: b.data.length, header: [0, HEADER_SIZE], slots }) + '\n';
  return { json: treeBlockJson(b, printContextOf(fs), r.validItems) + findings + layout, bytes: b.data.slice() };
}

function located(subvol: string, path: string, ino?: string): Extract<Located, { ok: true }> {
  const loc = locate(opened().view, ino !== undefined ? { subvol, inode: `${subvol}:${ino}` } : { subvol, path: path || '/' });
  if (!loc.ok) throw new Error(loc.error);
  return loc;
}

/** A directory as `ls --json` lists it (or the one entry of a non-directory). */
function ls(subvol: string, path: string): string {
  return toJson(jsonDocument('ls', listingJson(opened().view, located(subvol, path))));
}

/** An inode (by path, or by number as `stat --inode`) as `stat --json` shows it: fields, names, paths, xattrs, the first 100 extents. */
function stat(subvol: string, path: string, ino?: string): string {
  return toJson(jsonDocument('stat', statJson(opened().view, located(subvol, path, ino), 100)));
}

/** A key type given by name (INODE_ITEM, or without _ITEM) or by number. */
function keyType(t: string): number {
  if (/^\d+$/.test(t) && Number(t) < 256) return Number(t);
  const name = t.trim().toUpperCase();
  const v = (ItemType as Record<string, number>)[name] ?? (ItemType as Record<string, number>)[`${name}_ITEM`] ?? (ItemType as Record<string, number>)[`${name}_KEY`];
  if (v === undefined) throw new Error(`unknown key type "${t}" (a number 0-255 or a name such as INODE_ITEM, DIR_ITEM, EXTENT_DATA)`);
  return v;
}

/**
 * Jump to a key: the leaf of tree `tree` holding the first item at or after it (the search
 * `tree --key` does), with the slot and the key found there.
 */
function find(tree: string, key: { objectid: string; type: string; offset: string }): string {
  const { fs } = opened();
  const root = fs.treeRoot(BigInt(tree));
  if (!root) throw new Error(`no tree ${tree} (the Trees view lists them)`);
  const k = { objectid: BigInt(key.objectid), type: keyType(key.type), offset: BigInt(key.offset) };
  for (const { block, slot } of fs.items(root, k)) {
    return toJson({ tree: root.tree, block: block.logical, slot, key: { objectid: block.keyObjectid(slot), type: block.keyType(slot), offset: block.keyOffsetField(slot) } });
  }
  throw new Error(`tree ${tree} has no item at or after (${key.objectid} ${key.type} ${key.offset})`);
}

/** Bytes shown around a device offset. */
const DEVICE_WINDOW = 4096;

/**
 * A device offset: the 4 KiB around it (from a 4 KiB boundary), and what the chunk map says
 * lives there, as `map --physical OFFSET --devid N --json` says it.
 */
function device(devid: string, offset: string): { json: string; bytes: Uint8Array } {
  const { fs } = opened();
  const d = fs.volume.devices.get(BigInt(devid));
  if (!d?.source) throw new Error(`no device ${devid} is open (devices: ${[...fs.volume.devices.keys()].join(', ')})`);
  const at = BigInt(offset);
  const start = at - (at % BigInt(DEVICE_WINDOW));
  const bytes = d.source.read(start, DEVICE_WINDOW).slice();
  return { json: toJson({ name: d.source.name, size: d.source.size, start, ...reverseJson(BigInt(devid), at, fs.volume.reverse(BigInt(devid), at)) }), bytes };
}

/** A file's first `max` bytes (holes as zeros), with the ranges no copy reads correctly. */
function read(subvol: string, path: string, max: number): { json: string; bytes: Uint8Array } {
  const { view } = opened();
  const { inode } = located(subvol, path);
  if (inode.kind !== 'file') throw new Error(`not a regular file (${inode.kind})`);
  const r = readAll(view, inode, { max });
  return {
    json: toJson({ size: inode.size, read: r.bytes.length, errors: r.errors.map((e) => (e.kind === 'error' ? { offset: e.offset, length: e.length, message: e.message } : { offset: e.offset })) }),
    bytes: r.bytes,
  };
}

/** The whole check (metadata and cross references; data checksums too), as `check --data --json` lists findings. */
function check(id: number): string {
  const { fs } = opened();
  // Progress at most every 100 ms: the check calls back per block, far more often than a page can draw.
  let last = 0;
  const progress = (phase: string, done: number, total: number) => {
    const now = performance.now();
    if (now - last < 100 && done < total) return;
    last = now;
    post({ id, progress: { phase, done, total } });
  };
  const report = runCheck(fs, { data: true, progress });
  return toJson({
    summary: report.summary,
    dropped: report.dropped,
    findings: report.findings.map((f) => ({ code: f.code, severity: f.severity, message: f.message, location: f.location, where: formatLocation(f.location) })),
  });
}

/** Progress at most every 100 ms: the library calls back per block, far more often than a page can draw. */
function throttled(id: number): (phase: string, done: number, total: number) => void {
  let last = 0;
  return (phase, done, total) => {
    const now = performance.now();
    if (now - last < 100 && done < total) return;
    last = now;
    post({ id, progress: { phase, done, total } });
  };
}

function post(r: Reply, transfer: Transferable[] = []): void {
  self.postMessage(r, transfer);
}

function handle(id: number, req: Request): void {
  switch (req.op) {
    case 'open':
      post({ id, ok: true, json: open(req.sources) });
      return;
    case 'overview':
      post({ id, ok: true, json: overview() });
      return;
    case 'trees':
      post({ id, ok: true, json: trees() });
      return;
    case 'block': {
      const r = block(req.logical);
      post({ id, ok: true, json: r.json, ...(r.bytes ? { bytes: r.bytes } : {}) }, r.bytes ? [r.bytes.buffer] : []);
      return;
    }
    case 'ls':
      post({ id, ok: true, json: ls(req.subvol, req.path) });
      return;
    case 'stat':
      post({ id, ok: true, json: stat(req.subvol, req.path, req.ino) });
      return;
    case 'find':
      post({ id, ok: true, json: find(req.tree, req.key) });
      return;
    case 'device': {
      const r = device(req.devid, req.offset);
      post({ id, ok: true, json: r.json, bytes: r.bytes }, [r.bytes.buffer]);
      return;
    }
    case 'read': {
      const r = read(req.subvol, req.path, req.max);
      post({ id, ok: true, json: r.json, bytes: r.bytes }, [r.bytes.buffer]);
      return;
    }
    case 'check':
      post({ id, ok: true, json: check(id) });
      return;
    case 'layout':
      post({ id, ok: true, json: layout(opened().fs) });
      return;
    case 'chunk':
      post({ id, ok: true, json: chunk(opened().fs, BigInt(req.logical)) });
      return;
    case 'resolve':
      post({ id, ok: true, json: resolve(opened().view, BigInt(req.logical)) });
      return;
    case 'sharing':
      post({ id, ok: true, json: sharing(opened().view, throttled(id)) });
      return;
    case 'free':
      post({ id, ok: true, json: free(opened().view, req.subvols) });
      return;
    case 'diff':
      post({ id, ok: true, json: diff(opened().view, req.a, req.b) });
      return;
    case 'roots':
      post({ id, ok: true, json: roots(opened().fs, throttled(id)) });
      return;
    case 'recover':
      post({ id, ok: true, json: recover(opened().fs, throttled(id)) });
      return;
    case 'tar': {
      const loc = located(req.subvol, req.path);
      if (loc.inode.kind !== 'dir') throw new Error(`not a directory (${loc.inode.kind})`);
      const last = loc.path?.[loc.path.length - 1];
      const r = tarOf(opened().view, loc, last && last.length > 0 ? last : new TextEncoder().encode(`subvol-${req.subvol}`), req.max);
      post({ id, ok: true, json: toJson({ entries: r.entries, skipped: r.skipped, unreadable: r.unreadable }), bytes: r.bytes }, [r.bytes.buffer]);
      return;
    }
    case 'timeline':
      post({ id, ok: true, json: timeline(opened().view, throttled(id)) });
      return;
  }
}

self.onmessage = (ev: MessageEvent<Envelope>) => {
  const { id } = ev.data;
  try {
    handle(id, ev.data);
  } catch (e) {
    post({ id, ok: false, error: (e as Error)?.message ?? String(e) });
  }
};
