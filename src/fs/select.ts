import { ObjectId } from '../format/constants.js';
import type { FsView } from './FsView.js';
import { displayPath } from './names.js';
import type { Inode, InodeRef } from './types.js';

/** What a person asked for: a path (from the top, or from --subvol) or an inode. */
export interface Target {
  path?: string;
  /** "SUBVOL:INO" or "INO" (in --subvol, default 5). */
  inode?: string;
  /** Subvolume id, or the path of a subvolume. */
  subvol?: string;
}

export type Located =
  | { ok: true; ref: InodeRef; inode: Inode; path: Uint8Array[] | null; base: Uint8Array[] }
  /** `unreadable`: what the path leads to is damaged (its inode cannot be read), not absent. */
  | { ok: false; error: string; notFound?: boolean; unreadable?: InodeRef };

const NUM = /^(0x[0-9a-f]+|\d+)$/i;

function num(s: string): bigint | null {
  if (!NUM.test(s)) return null;
  const v = BigInt(s);
  return v <= 0xffffffffffffffffn ? v : null;
}

/** The root of the subvolume named by --subvol (id or path), or an error. */
export function selectSubvolume(view: FsView, spec: string | undefined): { ok: true; root: InodeRef; path: Uint8Array[] } | { ok: false; error: string } {
  if (spec === undefined) return { ok: true, root: view.rootOf(ObjectId.FS_TREE), path: [] };
  const id = num(spec.trim());
  if (id !== null) {
    const s = view.subvolume(id);
    if (!s || !view.tree(id)) return { ok: false, error: `--subvol ${spec}: there is no subvolume ${id}` };
    return { ok: true, root: view.rootOf(id), path: s.path ?? [] };
  }
  const r = view.resolve(spec);
  if (!r.ok) return { ok: false, error: `--subvol ${spec}: ${r.error}` };
  const root = view.rootOf(r.ref.subvol);
  if (r.ref.ino !== root.ino) return { ok: false, error: `--subvol ${spec}: ${displayPath(r.path)} is not the root of a subvolume` };
  return { ok: true, root, path: r.path };
}

/** Parses "SUBVOL:INO" or "INO". */
export function parseInodeSpec(spec: string, defaultSubvol: bigint): InodeRef | null {
  const m = /^\s*(?:([^:]+):)?([^:]+)\s*$/.exec(spec);
  if (!m) return null;
  const ino = num(m[2]!.trim());
  const sub = m[1] === undefined ? defaultSubvol : num(m[1].trim());
  if (ino === null || sub === null) return null;
  return { subvol: sub, ino };
}

/** Finds what a Target names. */
export function locate(view: FsView, t: Target): Located {
  const sv = selectSubvolume(view, t.subvol);
  if (!sv.ok) return { ok: false, error: sv.error };
  if (t.inode !== undefined) {
    const ref = parseInodeSpec(t.inode, sv.root.subvol);
    if (!ref) return { ok: false, error: `--inode: "${t.inode}" is not SUBVOL:INO or INO` };
    if (!view.tree(ref.subvol)) return { ok: false, error: `--inode ${t.inode}: there is no subvolume ${ref.subvol}`, notFound: true };
    const inode = view.inode(ref);
    if (!inode) return { ok: false, error: `--inode ${t.inode}: subvolume ${ref.subvol} has no inode ${ref.ino}`, notFound: true };
    const paths = view.paths(ref);
    return { ok: true, ref, inode, path: paths[0] ?? null, base: sv.path };
  }
  const r = view.resolve(t.path ?? '/', sv.root);
  if (!r.ok) return { ok: false, error: t.subvol !== undefined ? `in subvolume ${t.subvol}: ${r.error}` : r.error, ...(r.unreadable ? { unreadable: r.unreadable } : { notFound: true }) };
  return { ok: true, ref: r.ref, inode: r.inode, path: [...sv.path, ...r.path], base: sv.path };
}
