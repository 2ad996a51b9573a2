import { toHex } from '../format/bytes.js';
import type { InodeVerity } from '../fs/verity.js';

/** The digest as `fsverity measure` prints it: "<algorithm>:<hex>". */
function measured(v: InodeVerity): string | undefined {
  const d = v.descriptor;
  return 'digest' in d && d.digest ? `${d.algorithmName}:${toHex(d.digest)}` : undefined;
}

/** stat's fs-verity fields (table rows), from the inode's VERITY_DESC items. */
export function verityRows(v: InodeVerity): [string, string][] {
  const d = v.descriptor;
  if (!('version' in d)) return [['fs-verity', `descriptor unreadable: ${d.errors.join('; ')}`]];
  return [
    ['fs-verity', `${d.algorithmName ?? `algorithm ${d.hashAlgorithm}`}, block size ${d.blockSize}${d.errors.length ? ` (${d.errors.join('; ')})` : ''}`],
    ['fs-verity salt', d.saltSize ? toHex(d.salt) : '(none)'],
    ['fs-verity data size', String(d.dataSize)],
    ['fs-verity root hash', toHex(d.rootHash)],
    ['fs-verity digest', measured(v) ?? '?'],
  ];
}

/** stat --json's "verity" object (docs/json.md). */
export function verityJson(v: InodeVerity): Record<string, unknown> {
  const d = v.descriptor;
  if (!('version' in d)) return { errors: d.errors };
  return {
    version: d.version,
    algorithm: d.algorithmName ?? d.hashAlgorithm,
    blockSize: d.blockSize,
    salt: toHex(d.salt),
    dataSize: d.dataSize,
    rootHash: toHex(d.rootHash),
    sigSize: d.sigSize,
    ...(d.digest ? { digest: measured(v) } : {}),
    treeBytes: v.tree.length,
    ...(d.errors.length ? { errors: d.errors } : {}),
  };
}
