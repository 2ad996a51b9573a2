import { parentPort } from 'node:worker_threads';
import { runCheck } from '../../analysis/check/index.js';
import { useNativeCrc32c } from '../../io/node/nativeCrc32c.js';
import type { ImageJob, ImageJobResult } from '../checkImages.js';
import { InputError, NotServedError, UsageError } from '../context.js';
import { openFilesystem } from '../open.js';

/**
 * A worker of `check IMAGE... --jobs N`: checks the filesystems the main
 * thread sends, one at a time, each on its own open (data verified on this
 * thread), and answers with the report, what the open wrote to stderr, or
 * why the filesystem could not be checked. One filesystem's caches live only
 * while it is checked: each is closed before the next is opened.
 */
await useNativeCrc32c();
parentPort!.on('message', (job: ImageJob) => {
  const started = Date.now();
  let stderr = '';
  const io = {
    stdout: { write: () => true },
    stderr: {
      write: (s: string) => {
        stderr += s;
        return true;
      },
    },
    stderrIsTTY: false,
  };
  let answer: ImageJobResult;
  try {
    const fs = openFilesystem(job.image, { ...job.opts, device: job.devices }, io);
    try {
      answer = { id: job.id, report: runCheck(fs, job.data ? { data: true } : {}), stderr, elapsedMs: Date.now() - started };
    } finally {
      fs.close();
    }
  } catch (e) {
    // As the sequential check: an image that cannot be opened is an error line of its own; anything else ends the run.
    const expected = e instanceof InputError || e instanceof UsageError || e instanceof NotServedError;
    answer = { id: job.id, ...(expected ? { error: e.message } : { fatal: (e as Error).message ?? String(e) }), stderr, elapsedMs: Date.now() - started };
  }
  parentPort!.postMessage(answer);
});
