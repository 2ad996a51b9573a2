import { writeSync } from 'node:fs';

/** Sleeps the thread (no event loop turn): the only way to wait inside a synchronous dump. */
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const pause = (ms: number) => Atomics.wait(sleeper, 0, 0, ms);

/**
 * The process's standard output written with blocking writes. Node's
 * process.stdout queues writes to a pipe in memory and a dump is synchronous,
 * so `tree IMAGE | less` held the whole 4.8 GB text of the bench image in the
 * heap before the reader got a byte. Here a full pipe holds the writer back
 * instead: a slow reader costs time, never memory.
 *
 * Node's own stdout must not be touched: creating it puts a pipe into
 * non-blocking mode. Another process sharing the pipe may have done so
 * already, so EAGAIN waits a moment and tries again. EPIPE (the reader went
 * away) is thrown for the CLI to end quietly.
 */
export class BlockingStdout {
  constructor(private readonly fd = 1) {}

  write(chunk: string | Uint8Array): boolean {
    const b = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let off = 0;
    let wait = 1;
    while (off < b.length) {
      try {
        off += writeSync(this.fd, b, off, b.length - off);
        wait = 1;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        pause(wait);
        wait = Math.min(wait * 2, 50);
      }
    }
    return true;
  }
}
