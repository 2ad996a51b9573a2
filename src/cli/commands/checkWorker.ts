import { parentPort, workerData } from 'node:worker_threads';
import { type DataJob, verifyDataJob } from '../../analysis/check/index.js';
import { useNativeCrc32c } from '../../io/node/nativeCrc32c.js';
import { openFilesystem, type SourceOptions } from '../open.js';

/**
 * A data verification worker of `check --data`: opens the same filesystem
 * read-only (its own sources, chunk map and reads) and verifies the data
 * jobs the main thread sends, so checksumming uses every core.
 */
await useNativeCrc32c();
const { image, opts } = workerData as { image: string | undefined; opts: SourceOptions };
const quiet = { stdout: { write: () => true }, stderr: { write: () => true }, stderrIsTTY: false };
const fs = openFilesystem(image, opts, quiet);
parentPort!.on('message', (m: { id: number; job: DataJob }) => {
  const result = verifyDataJob(fs, m.job);
  const transfer = result.copies.flatMap((c) => ('bad' in c ? [c.bad.buffer as ArrayBuffer] : []));
  parentPort!.postMessage({ id: m.id, result }, transfer);
});
