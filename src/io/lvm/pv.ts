import { decodeLvmLabel, decodeMdaHeader, isLvmLabel, LVM_LABEL_SCAN_SECTORS, LVM_MDA_HEADER_SIZE, LVM_SECTOR, type LvmLabel, lvmCrc } from '../../format/lvm/label.js';
import { decodeVolumeGroup, LvmTextError, type LvmVolumeGroupMetadata, parseLvmText } from '../../format/lvm/metadata.js';
import { type ByteSource, readExact } from '../ByteSource.js';

/** A metadata text larger than this is damage (LVM2's default area is 1 MiB; its text a few KiB). */
export const LVM_MAX_TEXT_BYTES = 16 << 20;

/** One LVM2 physical volume found on a source: its label and the newest readable metadata on it. */
export interface LvmPv {
  source: ByteSource;
  label: LvmLabel;
  /** The newest metadata (highest seqno) among this PV's metadata areas; null when none is readable. */
  metadata: LvmVolumeGroupMetadata | null;
  /** Where that text was read (bytes from the PV's start). */
  metadataOffset: bigint | null;
  /** What could not be read, each with its offset. */
  problems: string[];
}

/** The label of an LVM2 PV in sectors 0..3 of `src`, or null when it is no PV. */
export function findLvmLabel(src: ByteSource): LvmLabel | null {
  for (let s = 0; s < LVM_LABEL_SCAN_SECTORS; s++) {
    const b = readExact(src, BigInt(s * LVM_SECTOR), LVM_SECTOR);
    if (!b) return null;
    if (isLvmLabel(b, s)) return decodeLvmLabel(b, s);
  }
  return null;
}

/** Whether `src` starts with an LVM2 PV label. */
export const isLvmPv = (src: ByteSource): boolean => findLvmLabel(src) !== null;

/**
 * Reads a PV: its label, then every metadata area's header and committed text, keeping the
 * text with the highest seqno (a PV's areas are written in turn; one with a lower seqno is
 * an older copy). Returns null when `src` has no LVM2 label. Never throws for damage: a bad
 * CRC, a text outside its area or one that does not parse is a problem with its offset.
 */
export function readLvmPv(src: ByteSource): LvmPv | null {
  const label = findLvmLabel(src);
  if (!label) return null;
  const problems: string[] = [];
  const where = (o: bigint) => `${src.name} at offset ${o}`;
  if (!label.crcOk) problems.push(`${where(BigInt(label.sector * LVM_SECTOR))}: PV label checksum does not match`);
  let best: LvmVolumeGroupMetadata | null = null;
  let bestAt: bigint | null = null;
  for (const area of label.metadataAreas) {
    const hb = readExact(src, area.offset, LVM_MDA_HEADER_SIZE);
    if (!hb) {
      problems.push(`${where(area.offset)}: metadata area lies past the end of the PV`);
      continue;
    }
    const h = decodeMdaHeader(hb);
    if (!h.magicOk) {
      problems.push(`${where(area.offset)}: no metadata area header (magic)`);
      continue;
    }
    if (!h.crcOk) problems.push(`${where(area.offset)}: metadata area header checksum does not match`);
    const locn = h.locns[0];
    if (!locn || locn.ignored) continue;
    const ringBytes = area.size - BigInt(LVM_MDA_HEADER_SIZE);
    if (locn.size <= 0n || locn.size > BigInt(LVM_MAX_TEXT_BYTES) || locn.size > ringBytes || locn.offset < BigInt(LVM_MDA_HEADER_SIZE) || locn.offset >= area.size) {
      problems.push(`${where(area.offset)}: metadata text of ${locn.size} bytes at ${locn.offset} does not fit its area of ${area.size} bytes`);
      continue;
    }
    // The text area is a ring after the header: a text running past its end goes on after the header.
    const first = locn.offset + locn.size > area.size ? area.size - locn.offset : locn.size;
    const a = readExact(src, area.offset + locn.offset, Number(first));
    const b = first < locn.size ? readExact(src, area.offset + BigInt(LVM_MDA_HEADER_SIZE), Number(locn.size - first)) : new Uint8Array(0);
    if (!a || !b) {
      problems.push(`${where(area.offset + locn.offset)}: metadata text lies past the end of the PV`);
      continue;
    }
    const text = new Uint8Array(a.length + b.length);
    text.set(a);
    text.set(b, a.length);
    if (lvmCrc(text) !== locn.crc) problems.push(`${where(area.offset + locn.offset)}: metadata text checksum does not match`);
    let vg: LvmVolumeGroupMetadata | null;
    try {
      vg = decodeVolumeGroup(parseLvmText(new TextDecoder('latin1').decode(text)));
    } catch (e) {
      if (!(e instanceof LvmTextError)) throw e;
      problems.push(`${where(area.offset + locn.offset)}: ${e.message}`);
      continue;
    }
    if (!vg) {
      problems.push(`${where(area.offset + locn.offset)}: metadata text names no volume group`);
      continue;
    }
    if (!best || vg.seqno > best.seqno) {
      best = vg;
      bestAt = area.offset + locn.offset;
    }
  }
  return { source: src, label, metadata: best, metadataOffset: bestAt, problems };
}
