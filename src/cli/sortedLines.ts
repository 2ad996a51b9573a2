import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

/**
 * Lines sorted by a key, in bounded memory: up to `runLines` of them are
 * held; past that each batch is sorted and written to a temporary file (a
 * run), and the runs are merged when read back. Keys compare as strings
 * (code unit order) and must hold no tab or newline; lines no newline. Equal
 * keys keep the order the lines were added in (a run is sorted stably, runs
 * are merged oldest first), so the output is the one an in-memory stable
 * sort gives.
 */
export class SortedLines {
  private keys: string[] = [];
  private lines: string[] = [];
  private dir: string | null = null;
  private readonly runs: string[] = [];

  constructor(private readonly runLines = 200_000) {}

  /** Runs written to disk so far (0: everything is still in memory). */
  get spilled(): number {
    return this.runs.length;
  }

  add(key: string, line: string): void {
    this.keys.push(key);
    this.lines.push(line);
    if (this.keys.length >= this.runLines) this.spill();
  }

  /** Every line in key order; the temporary files are removed when the iteration ends (or is left). */
  *drain(): Generator<string> {
    try {
      if (this.runs.length === 0) {
        for (const i of this.order()) yield this.lines[i]!;
        return;
      }
      if (this.keys.length) this.spill();
      yield* this.merge();
    } finally {
      this.dispose();
    }
  }

  /** Removes the temporary files (also when nothing was drained). */
  dispose(): void {
    this.keys = [];
    this.lines = [];
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
    this.runs.length = 0;
  }

  private order(): Uint32Array {
    const k = this.keys;
    return Uint32Array.from({ length: k.length }, (_, i) => i).sort((a, b) => (k[a]! < k[b]! ? -1 : k[a]! > k[b]! ? 1 : a - b));
  }

  private spill(): void {
    this.dir ??= mkdtempSync(join(tmpdir(), 'btrfs-inspect-sort-'));
    const path = join(this.dir, `run-${this.runs.length}`);
    const fd = openSync(path, 'w', 0o600);
    try {
      let buf: string[] = [];
      let size = 0;
      for (const i of this.order()) {
        const s = `${this.keys[i]}\t${this.lines[i]}`;
        buf.push(s);
        size += s.length;
        if (size > 1 << 20) {
          writeSync(fd, buf.join('\n') + '\n');
          buf = [];
          size = 0;
        }
      }
      if (buf.length) writeSync(fd, buf.join('\n') + '\n');
    } finally {
      closeSync(fd);
    }
    this.runs.push(path);
    this.keys = [];
    this.lines = [];
  }

  /** k-way merge of the runs through a binary heap of their heads (smallest key, then the earlier run, on top); each run is read in 64 KiB pieces. */
  private *merge(): Generator<string> {
    const readers = this.runs.map((p) => new RunReader(p));
    try {
      const heap: { key: string; line: string; run: number }[] = [];
      const less = (a: number, b: number) => heap[a]!.key < heap[b]!.key || (heap[a]!.key === heap[b]!.key && heap[a]!.run < heap[b]!.run);
      const swap = (a: number, b: number) => {
        const t = heap[a]!;
        heap[a] = heap[b]!;
        heap[b] = t;
      };
      const up = (i: number) => {
        while (i > 0 && less(i, (i - 1) >> 1)) {
          swap(i, (i - 1) >> 1);
          i = (i - 1) >> 1;
        }
      };
      const down = (i: number) => {
        for (;;) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < heap.length && less(l, m)) m = l;
          if (r < heap.length && less(r, m)) m = r;
          if (m === i) return;
          swap(i, m);
          i = m;
        }
      };
      readers.forEach((r, run) => {
        const h = r.next();
        if (h) {
          heap.push({ ...h, run });
          up(heap.length - 1);
        }
      });
      while (heap.length) {
        const top = heap[0]!;
        yield top.line;
        const h = readers[top.run]!.next();
        if (h) heap[0] = { ...h, run: top.run };
        else {
          const last = heap.pop()!;
          if (heap.length === 0) break;
          heap[0] = last;
        }
        down(0);
      }
    } finally {
      for (const r of readers) r.close();
    }
  }
}

/** Reads one run file line by line (key TAB line). */
class RunReader {
  private readonly fd: number;
  private readonly buf = Buffer.alloc(1 << 16);
  private pending = '';
  private queue: string[] = [];
  private at = 0;
  private eof = false;
  private pos = 0;
  private readonly decoder = new StringDecoder('utf8');

  constructor(path: string) {
    this.fd = openSync(path, 'r');
  }

  next(): { key: string; line: string } | null {
    while (this.at >= this.queue.length) {
      if (this.eof) return null;
      const got = readSync(this.fd, this.buf, 0, this.buf.length, this.pos);
      this.pos += got;
      if (got === 0) {
        this.eof = true;
        if (this.pending) {
          this.queue = [this.pending];
          this.at = 0;
          this.pending = '';
          continue;
        }
        return null;
      }
      // The decoder keeps a UTF-8 sequence cut at the piece's end for the next piece; a line cut there waits in `pending`.
      const text = this.pending + this.decoder.write(this.buf.subarray(0, got));
      const parts = text.split('\n');
      this.pending = parts.pop()!;
      this.queue = parts;
      this.at = 0;
    }
    const s = this.queue[this.at++]!;
    const tab = s.indexOf('\t');
    return { key: s.slice(0, tab), line: s.slice(tab + 1) };
  }

  close(): void {
    closeSync(this.fd);
  }
}
