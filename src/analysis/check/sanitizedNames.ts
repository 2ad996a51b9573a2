import { rule } from '../../findingRules.js';
import type { CheckFinding } from './types.js';

/**
 * Findings that compare names: a DIR_ITEM's key against its name's hash, and the DIR_ITEM /
 * DIR_INDEX / INODE_REF triple of one link by name.
 */
const NAME_CODES = new Set(['dir-item-hash', 'dir-item-missing', 'dir-index-missing', 'inode-ref-missing', 'dir-entry-missing']);

/**
 * `btrfs-image -s` replaces every name with garbage of the same length, drawn anew for each
 * item (`-ss` looks for a name of the same crc32c hash and falls back to garbage where it finds
 * none), and cannot change the keys: in a dump made that way names match neither their hash
 * nor each other. A dump whose names fail the hash check was sanitised: its name findings are
 * then notes, counted once, not damage. Returns the findings to keep.
 */
export function foldSanitizedNames(findings: CheckFinding[]): CheckFinding[] {
  const hashes = findings.filter((f) => f.code === 'dir-item-hash').length;
  if (hashes === 0) return findings;
  let folded = 0;
  const out = findings.map((f) => {
    if (!NAME_CODES.has(f.code) || f.severity !== 'error') return f;
    folded++;
    return { ...f, severity: 'info' as const, message: `${f.message} (names sanitised by btrfs-image -s)` };
  });
  out.push({
    ...rule('metadump-sanitized'),
    location: {},
    message: `the dump's names were sanitised by btrfs-image -s: ${hashes} names do not match their hash; the ${folded} findings that compare names are notes, not damage, and names are shown as the dump holds them`,
  });
  return out;
}
