import * as fs from 'node:fs';
import type { ByteSource } from '../ByteSource.js';
import { ConcatSource } from '../ConcatSource.js';
import { firstSegmentSuffix, nextSegmentName } from '../containers/splitNames.js';
import { FileSource } from './FileSource.js';

/** More segments than any imaging tool writes (split's two letters give 676): a runaway directory. */
export const MAX_SPLIT_SEGMENTS = 100_000;

/**
 * Opens `path` as the first segment of a split raw image when its name says so
 * (`.001`, `.000`, `.aa`) and the next segment exists: every following segment
 * that exists, read back to back. Otherwise (or a lone `.001`) the file itself.
 */
export function openSplitOrFile(path: string): ByteSource {
  const first = FileSource.open(path);
  if (!firstSegmentSuffix(path)) return first;
  const parts: ByteSource[] = [first];
  try {
    for (let next = nextSegmentName(path); next && fs.existsSync(next); next = nextSegmentName(next)) {
      if (parts.length >= MAX_SPLIT_SEGMENTS) break;
      parts.push(FileSource.open(next));
    }
  } catch (e) {
    for (const p of parts) p.close?.();
    throw e;
  }
  return parts.length === 1 ? first : new ConcatSource(parts, `${path} (+${parts.length - 1} segments)`);
}
