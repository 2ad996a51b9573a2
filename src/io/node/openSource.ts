import type { ByteSource } from '../ByteSource.js';
import { loadRunsImage } from './runs.js';
import { openSplitOrFile } from './split.js';

/** Whether a path names a runs image (`*.runs.gz` or `*.runs`) rather than a raw image or device. */
export function isRunsImagePath(path: string): boolean {
  return /\.runs(\.gz)?$/i.test(path);
}

/**
 * Opens an image file, block device or runs image read-only: `*.runs.gz`
 * and `*.runs` are loaded into memory as sparse images; the first segment of
 * a split raw image (`disk.001`, `disk.aa`) reads all its segments back to
 * back; anything else is read in place. Throws a SourceError (FileOpenError)
 * naming the path.
 */
export function openByteSource(path: string): ByteSource {
  if (isRunsImagePath(path)) return loadRunsImage(path);
  return openSplitOrFile(path);
}
