import type { ByteSource } from '../ByteSource.js';
import { ConcatSource } from '../ConcatSource.js';
import { SliceSource } from '../SliceSource.js';
import { ContainerError } from './ContainerError.js';
import type { ContainerCodecs } from './codecs.js';
import { FilledSource } from './FilledSource.js';
import { VmdkSource } from './vmdk.js';

/**
 * A VMDK descriptor file (VMware's "Virtual Disk Format 5.0", section "The
 * Descriptor File"): text, starting "# Disk DescriptorFile", whose extent lines
 * `RW|RDONLY|NOACCESS <sectors> FLAT|SPARSE|ZERO "<file>" [<offset in sectors>]`
 * name, in disk order, the files holding the disk (monolithicFlat,
 * twoGbMaxExtentSparse, twoGbMaxExtentFlat). parentCID other than ffffffff marks a
 * delta disk of a snapshot chain.
 */

/** A descriptor is a few KiB; more than 1 MiB is not one. */
export const MAX_DESCRIPTOR_BYTES = 1 << 20;
/** twoGbMaxExtent* use one extent per 2 GiB: 100 000 extents is 200 TiB, beyond any real disk. */
export const MAX_EXTENTS = 100_000;
const NO_PARENT = 'ffffffff';

export interface VmdkExtent {
  sectors: bigint;
  type: 'FLAT' | 'SPARSE' | 'ZERO';
  /** The extent's file, as written (relative to the descriptor's directory unless absolute); empty for ZERO. */
  file: string;
  /** FLAT: where the disk's bytes start in the file, in sectors. */
  offset: bigint;
}

export interface VmdkDescriptor {
  createType: string;
  parentCID: string;
  extents: VmdkExtent[];
}

const isExtentType = (t: string): t is VmdkExtent['type'] => t === 'FLAT' || t === 'SPARSE' || t === 'ZERO';

const EXTENT = /^(RW|RDONLY|NOACCESS)\s+(\d+)\s+(\w+)(?:\s+"([^"]*)"(?:\s+(\d+))?)?\s*$/;

/** Parses a descriptor's text; throws a ContainerError naming `source` and the line. */
export function parseVmdkDescriptor(source: string, text: string): VmdkDescriptor {
  const fail = (why: string): never => {
    throw new ContainerError(source, 0n, `VMDK descriptor: ${why}`);
  };
  let createType = '';
  let parentCID = NO_PARENT;
  const extents: VmdkExtent[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.replace(/\0+$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const kv = /^(\w+)\s*=\s*"?([^"]*)"?$/.exec(line);
    if (kv) {
      if (kv[1] === 'createType') createType = kv[2]!;
      if (kv[1] === 'parentCID') parentCID = kv[2]!.toLowerCase();
      continue;
    }
    const m = EXTENT.exec(line);
    if (!m) continue;
    const type = m[3]!;
    if (!isExtentType(type)) return fail(`line ${i + 1}: extent type ${type} is not read (FLAT, SPARSE and ZERO are)`);
    if (type !== 'ZERO' && !m[4]) fail(`line ${i + 1}: a ${type} extent names no file`);
    if (extents.length >= MAX_EXTENTS) fail(`more than ${MAX_EXTENTS} extents`);
    extents.push({ sectors: BigInt(m[2]!), type, file: m[4] ?? '', offset: BigInt(m[5] ?? '0') });
  }
  if (extents.length === 0) fail('no extent lines');
  return { createType, parentCID, extents };
}

/** The disk a descriptor describes: its extents back to back, each file given by `openExtent` (relative names resolved by the caller). */
export function openVmdkDescriptor(file: ByteSource, openExtent: (name: string) => ByteSource, opts: { codecs?: ContainerCodecs } = {}): ByteSource {
  if (file.size > BigInt(MAX_DESCRIPTOR_BYTES)) throw new ContainerError(file.name, 0n, `VMDK descriptor: ${file.size} bytes, more than a descriptor's ${MAX_DESCRIPTOR_BYTES}`);
  const d = parseVmdkDescriptor(file.name, new TextDecoder('latin1').decode(file.read(0n, Number(file.size))));
  if (d.parentCID !== NO_PARENT)
    throw new ContainerError(file.name, 0n, `VMDK descriptor: a delta disk (parentCID ${d.parentCID}) of a snapshot chain is not read yet; convert the chain (qemu-img convert -O raw)`);
  const parts: ByteSource[] = [];
  try {
    for (const e of d.extents) {
      const bytes = e.sectors * 512n;
      if (e.type === 'ZERO') {
        parts.push(new ZeroSource(bytes, file.name));
        continue;
      }
      const ext = openExtent(e.file);
      parts.push(ext);
      const disk = e.type === 'SPARSE' ? new VmdkSource(ext, opts) : ext;
      const start = e.type === 'FLAT' ? e.offset * 512n : 0n;
      if (disk.size < start + bytes)
        throw new ContainerError(file.name, 0n, `VMDK descriptor: extent "${e.file}" holds ${disk.size} bytes, fewer than the ${start + bytes} its line says: the file is truncated`);
      parts[parts.length - 1] = new SliceSource(disk, start, bytes, ext.name);
    }
  } catch (e) {
    for (const p of parts) p.close?.();
    throw e;
  }
  return new ConcatSource(parts, file.name);
}

/** A ZERO extent: sectors that read as zeros and are stored nowhere. */
class ZeroSource extends FilledSource implements ByteSource {
  // One "block" as large as a read can be: every piece is zeros.
  protected readonly blockBytes = 2 ** 31;
  constructor(
    readonly size: bigint,
    readonly name: string,
  ) {
    super();
  }
  protected fillBlock(_block: number, _inBlock: number, out: Uint8Array): void {
    out.fill(0);
  }
}
