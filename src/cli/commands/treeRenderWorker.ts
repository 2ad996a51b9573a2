import { parentPort, workerData } from 'node:worker_threads';
import { TreeBlock } from '../../format/treeBlock.js';
import { renderBlock } from '../../report/dumpTree.js';
import { type JsonBigint, setJsonBigint } from '../../report/json.js';
import type { PrintContext } from '../../report/printTree.js';
import { packedLength, packRendering, unpackRendering } from '../renderPack.js';
import { DONE, FAILED, QUIT, RENDER, RENDER_ONLY, RenderSlots, type SlotLayout, SUBMITTED, WORKING } from './treeRenderSlots.js';

/**
 * A render thread of `tree`'s dump: takes the jobs of its slots in ring
 * order, renders a block (text as dump-tree prints it, or its NDJSON record)
 * and packs a leaf's rendering for the main thread's cache, or unpacks a
 * cached one. The block was read and verified by the main thread; this
 * thread only formats bytes it is given.
 */
const { sab, layout, ctx, format, jsonBigint } = workerData as { sab: SharedArrayBuffer; layout: SlotLayout; ctx: PrintContext; format: 'text' | 'json'; jsonBigint: JsonBigint };
setJsonBigint(jsonBigint);
const slots = new RenderSlots(sab, layout);
const enc = new TextEncoder();
const text = new Uint8Array(layout.outCap);

/** Does slot i's job; returns false when the result does not fit the slot. */
function work(i: number): boolean {
  let len: number;
  const kind = slots.kind(i);
  if (kind === RENDER || kind === RENDER_ONLY) {
    // A private copy: the decoders may keep views of the block, the slot is reused.
    const block = new TreeBlock(slots.input(i, slots.inLen(i)).slice(), slots.logical[i]!);
    const s = renderBlock(format, block, ctx, slots.validItems(i));
    const r = enc.encodeInto(s, text);
    if (r.read < s.length) return false;
    len = r.written;
    if (kind === RENDER_ONLY) {
      slots.setResult(i, len, -1);
      slots.output(i).set(text.subarray(0, len));
      return true;
    }
    const packed = packRendering(text.subarray(0, len));
    const fits = packed.length <= layout.packCap;
    if (fits) slots.packed(i).set(packed);
    slots.setResult(i, len, fits ? packed.length : -1);
  } else {
    const input = slots.input(i, slots.inLen(i));
    if (packedLength(input) > layout.outCap) return false;
    const t = unpackRendering(input.slice());
    text.set(t);
    len = t.length;
    slots.setResult(i, len, -1);
  }
  slots.output(i).set(text.subarray(0, len));
  return true;
}

parentPort!.postMessage('ready');
for (let seq = 0; ; seq = (seq + 1) % layout.slots) {
  const st = slots.state(seq);
  let s: number;
  while ((s = Atomics.load(slots.ctrl, st)) !== SUBMITTED) {
    if (Atomics.load(slots.ctrl, QUIT)) process.exit(0);
    Atomics.wait(slots.ctrl, st, s, 500);
  }
  // The main thread may have taken the job over meanwhile (it thought this thread stuck).
  if (Atomics.compareExchange(slots.ctrl, st, SUBMITTED, WORKING) !== SUBMITTED) continue;
  let ok = false;
  try {
    ok = work(seq);
  } catch {
    ok = false;
  }
  Atomics.store(slots.ctrl, st, ok ? DONE : FAILED);
  Atomics.notify(slots.ctrl, st);
}
