import { Worker } from 'node:worker_threads';
import type * as zlib from 'node:zlib';

/** Which zlib function inflates an item. */
export type InflateKind = 'inflateRawSync' | 'inflateSync';

interface Pending {
  kind: InflateKind;
  input: Uint8Array;
  opts: zlib.ZlibOptions;
  resolve: (out: Uint8Array) => void;
  reject: (e: unknown) => void;
}

/** What the worker answers per item: the inflated bytes, or zlib's error. */
type Answer = { out: ArrayBuffer; length: number } | { code: string | undefined; message: string };

/**
 * The worker: inflates every item of a batch with Node's synchronous zlib (the options, bounds
 * included, come with each item) and sends the outputs back, moved rather than copied. Plain
 * CommonJS, run from this string: it needs nothing of the project's code.
 */
const WORKER = `
const { parentPort } = require('node:worker_threads');
const zlib = require('node:zlib');
parentPort.on('message', ({ id, packed, items }) => {
  const answers = [];
  const move = [];
  let at = 0;
  for (const { kind, length, opts } of items) {
    const input = new Uint8Array(packed, at, length);
    at += length;
    try {
      let out = zlib[kind](input, opts);
      if (out.byteOffset !== 0 || out.buffer.byteLength > out.length + 64) out = Uint8Array.prototype.slice.call(out);
      answers.push({ out: out.buffer, length: out.length });
      move.push(out.buffer);
    } catch (e) {
      answers.push({ code: e.code, message: e.message });
    }
  }
  parentPort.postMessage({ id, answers }, move);
});
`;

/**
 * Inflation on a worker thread, in batches: the calls made in one turn of the event loop (the
 * blocks one decodeAhead asks for) go to the worker as one message, whose answer resolves each.
 * One message per batch costs far less than Node's asynchronous zlib calls, which each build a
 * stream and go to libuv's pool and back two or three times. The worker is started on first use
 * and keeps the process alive only while it has work.
 */
export class InflatePool {
  private worker: Worker | null = null;
  private broken: Error | null = null;
  private queued: Pending[] = [];
  private readonly inFlight = new Map<number, Pending[]>();
  private nextId = 0;

  inflate(kind: InflateKind, input: Uint8Array, opts: zlib.ZlibOptions): Promise<Uint8Array> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      if (this.queued.length === 0) queueMicrotask(() => this.send());
      this.queued.push({ kind, input, opts, resolve, reject });
    });
  }

  private start(): Worker {
    const w = new Worker(WORKER, { eval: true });
    w.on('message', (m: { id: number; answers: Answer[] }) => this.answer(m.id, m.answers));
    w.on('error', (e) => this.fail(e));
    w.on('exit', (code) => this.fail(new Error(`the inflate worker exited (code ${code})`)));
    return w;
  }

  private send(): void {
    const batch = this.queued;
    this.queued = [];
    if (!batch.length) return;
    if (this.broken) {
      for (const p of batch) p.reject(this.broken);
      return;
    }
    this.worker ??= this.start();
    // One buffer for the batch's inputs, moved to the worker.
    let total = 0;
    for (const p of batch) total += p.input.length;
    const packed = new Uint8Array(total);
    let at = 0;
    for (const p of batch) {
      packed.set(p.input, at);
      at += p.input.length;
    }
    const id = this.nextId++;
    if (this.inFlight.size === 0) this.worker.ref();
    this.inFlight.set(id, batch);
    this.worker.postMessage({ id, packed: packed.buffer, items: batch.map((p) => ({ kind: p.kind, length: p.input.length, opts: p.opts })) }, [packed.buffer]);
  }

  private answer(id: number, answers: Answer[]): void {
    const batch = this.inFlight.get(id);
    this.inFlight.delete(id);
    if (this.inFlight.size === 0) this.worker?.unref();
    if (!batch) return;
    batch.forEach((p, i) => {
      const a = answers[i]!;
      if ('out' in a) p.resolve(new Uint8Array(a.out, 0, a.length));
      else p.reject(Object.assign(new Error(a.message), { code: a.code }));
    });
  }

  private fail(e: Error): void {
    this.broken ??= e;
    for (const batch of this.inFlight.values()) for (const p of batch) p.reject(this.broken);
    this.inFlight.clear();
    this.worker = null;
  }

  /** Stops the worker (tests; the process's end stops it too). */
  async close(): Promise<void> {
    const w = this.worker;
    this.broken ??= new Error('the inflate pool is closed');
    this.worker = null;
    await w?.terminate();
  }
}
