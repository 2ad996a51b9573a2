import type { Worker } from 'node:worker_threads';
import type { TreeBlock } from '../../format/treeBlock.js';
import { type DumpOutput, type DumpSink, renderBlock } from '../../report/dumpTree.js';
import { jsonBigint } from '../../report/json.js';
import type { PrintContext } from '../../report/printTree.js';
import { RenderCache } from '../../report/RenderCache.js';
import { packRendering, unpackRendering } from '../renderPack.js';
import { startWorker } from '../worker.js';
import { DONE, FAILED, FREE, layoutFor, QUIT, RENDER, RENDER_ONLY, RenderSlots, type SlotLayout, SUBMITTED, UNPACK, WORKING } from './treeRenderSlots.js';

/** A job handed to a render thread, in output order. */
interface Ticket {
  thread: RenderThread;
  slot: number;
  kind: number;
  logical: bigint;
  generation: bigint;
  /** What the main thread needs to do the job itself. */
  block?: TreeBlock;
  validItems?: number;
  packed?: Uint8Array;
}

interface RenderThread {
  worker: Worker;
  slots: RenderSlots;
  next: number;
  /** Stopped answering: its jobs are done on the main thread, its slots no longer used. */
  dead: boolean;
}

/** A job not taken within this long (the thread is gone or starved) is done on the main thread. */
const TAKE_OVER_MS = 30_000;
/** A job in work this long means a stuck thread. */
const STUCK_MS = 120_000;

const utf8 = new TextEncoder();

/**
 * A dump's output with blocks rendered on other threads. The walk, the
 * reads and the checksum verification stay on the main thread; each block's
 * rendering (text or NDJSON), the packing of a leaf's rendering for the cache
 * and the unpacking of cached ones (the costs of a text dump of many
 * snapshots) go to the render threads. Output keeps the walk's order: a
 * queue of tickets and bytes drains as the threads finish, and the walk waits
 * (Atomics) when every slot is busy, so memory stays at the slots plus the
 * packed cache.
 */
export class TreeRenderPool implements DumpOutput {
  private readonly queue: (Ticket | Uint8Array)[] = [];
  private turn = 0;
  /** Jobs the threads did, and jobs done on the main thread instead. */
  readonly done = { threads: 0, here: 0 };

  private constructor(
    private readonly threads: RenderThread[],
    private readonly sink: DumpSink,
    private readonly ctx: PrintContext,
    private readonly format: 'text' | 'json',
    private readonly cache: RenderCache,
  ) {}

  /**
   * Starts `n` render threads; undefined when they cannot start (then the
   * dump renders on the main thread as before). `layout`: the slots' number
   * and sizes (tests make them small to reach the ring's wrap and the
   * fallbacks).
   */
  static async start(n: number, format: 'text' | 'json', ctx: PrintContext, sink: DumpSink, cacheBytes: number, layout: SlotLayout = layoutFor(ctx.nodesize)): Promise<TreeRenderPool | undefined> {
    const threads: RenderThread[] = [];
    const ready: Promise<boolean>[] = [];
    for (let i = 0; i < n; i++) {
      const slots = RenderSlots.create(layout);
      const workerData = { sab: slots.sab, layout: slots.layout, ctx, format, jsonBigint: jsonBigint() };
      // Its garbage is all short-lived strings: a small young generation keeps the process's memory
      // down; NDJSON records are larger (item bytes in hex) and need more room to die young.
      const worker = startWorker(import.meta.url, 'treeRenderWorker', workerData, { maxYoungGenerationSizeMb: format === 'json' ? 16 : 4 });
      worker.unref();
      threads.push({ worker, slots, next: 0, dead: false });
      ready.push(
        new Promise((resolve) => {
          const timer = setTimeout(() => resolve(false), 20_000);
          worker.once('message', () => {
            clearTimeout(timer);
            resolve(true);
          });
          worker.once('error', () => {
            clearTimeout(timer);
            resolve(false);
          });
          worker.once('exit', () => {
            clearTimeout(timer);
            resolve(false);
          });
        }),
      );
    }
    const ok = await Promise.all(ready);
    if (ok.some((x) => !x)) {
      for (const t of threads) void t.worker.terminate();
      return undefined;
    }
    // A packed cache: the threads hand in packed renderings, the cache keeps them as given.
    const cache = new RenderCache({ codec: { pack: (b) => b, unpack: (b) => b }, maxBytes: cacheBytes });
    return new TreeRenderPool(threads, sink, ctx, format, cache);
  }

  /** An arrow: the walk passes it on as its sink. */
  readonly bytes = (b: Uint8Array): void => {
    if (this.queue.length === 0) this.sink(b);
    else this.queue.push(b.slice());
  };

  cachedLeaf(logical: bigint, generation: bigint): boolean {
    const packed = this.cache.get(logical, generation);
    if (!packed) return false;
    const t = this.pick();
    if (!t || packed.length > t.slots.layout.inCap) {
      this.bytes(unpackRendering(packed));
      return true;
    }
    this.submit(t, UNPACK, packed, logical, generation, { packed });
    return true;
  }

  block(b: TreeBlock, validItems: number, keep: boolean): void {
    const kind = keep && b.isLeaf ? RENDER : RENDER_ONLY;
    const t = this.pick();
    if (!t || b.data.length > t.slots.layout.inCap) {
      this.bytes(this.doHere({ kind, block: b, validItems, logical: b.logical, generation: b.generation }));
      return;
    }
    this.submit(t, kind, b.data, b.logical, b.generation, { block: b, validItems });
  }

  /** Writes everything still queued and stops the threads. */
  finish(): void {
    while (this.queue.length) this.drainHead();
    this.close();
  }

  /** Stops the threads without writing what is queued (the dump failed). */
  close(): void {
    for (const t of this.threads) {
      Atomics.store(t.slots.ctrl, QUIT, 1);
      for (let i = 0; i < t.slots.layout.slots; i++) Atomics.notify(t.slots.ctrl, t.slots.state(i));
      void t.worker.terminate();
    }
  }

  /** The next live thread, round robin; undefined when none is left. */
  private pick(): RenderThread | undefined {
    for (let k = 0; k < this.threads.length; k++) {
      const t = this.threads[this.turn++ % this.threads.length]!;
      if (!t.dead) return t;
    }
    return undefined;
  }

  private submit(t: RenderThread, kind: number, input: Uint8Array, logical: bigint, generation: bigint, own: Pick<Ticket, 'block' | 'validItems' | 'packed'>): void {
    const slot = t.next;
    const st = t.slots.state(slot);
    // The slot's previous job is still queued: write out up to it.
    while (Atomics.load(t.slots.ctrl, st) !== FREE && this.queue.length) this.drainHead();
    if (t.dead || Atomics.load(t.slots.ctrl, st) !== FREE) {
      this.bytes(this.doHere({ kind, logical, generation, ...own }));
      return;
    }
    t.next = (slot + 1) % t.slots.layout.slots;
    t.slots.input(slot).set(input);
    t.slots.setJob(slot, kind, input.length, logical, own.validItems ?? 0);
    Atomics.store(t.slots.ctrl, st, SUBMITTED);
    Atomics.notify(t.slots.ctrl, st);
    this.queue.push({ thread: t, slot, kind, logical, generation, ...own });
  }

  /** Writes the head of the queue, waiting for its thread if needed. */
  private drainHead(): void {
    const head = this.queue.shift()!;
    if (head instanceof Uint8Array) {
      this.sink(head);
      return;
    }
    const { thread: t, slot } = head;
    const st = t.slots.state(slot);
    let waited = 0;
    for (;;) {
      const s = Atomics.load(t.slots.ctrl, st);
      if (s === DONE) break;
      if (s === FAILED) {
        Atomics.store(t.slots.ctrl, st, FREE);
        this.sink(this.doHere(head));
        return;
      }
      // A thread that stopped taking jobs: take this one back (the thread skips a job it no longer finds submitted).
      if (s === SUBMITTED && (t.dead || waited >= TAKE_OVER_MS) && Atomics.compareExchange(t.slots.ctrl, st, SUBMITTED, FREE) === SUBMITTED) {
        t.dead = true;
        this.sink(this.doHere(head));
        return;
      }
      if (s === WORKING && waited >= STUCK_MS) {
        // Its slots are abandoned, not reused: the thread may still write into this one.
        t.dead = true;
        this.sink(this.doHere(head));
        return;
      }
      if (Atomics.wait(t.slots.ctrl, st, s, 1000) === 'timed-out') waited += 1000;
    }
    this.done.threads++;
    this.sink(t.slots.output(slot, t.slots.outLen(slot)));
    const packLen = t.slots.packLen(slot);
    if (head.kind === RENDER && packLen >= 0) this.cache.set(head.logical, head.generation, t.slots.packed(slot, packLen).slice());
    Atomics.store(t.slots.ctrl, st, FREE);
  }

  /** A job done on the main thread (no thread, or the thread could not): its bytes, for the caller to write in its turn. */
  private doHere(job: Pick<Ticket, 'kind' | 'logical' | 'generation' | 'block' | 'validItems' | 'packed'>): Uint8Array {
    this.done.here++;
    if (job.kind === UNPACK) return unpackRendering(job.packed!);
    const text = utf8.encode(renderBlock(this.format, job.block!, this.ctx, job.validItems ?? 0));
    if (job.kind === RENDER) this.cache.set(job.logical, job.generation, packRendering(text));
    return text;
  }
}
