import type { ByteSource } from '../ByteSource.js';
import { ConcatSource } from '../ConcatSource.js';
import { SliceSource } from '../SliceSource.js';
import { ContainerError } from './ContainerError.js';
import type { ContainerCodecs } from './codecs.js';
import { FilledSource } from './FilledSource.js';
import { VmdkSource } from './vmdk.js';
import { MAX_DESCRIPTOR_BYTES, openDeltaParent, parseVmdkDescriptor, type VmdkParentOpener } from './vmdkText.js';

/**
 * A VMDK descriptor file (VMware's "Virtual Disk Format 5.0", section "The
 * Descriptor File"; the text is parsed in vmdkText.ts): its extent lines name,
 * in disk order, the files holding the disk (monolithicFlat,
 * twoGbMaxExtentSparse, twoGbMaxExtentFlat). A delta disk's sparse extents read
 * the grains they do not hold from the same place of the parent disk.
 */

/** The disk a descriptor describes: its extents back to back, each file given by `openExtent` (relative names resolved by the caller). */
export function openVmdkDescriptor(file: ByteSource, openExtent: (name: string) => ByteSource, opts: { codecs?: ContainerCodecs; openParent?: VmdkParentOpener } = {}): ByteSource {
  if (file.size > BigInt(MAX_DESCRIPTOR_BYTES)) throw new ContainerError(file.name, 0n, `VMDK descriptor: ${file.size} bytes, more than a descriptor's ${MAX_DESCRIPTOR_BYTES}`);
  const d = parseVmdkDescriptor(file.name, new TextDecoder('latin1').decode(file.read(0n, Number(file.size))));
  const parent = openDeltaParent(file.name, d, opts.openParent);
  const parts: ByteSource[] = [];
  let start = 0n;
  try {
    for (const e of d.extents) {
      const bytes = e.sectors * 512n;
      const at = start;
      start += bytes;
      if (e.type === 'ZERO') {
        parts.push(new ZeroSource(bytes, file.name));
        continue;
      }
      const ext = openExtent(e.file);
      parts.push(ext);
      // A delta's sparse extent reads what it does not hold from the parent disk at the same place.
      const sparseOpts = { ...(opts.codecs ? { codecs: opts.codecs } : {}), parent: parent ? new SliceSource(parent, at, bytes, parent.name) : null };
      const disk = e.type === 'SPARSE' ? new VmdkSource(ext, sparseOpts) : ext;
      const from = e.type === 'FLAT' ? e.offset * 512n : 0n;
      if (disk.size < from + bytes)
        throw new ContainerError(file.name, 0n, `VMDK descriptor: extent "${e.file}" holds ${disk.size} bytes, fewer than the ${from + bytes} its line says: the file is truncated`);
      parts[parts.length - 1] = new SliceSource(disk, from, bytes, ext.name);
    }
    // The parent closes with the disk: a part of no bytes (also when no sparse extent reads it).
    if (parent) parts.push(new SliceSource(parent, 0n, 0n, parent.name));
  } catch (e) {
    for (const p of parts) p.close?.();
    parent?.close?.();
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
