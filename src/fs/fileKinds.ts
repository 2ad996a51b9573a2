import { InodeFlag, ObjectId } from '../format/constants.js';
import type { FileKind } from './types.js';

/** What an inode is: its kind from the mode's S_IFMT bits, the directory-entry type of each kind, its flags by name; which trees are subvolumes. */

export function isFsTreeId(id: bigint): boolean {
  return id === ObjectId.FS_TREE || (id >= ObjectId.FIRST_FREE && id <= ObjectId.LAST_FREE);
}

export function kindOfMode(mode: number): FileKind {
  switch (mode & 0o170000) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'dir';
    case 0o120000:
      return 'symlink';
    case 0o020000:
      return 'chr';
    case 0o060000:
      return 'blk';
    case 0o010000:
      return 'fifo';
    case 0o140000:
      return 'sock';
    default:
      return 'unknown';
  }
}

/** BTRFS_FT_* by kind (what a directory entry's type should be). */
export const FT_OF_KIND: Record<FileKind, number> = { unknown: 0, file: 1, dir: 2, chr: 3, blk: 4, fifo: 5, sock: 6, symlink: 7 };

/** Inode flags by name (BTRFS_INODE_*), unknown bits as hex. */
export function inodeFlagNames(flags: bigint): string[] {
  const out: string[] = [];
  let rest = flags;
  for (const [name, bit] of Object.entries(InodeFlag)) {
    if (flags & bit) {
      out.push(name === 'RO_VERITY' ? 'VERITY' : name);
      rest &= ~bit;
    }
  }
  if (rest) out.push(`0x${rest.toString(16)}`);
  return out;
}
