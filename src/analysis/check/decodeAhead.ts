import type { Filesystem } from '../../tree/Filesystem.js';
import { type DataJob, type DataJobResult, verifyDataJob } from './data.js';
import type { DataVerifier } from './index.js';

/** Jobs decoded ahead at once: 4 MiB of data, well inside a container's 32 MiB block cache. */
const AHEAD_JOBS = 4;

/**
 * Verifies data jobs on this thread, one after another in the order given, each decoded ahead
 * (Volume.decodeAhead: a compressed container's blocks inflated on another thread) while the
 * ones before it are verified. At most AHEAD_JOBS are decoding or decoded and waiting, however
 * many are handed in: what is decoded ahead must still be in the cache when it is verified.
 */
export class DecodeAheadVerifier implements DataVerifier {
  private readonly waiting: { job: DataJob; resolve: (r: DataJobResult) => void }[] = [];
  private readonly ahead: { job: DataJob; resolve: (r: DataJobResult) => void; decoded: Promise<void> }[] = [];
  private running = false;

  constructor(private readonly fs: Filesystem) {}

  verify(job: DataJob): Promise<DataJobResult> {
    return new Promise((resolve) => {
      this.waiting.push({ job, resolve });
      this.fill();
      if (!this.running) void this.run();
    });
  }

  private fill(): void {
    while (this.ahead.length < AHEAD_JOBS && this.waiting.length) {
      const w = this.waiting.shift()!;
      this.ahead.push({ ...w, decoded: this.fs.volume.decodeAhead(w.job.logical, w.job.sectors * this.fs.superblock.sectorsize) });
    }
  }

  private async run(): Promise<void> {
    this.running = true;
    while (this.ahead.length) {
      const next = this.ahead[0]!;
      await next.decoded;
      this.ahead.shift();
      // The next job starts decoding before this one is verified, not after.
      this.fill();
      next.resolve(verifyDataJob(this.fs, next.job));
    }
    this.running = false;
  }
}
