import type { ByteSource } from '../ByteSource.js';
import { ContainerError } from './ContainerError.js';

/**
 * The text of a VMDK descriptor (VMware's "Virtual Disk Format 5.0", section
 * "The Descriptor File"), in its own file or embedded in a monolithic sparse
 * extent (the header's descriptorOffset): `key = "value"` lines, of which
 * CID, parentCID, parentFileNameHint and createType matter here, and extent
 * lines `RW|RDONLY|NOACCESS <sectors> FLAT|SPARSE|ZERO "<file>" [<offset in
 * sectors>]`. parentCID other than ffffffff marks a delta disk of a snapshot
 * chain: what it does not hold is read from the parent, whose CID must be
 * that parentCID.
 */

/** A descriptor is a few KiB; more than 1 MiB is not one. */
export const MAX_DESCRIPTOR_BYTES = 1 << 20;
/** twoGbMaxExtent* use one extent per 2 GiB: 100 000 extents is 200 TiB, beyond any real disk. */
export const MAX_EXTENTS = 100_000;
export const NO_PARENT = 'ffffffff';

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
  /** This disk's content id (8 hex digits, lower case): a delta names its parent's. */
  cid: string;
  parentCID: string;
  /** A delta's parent file, as written (relative to this file's directory unless absolute), or null. */
  parentFileNameHint: string | null;
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
  let cid = '';
  let parentFileNameHint: string | null = null;
  const extents: VmdkExtent[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.replace(/\0+$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const kv = /^(\w+)\s*=\s*"?([^"]*)"?$/.exec(line);
    if (kv) {
      if (kv[1] === 'createType') createType = kv[2]!;
      if (kv[1] === 'parentCID') parentCID = kv[2]!.toLowerCase();
      if (kv[1] === 'CID') cid = kv[2]!.toLowerCase();
      if (kv[1] === 'parentFileNameHint') parentFileNameHint = kv[2]!;
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
  return { createType, cid, parentCID, parentFileNameHint, extents };
}

/**
 * Opens a delta disk's parent by its parentFileNameHint: the caller resolves
 * the name (relative to the child's directory), refuses loops, and refuses a
 * parent whose CID is not `parentCID` (a different or modified parent).
 */
export type VmdkParentOpener = (hint: string, parentCID: string) => ByteSource;

/** The parent a descriptor's disk reads its unwritten grains from: null for a disk that is no delta. */
export function openDeltaParent(source: string, d: VmdkDescriptor, openParent: VmdkParentOpener | undefined): ByteSource | null {
  if (d.parentCID === NO_PARENT) return null;
  const fail = (why: string): never => {
    throw new ContainerError(source, 0n, `VMDK: a delta disk (parentCID ${d.parentCID}) ${why}`);
  };
  if (d.parentFileNameHint === null || d.parentFileNameHint === '') return fail('names no parent file (parentFileNameHint); convert the chain with the tool that made it');
  if (!openParent) return fail(`needs its parent "${d.parentFileNameHint}", and no way to open files was given`);
  return openParent(d.parentFileNameHint, d.parentCID);
}
