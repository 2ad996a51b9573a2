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
const sectorsize = fs.superblock.sectorsize;
// In a compressed container, a job's blocks are inflated off this thread (libuv's pool) while the
// jobs sent before it are verified here: the main thread keeps several jobs in flight per worker.
parentPort!.on('message', async (m: { id: number; job: DataJob }) => {
  await fs.volume.decodeAhead(m.job.logical, m.job.sectors * sectorsize);
  const result = verifyDataJob(fs, m.job);
  const transfer = result.copies.flatMap((c) => ('bad' in c ? [c.bad.buffer as ArrayBuffer] : []));
  parentPort!.postMessage({ id: m.id, result }, transfer);
});
