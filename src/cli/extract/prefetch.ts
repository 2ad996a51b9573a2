import * as nodeFs from 'node:fs';
import { fileExtents } from '../../fs/fileData.js';
import type { FsView } from '../../fs/FsView.js';
import type { Inode } from '../../fs/types.js';
import { FileSource } from '../../io/node/FileSource.js';

/** Largest single read ahead, and at most this many in flight. */
const PIECE = 1 << 20;
const IN_FLIGHT = 16;
/** Ranges waiting beyond that; more are dropped (reading ahead is only a hint). */
const QUEUE = 4096;
/** Files this small are mostly inline (max_inline defaults to 2048): their data is in the leaf. */
const INLINE_MAX = 2048n;

/**
 * Reads file data ahead of extraction, on libuv's thread pool, so that the
 * synchronous, verified reads of readFile find it in the page cache: the
 * image is read several requests deep instead of one at a time. The bytes
 * read here are thrown away (all reads share one scratch buffer); what is
 * written always comes from readFile, verified. Only the first copy of
 * plain image files and block devices is read ahead.
 */
export class Prefetcher {
  private readonly scratch = Buffer.allocUnsafe(PIECE);
  private readonly queue: { fd: number; pos: number; len: number }[] = [];
  private head = 0;
  private running = 0;

  constructor(private readonly view: FsView) {}

  /** Queues the on-disk ranges of a file's regular extents. */
  file(inode: Inode): void {
    if (inode.kind !== 'file' || inode.size <= INLINE_MAX || this.view.isMetadump) return;
    const vol = this.view.fs.volume;
    for (const e of fileExtents(this.view, inode)) {
      if (e.kind !== 'regular') continue;
      // Compressed: the whole stored extent is read; plain: the referenced part.
      let logical = e.compression ? e.diskBytenr : e.diskBytenr + e.offset;
      let left = Number(e.compression ? e.diskNumBytes : e.length);
      while (left > 0 && this.queue.length - this.head < QUEUE) {
        const m = vol.chunks.map(logical);
        const c = m?.copies[0];
        if (!m || !c || m.contiguous <= 0n) break;
        const src = vol.devices.get(c.devid)?.source;
        const fd = src instanceof FileSource ? src.descriptor : null;
        if (fd === null) break;
        const len = Math.min(left, PIECE, Number(m.contiguous < BigInt(PIECE) ? m.contiguous : BigInt(PIECE)));
        this.queue.push({ fd, pos: Number(c.physical), len });
        logical += BigInt(len);
        left -= len;
      }
    }
    this.pump();
  }

  /** Drops what is queued and resolves once no read is in flight (before the image is closed). */
  async stop(): Promise<void> {
    this.queue.length = 0;
    this.head = 0;
    while (this.running > 0) await new Promise<void>((r) => setTimeout(r, 5));
  }

  private pump(): void {
    while (this.running < IN_FLIGHT && this.head < this.queue.length) {
      const r = this.queue[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.queue.length) { this.queue.splice(0, this.head); this.head = 0; }
      this.running++;
      nodeFs.read(r.fd, this.scratch, 0, r.len, r.pos, () => {
        this.running--;
        this.pump();
      });
    }
  }
}
