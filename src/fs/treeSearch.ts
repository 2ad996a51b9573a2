import { compareKeys, type Key, MAX_KEY } from '../format/key.js';
import type { Filesystem } from '../tree/Filesystem.js';
import { type ItemRef, readChild, readRoot, type TreeRoot } from '../tree/walk.js';

/**
 * The key of the last item <= k in a tree, or undefined when every key is
 * greater (or the path down is unreadable). One descent through cached blocks.
 */
export function lastKeyAtOrBefore(fs: Filesystem, root: TreeRoot, k: Key): Key | undefined {
  const opts = fs.walkOptions;
  root = fs.searchRoot(root);
  const r = readRoot(fs.reader, root, opts);
  let block = r.block;
  let valid = r.validItems;
  // Levels strictly decrease on the way down (readChild checks), so this ends.
  while (block && !block.isLeaf) {
    let slot = block.search(k).slot;
    if (slot < 0) slot = 0;
    if (slot >= valid) return undefined;
    const c = readChild(fs.reader, block, slot, root.tree, opts);
    block = c.block;
    valid = c.validItems;
  }
  if (!block) return undefined;
  const s = block.search(k).slot;
  if (s < 0 || s >= valid) return undefined;
  return block.key(s);
}

/**
 * Items from the last one <= `from` (or the first one > `from` when there is
 * none) up to `max`, in key order: how to find the item covering an address
 * when items are keyed by their start (csum items, extents).
 */
export function* itemsFromAtOrBefore(fs: Filesystem, root: TreeRoot, from: Key, max: Key = MAX_KEY): Generator<ItemRef> {
  const start = lastKeyAtOrBefore(fs, root, from) ?? from;
  if (compareKeys(start, max) > 0) return;
  yield* fs.items(root, start, max);
}
