import type { Filesystem, ItemOverlay } from '../../tree/Filesystem.js';
import { iterateItems, type ItemRef, type TreeRoot } from '../../tree/walk.js';
import type { Key } from '../../format/key.js';

/**
 * The same filesystem, but tree walks record no findings: old trees are
 * expected to have lost blocks, which forensic commands count and report
 * themselves rather than as damage of the current filesystem.
 */
export function quiet(fs: Filesystem): Filesystem {
  const q = Object.create(fs) as Filesystem;
  Object.defineProperty(q, 'walkOptions', { value: {} });
  return q;
}

/** Reads subvolume `subvol` from another root of its tree (an older generation's), quietly. */
export class TreeAtRoot implements ItemOverlay {
  constructor(private readonly fs: Filesystem, readonly subvol: bigint, readonly root: TreeRoot) {}

  covers(tree: bigint): boolean {
    return tree === this.subvol;
  }

  items(_base: unknown, _root: TreeRoot, min: Key, max: Key): Generator<ItemRef> {
    return iterateItems(this.fs.reader, this.readsRoot(), min, max, {});
  }

  readsRoot(): TreeRoot {
    return { ...this.root, tree: this.subvol };
  }
}
