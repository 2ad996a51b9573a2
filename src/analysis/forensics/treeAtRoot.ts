import type { Key } from '../../format/key.js';
import type { Filesystem, ItemOverlay } from '../../tree/Filesystem.js';
import { type ItemRef, iterateItems, type TreeRoot } from '../../tree/walk.js';

/**
 * Reads subvolume `subvol` from another root of its tree (an older
 * generation's). Its walks record no findings: an old tree is expected to
 * have lost blocks, which forensic commands count and report themselves.
 */
export class TreeAtRoot implements ItemOverlay {
  constructor(
    private readonly fs: Filesystem,
    readonly subvol: bigint,
    readonly root: TreeRoot,
  ) {}

  covers(tree: bigint): boolean {
    return tree === this.subvol;
  }

  items(_base: unknown, _root: TreeRoot, min: Key, max: Key): Generator<ItemRef> {
    return iterateItems(this.fs.reader, this.readsRoot(), min, max, {});
  }

  readsRoot(): TreeRoot {
    return { ...this.root, tree: this.subvol };
  }

  /** A subvolume deleted since (its root item gone) is read from this root all the same. */
  rootOf(): TreeRoot {
    return this.readsRoot();
  }
}
