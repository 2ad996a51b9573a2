import { parentPort, workerData } from 'node:worker_threads';
import { DecodeAheadVerifier } from '../../analysis/check/decodeAhead.js';
import { type DataJob, verifyDataJob } from '../../analysis/check/index.js';
import { useNativeCrc32c } from '../../io/node/nativeCrc32c.js';
import { openFilesystem, type SourceOptions } from '../open.js';

/**
 * A data verification worker of `check --data`: opens the same filesystem
 * read-only (its own sources, chunk map and reads) and verifies the data
 * jobs the main thread sends, so checksumming uses every core.
 */
await useNativeCrc32c();
const { image, opts, decodeAhead } = workerData as { image: string | undefined; opts: SourceOptions; decodeAhead: boolean };
const quiet = { stdout: { write: () => true }, stderr: { write: () => true }, stderrIsTTY: false };
const fs = openFilesystem(image, opts, quiet);
// In a compressed container, with a core to spare, a job's blocks are inflated on another thread
// while the jobs sent before it are verified here (the main thread keeps several in flight).
const ahead = decodeAhead && fs.volume.decodes ? new DecodeAheadVerifier(fs) : null;
parentPort!.on('message', async (m: { id: number; job: DataJob }) => {
  const result = ahead ? await ahead.verify(m.job) : verifyDataJob(fs, m.job);
  const transfer = result.copies.flatMap((c) => ('bad' in c ? [c.bad.buffer as ArrayBuffer] : []));
  parentPort!.postMessage({ id: m.id, result }, transfer);
});
