import type { FsView } from '../fs/FsView.js';
import { fileExtents, symlinkTarget } from '../fs/fileData.js';
import type { Inode, InodeRef } from '../fs/types.js';
import { readInodeVerity } from '../fs/verity.js';
import { walkFiles } from '../fs/walk.js';
import { entryJson, extentJson, fileEntryJson, nameJson, pathFields, summarizeExtents } from './fs.js';
import { JsonStreamArray } from './json.js';
import { verityJson } from './verity.js';

/**
 * The bodies of the `ls --json` and `stat --json` documents, one place for
 * the commands and the web inspector (which shows the same JSON).
 */

/** What was found for a path or inode (fs/select.ts's Located, ok). */
export interface FoundInode {
  ref: InodeRef;
  inode: Inode;
  /** Path from the top of the filesystem, as components; null when it has none. */
  path: Uint8Array[] | null;
}

/**
 * `ls --json` (not -R): a directory and its `entries[]`, or (anything else, or `asEntry`: -d) its one entry.
 * `stream`: entries[] and every xattrs[] as JsonStreamArrays, read as writeJsonStream writes them
 * (a directory of 200,000 entries, a file of 16,000 large xattrs), never all in memory.
 */
export function listingJson(view: FsView, loc: FoundInode, asEntry = false, stream = false): Record<string, unknown> {
  const base = loc.path ?? [];
  const xattrs = (ref: InodeRef) => (stream ? view.eachXattr(ref) : view.xattrs(ref));
  if (loc.inode.kind !== 'dir' || asEntry) {
    return entryJson({ path: base, entry: null, ref: loc.ref, inode: loc.inode, depth: 0 }, symlinkTarget(view, loc.inode), xattrs(loc.ref));
  }
  const each = (emit: (v: unknown) => void) => {
    for (const it of walkFiles(view, loc.ref, { prune: (x) => x.depth >= 1 })) {
      if (it.depth === 0) continue;
      emit(entryJson({ ...it, path: [...base, ...it.path] }, symlinkTarget(view, it.inode), xattrs(it.ref)));
    }
  };
  const entries: Record<string, unknown>[] | JsonStreamArray = stream ? new JsonStreamArray(each) : [];
  if (Array.isArray(entries)) each((v) => entries.push(v as Record<string, unknown>));
  return { ...entryJson({ path: base, entry: null, ref: loc.ref, inode: loc.inode, depth: 0 }, null, xattrs(loc.ref)), entries };
}

/** `stat --json` of one inode: its fields, `paths`, `names`, xattrs (`stream`: as in listingJson), and (files and symlinks) the first `keep` extents with their summary. */
export function statJson(view: FsView, loc: FoundInode, keep: number, stream = false): Record<string, unknown> {
  const { ref, inode } = loc;
  const target = symlinkTarget(view, inode);
  const { summary, list } = summarizeExtents(fileExtents(view, ref), keep);
  const verity = readInodeVerity(view, ref);
  return {
    ...fileEntryJson({ path: loc.path, ref, inode, symlinkTarget: target, xattrs: stream ? view.eachXattr(ref) : view.xattrs(ref) }),
    paths: view.paths(ref).map((p) => pathFields(p).path),
    names: view.names(ref).map((n) => nameJson(view, ref.subvol, n)),
    // As in the text: only regular files and symlinks (an inline extent holds the target) have file
    // extents; other types get the part only when their tree holds extent items for them.
    ...(verity ? { verity: verityJson(verity) } : {}),
    ...(inode.kind === 'file' || inode.kind === 'symlink' || summary.count > 0 ? { extents: { ...summary, list: list.map(extentJson) } } : {}),
  };
}
