/**
 * The shared memory between `tree`'s main thread and one render thread
 * (treeRenderPool.ts, treeRenderWorker.ts): a ring of slots, each with its state
 * word, the job's input (a block's bytes, or a packed rendering to unpack) and
 * room for the rendering and its packed copy. Both sides wait on the state words with
 * Atomics, so the main thread's dump stays an ordinary synchronous walk.
 */

/** Slot states. The main thread moves FREE→SUBMITTED (and back, to take a job over); the worker SUBMITTED→WORKING→DONE|FAILED. */
export const FREE = 0;
export const SUBMITTED = 1;
export const WORKING = 2;
export const DONE = 3;
/** The worker could not (text larger than the slot, or an exception): the main thread does the job. */
export const FAILED = 4;

/** Job kinds: render a block and pack the rendering (for the cache), render only, or unpack a cached rendering. */
export const RENDER = 1;
export const UNPACK = 2;
export const RENDER_ONLY = 3;

/** Int32 words before the slots: [0] quit. */
const HEAD = 1;
/** Per slot: state, kind, input length, valid items of the block, rendering length, packed length (-1: not packed). */
const STRIDE = 6;
export const QUIT = 0;

export interface SlotLayout {
  slots: number;
  inCap: number;
  outCap: number;
  packCap: number;
}

/**
 * Room per slot for a node size: the input is a block or a packed rendering;
 * a leaf's text runs to about its size (names escaped as \xNN, csums as hex
 * make it longer, rarely 4x), its NDJSON to about 3x (item bytes in hex);
 * renderings past 8x are made on the main thread.
 */
export function layoutFor(nodesize: number, slots = 16): SlotLayout {
  return { slots, inCap: 2 * nodesize, outCap: 8 * nodesize, packCap: 2 * nodesize };
}

/** Views of one thread pair's shared memory. */
export class RenderSlots {
  readonly ctrl: Int32Array;
  readonly logical: BigUint64Array;
  private readonly base: number;
  private readonly slotBytes: number;

  constructor(
    readonly sab: SharedArrayBuffer,
    readonly layout: SlotLayout,
  ) {
    const ctrlBytes = (HEAD + layout.slots * STRIDE) * 4;
    const logicalAt = Math.ceil(ctrlBytes / 8) * 8;
    this.ctrl = new Int32Array(sab, 0, HEAD + layout.slots * STRIDE);
    this.logical = new BigUint64Array(sab, logicalAt, layout.slots);
    this.base = logicalAt + layout.slots * 8;
    this.slotBytes = layout.inCap + layout.outCap + layout.packCap;
  }

  static create(layout: SlotLayout): RenderSlots {
    const ctrlBytes = Math.ceil(((HEAD + layout.slots * STRIDE) * 4) / 8) * 8;
    const total = ctrlBytes + layout.slots * 8 + layout.slots * (layout.inCap + layout.outCap + layout.packCap);
    return new RenderSlots(new SharedArrayBuffer(total), layout);
  }

  state(i: number): number {
    return HEAD + i * STRIDE;
  }
  kind(i: number): number {
    return this.ctrl[HEAD + i * STRIDE + 1]!;
  }
  inLen(i: number): number {
    return this.ctrl[HEAD + i * STRIDE + 2]!;
  }
  validItems(i: number): number {
    return this.ctrl[HEAD + i * STRIDE + 3]!;
  }
  outLen(i: number): number {
    return this.ctrl[HEAD + i * STRIDE + 4]!;
  }
  packLen(i: number): number {
    return this.ctrl[HEAD + i * STRIDE + 5]!;
  }

  setJob(i: number, kind: number, inLen: number, logical: bigint, validItems: number): void {
    this.ctrl[HEAD + i * STRIDE + 1] = kind;
    this.ctrl[HEAD + i * STRIDE + 2] = inLen;
    this.ctrl[HEAD + i * STRIDE + 3] = validItems;
    this.logical[i] = logical;
  }

  setResult(i: number, outLen: number, packLen: number): void {
    this.ctrl[HEAD + i * STRIDE + 4] = outLen;
    this.ctrl[HEAD + i * STRIDE + 5] = packLen;
  }

  input(i: number, len = this.layout.inCap): Uint8Array {
    return new Uint8Array(this.sab, this.base + i * this.slotBytes, len);
  }

  output(i: number, len = this.layout.outCap): Uint8Array {
    return new Uint8Array(this.sab, this.base + i * this.slotBytes + this.layout.inCap, len);
  }

  packed(i: number, len = this.layout.packCap): Uint8Array {
    return new Uint8Array(this.sab, this.base + i * this.slotBytes + this.layout.inCap + this.layout.outCap, len);
  }
}
