import { rule } from '../findingRules.js';
import type { Severity } from '../findings.js';
import { COMPRESSION_NAMES, Compression } from '../format/constants.js';
import type { FsView } from '../fs/FsView.js';
import { fileExtents } from '../fs/fileData.js';
import type { ManifestEntry } from './manifest.js';

/** What an image built for release must not hold (verify's policy options). */
export interface Policy {
  /** No file or directory that anyone may write (a directory with the sticky bit, like /tmp, is allowed). */
  worldWritable?: boolean;
  /** No setuid or setgid file, except those listed (mtree keys: "./usr/bin/sudo"). */
  setuid?: { allow: ReadonlySet<string> };
  /** No snapshots (subvolumes made from another): a leftover of the build. */
  snapshots?: boolean;
  /** At least this many bytes free (the estimate `usage` gives). */
  minFree?: bigint;
  /** Every regular file's data stored compressed ('all') or none of it ('none'). */
  compressed?: 'all' | 'none';
}

export type PolicyCode = 'policy-world-writable' | 'policy-setuid' | 'policy-snapshot' | 'policy-free-space' | 'policy-compression';

export interface PolicyViolation {
  code: PolicyCode;
  /** The catalogue's (src/findingRules/policy.ts): always error. */
  severity: Severity;
  /** The file (mtree key), for rules on files. */
  key?: string;
  subvol?: bigint;
  message: string;
}

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;
const S_IWOTH = 0o002;

/** The rules on one file; `key` is its mtree key. */
export function entryViolations(e: ManifestEntry, key: string, p: Policy): PolicyViolation[] {
  const out: PolicyViolation[] = [];
  // A symlink's own mode is always 0777 and means nothing (its target's is what counts).
  if (p.worldWritable && e.type !== 'symlink' && e.type !== 'missing' && (e.perm & S_IWOTH) !== 0 && !(e.type === 'dir' && (e.perm & S_ISVTX) !== 0)) {
    out.push({ ...rule('policy-world-writable'), key, message: `${key}: ${e.type} mode ${e.perm.toString(8)} is writable by anyone` });
  }
  // setgid on a directory only makes new files inherit its group: not a privilege.
  if (p.setuid && e.type === 'file' && (e.perm & (S_ISUID | S_ISGID)) !== 0 && !p.setuid.allow.has(key)) {
    const what = (e.perm & S_ISUID) !== 0 ? 'setuid' : 'setgid';
    out.push({ ...rule('policy-setuid'), key, message: `${key}: ${what} (mode ${e.perm.toString(8)}, owner ${e.uid}:${e.gid}) and not in the allowed list` });
  }
  return out;
}

/** The rules on the whole filesystem: snapshots present, free space. */
export function filesystemViolations(p: Policy, facts: { snapshots: { id: bigint; path: string; of: string }[]; freeEstimated: bigint }): PolicyViolation[] {
  const out: PolicyViolation[] = [];
  if (p.snapshots) for (const s of facts.snapshots) out.push({ ...rule('policy-snapshot'), subvol: s.id, message: `subvolume ${s.id} (${s.path}) is a snapshot of ${s.of}` });
  if (p.minFree !== undefined && facts.freeEstimated < p.minFree) {
    out.push({ ...rule('policy-free-space'), message: `${facts.freeEstimated} bytes free (estimated, as "usage" says), less than the ${p.minFree} required` });
  }
  return out;
}

/**
 * The compression rule on one regular file: the data extents of its file
 * extent items (EXTENT_DATA, below i_size) whose compression byte is not as
 * required. Holes hold no data and pass either way; a preallocated range is
 * stored uncompressed.
 */
export function compressionViolations(view: FsView, e: ManifestEntry, key: string, p: Policy): PolicyViolation[] {
  if (p.compressed === undefined || e.type !== 'file') return [];
  const wrong: { offset: bigint; what: string }[] = [];
  let extents = 0;
  for (const x of fileExtents(view, e.ref)) {
    if (x.kind === 'hole' || x.fileOffset >= e.size) continue;
    extents++;
    const compressed = x.kind !== 'prealloc' && x.compression !== Compression.NONE;
    if (compressed !== (p.compressed === 'all'))
      wrong.push({
        offset: x.fileOffset,
        what: compressed ? `${x.kind} ${COMPRESSION_NAMES[x.compression] ?? `compression ${x.compression}`}` : x.kind === 'prealloc' ? 'preallocated' : `${x.kind} uncompressed`,
      });
  }
  if (wrong.length === 0) return [];
  const first = wrong[0]!;
  return [
    {
      ...rule('policy-compression'),
      key,
      message: `${key}: ${wrong.length} of ${extents} data extent(s) ${p.compressed === 'all' ? 'not compressed' : 'compressed'} (first at file offset ${first.offset}: ${first.what})`,
    },
  ];
}
