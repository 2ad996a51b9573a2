/**
 * Text of one tree block exactly as `btrfs inspect-internal dump-tree`
 * prints it (btrfs-progs v6.2 by default; `progs: '6.19'` switches to the
 * differences of newer releases). Written from the observed output format.
 *
 * context.ts: options; names.ts: name tables (object ids, key types from
 * the item registry, flags); text.ts: names, times and numbers as text;
 * items.ts: item -> text, one renderer per decoded kind; leaf.ts: the fast
 * leaf path and whole blocks.
 */
export type { PrintContext, ProgsStyle } from './context.js';
export { printItem } from './items.js';
export { printTreeBlock, printTreeBlockLines } from './leaf.js';
export { blockGroupFlagsToString, extentFlagsToString, formatKey, inodeFlagsToString, keyTypeToString, objectidToString } from './names.js';
export { formatTime } from './text.js';
