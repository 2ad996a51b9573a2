import type { ByteSource } from '../ByteSource.js';
import { FileSource } from './FileSource.js';
import { loadRunsImage } from './runs.js';

/** Whether a path names a runs image (`*.runs.gz` or `*.runs`) rather than a raw image or device. */
export function isRunsImagePath(path: string): boolean {
  return /\.runs(\.gz)?$/i.test(path);
}

/**
 * Opens an image file, block device or runs image read-only: `*.runs.gz`
 * and `*.runs` are loaded into memory as sparse images, anything else is
 * read in place. Throws a SourceError (FileOpenError) naming the path.
 */
export function openByteSource(path: string): ByteSource {
  return isRunsImagePath(path) ? loadRunsImage(path) : FileSource.open(path);
}
