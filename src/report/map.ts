import type { Mapping, PhysicalCopy } from '../volume/ChunkMap.js';
import type { Volume } from '../volume/Volume.js';
import { chunkTypeName } from './chunks.js';

export interface CopyReport {
  copy: number;
  devid: bigint;
  device: string;
  physical: bigint;
  stripe: number;
  role: string;
}

export interface MapReport {
  logical: bigint;
  chunk: { logical: bigint; length: bigint; type: string; profile: string; stripeLen: bigint };
  offsetInChunk: bigint;
  /** Bytes from the address to the end of its contiguous stripe unit. */
  contiguous: bigint;
  copies: CopyReport[];
  /** RAID5/6: the whole row with parity positions. */
  row?: { logicalStart: bigint; dataIndex: number; stripes: CopyReport[] };
  /** With the raid stripe tree: the RAID_STRIPE item whose strides place the copies. */
  stripeExtent?: { logical: bigint; length: bigint };
  /** Why the copies are missing though the chunk holds the address (no raid stripe item places it). */
  unmapped?: string;
}

const place = (v: Volume, p: PhysicalCopy, copy: number, extraOffset = 0n): CopyReport => ({
  copy,
  devid: p.devid,
  device: v.devices.get(p.devid)?.name ?? 'unknown',
  physical: p.physical + extraOffset,
  stripe: p.stripeIndex,
  role: p.role,
});

export function mapReport(v: Volume, logical: bigint, m: Mapping): MapReport {
  const c = m.chunk;
  const r: MapReport = {
    logical,
    chunk: { logical: c.logical, length: c.length, type: chunkTypeName(c.type), profile: c.profile, stripeLen: c.stripeLen },
    offsetInChunk: m.chunkOffset,
    contiguous: m.contiguous,
    copies: m.copies.map((p, i) => place(v, p, i + 1)),
    ...(m.stripeExtent ? { stripeExtent: m.stripeExtent } : {}),
    ...(m.unmapped ? { unmapped: m.unmapped } : {}),
  };
  if (m.row) {
    const off = m.row.unitOffset;
    const all = [...m.row.data, m.row.p, ...(m.row.q ? [m.row.q] : [])];
    r.row = { logicalStart: m.row.logicalStart, dataIndex: m.row.dataIndex, stripes: all.map((p) => place(v, p, 0, off)) };
  }
  return r;
}

/** `map --physical OFFSET --devid N --json`: every logical address that device offset holds (ChunkMap.reverse's answer). */
export function reverseJson(devid: bigint, physical: bigint, hits: ReturnType<Volume['reverse']>): Record<string, unknown> {
  return {
    devid,
    physical,
    logical: hits.map((h) => ({ chunk: h.chunk.logical, stripe: h.stripeIndex, role: h.role, logical: h.logical, rowLogical: h.rowLogical, ...(h.unplaced ? { unplaced: true } : {}) })),
  };
}
