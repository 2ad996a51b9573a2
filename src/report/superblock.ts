import { toHex } from '../format/bytes.js';
import { CSUM_NAMES } from '../format/checksum.js';
import { CompatRoFlag, HeaderFlag, IncompatFlag, profileOf, SuperFlag } from '../format/constants.js';
import { type ChunkItem, decodeChunkItem } from '../format/items/chunk.js';
import type { Superblock } from '../format/superblock.js';
import { sysChunkArrayEntries } from '../volume/ChunkMap.js';
import { chunkTypeName } from './chunks.js';

/** Names of the set bits of `flags` from `table`; unknown bits as hex. */
export function flagNames(flags: bigint, table: Record<string, bigint>): string[] {
  const out: string[] = [];
  let rest = flags;
  for (const [name, bit] of Object.entries(table)) {
    if (flags & bit) {
      out.push(name);
      rest &= ~bit;
    }
  }
  if (rest) out.push(`unknown 0x${rest.toString(16)}`);
  return out;
}

const SUPER_FLAGS: Record<string, bigint> = { WRITTEN: HeaderFlag.WRITTEN, RELOC: HeaderFlag.RELOC, ...SuperFlag };

/** Feature flags and superblock flags by name (unknown bits shown, not fatal). */
export function superFlagNames(sb: Superblock) {
  return {
    flags: flagNames(sb.flags, SUPER_FLAGS),
    compatFlags: flagNames(sb.compatFlags, {}),
    compatRoFlags: flagNames(sb.compatRoFlags, CompatRoFlag),
    incompatFlags: flagNames(sb.incompatFlags, IncompatFlag),
  };
}

/** The superblock as labelled rows, for tables; every field. */
export function superblockRows(sb: Superblock): [string, string][] {
  const f = superFlagNames(sb);
  const hexFlags = (v: bigint, names: string[]) => `0x${v.toString(16)}${names.length ? ` ( ${names.join(' | ')} )` : ''}`;
  const rows: [string, string][] = [
    ['csum_type', `${sb.csumType} (${CSUM_NAMES[sb.csumType] ?? 'unknown'})`],
    ['csum_size', String(sb.csumSize)],
    ['csum', `0x${toHex(sb.csum, 0, sb.csumSize || 32)}`],
    ['bytenr', String(sb.bytenr)],
    ['flags', hexFlags(sb.flags, f.flags)],
    ['magic', sb.magic === 0x4d5f53665248425fn ? '_BHRfS_M' : `0x${sb.magic.toString(16)}`],
    ['fsid', sb.fsid],
    // Without the METADATA_UUID feature the field is zero and blocks carry the fsid; show what is in effect.
    ['metadata_uuid', sb.treeFsid],
    ['label', sb.label],
    ['generation', String(sb.generation)],
    ['root', String(sb.root)],
    ['sys_array_size', String(sb.sysChunkArraySize)],
    ['chunk_root_generation', String(sb.chunkRootGeneration)],
    ['root_level', String(sb.rootLevel)],
    ['chunk_root', String(sb.chunkRoot)],
    ['chunk_root_level', String(sb.chunkRootLevel)],
    ['log_root', String(sb.logRoot)],
    ['log_root_transid (deprecated)', String(sb.logRootTransid)],
    ['log_root_level', String(sb.logRootLevel)],
    ['total_bytes', String(sb.totalBytes)],
    ['bytes_used', String(sb.bytesUsed)],
    ['sectorsize', String(sb.sectorsize)],
    ['nodesize', String(sb.nodesize)],
    ['leafsize (deprecated)', String(sb.leafsize)],
    ['stripesize', String(sb.stripesize)],
    ['root_dir', String(sb.rootDirObjectid)],
    ['num_devices', String(sb.numDevices)],
    ['compat_flags', hexFlags(sb.compatFlags, f.compatFlags)],
    ['compat_ro_flags', hexFlags(sb.compatRoFlags, f.compatRoFlags)],
    ['incompat_flags', hexFlags(sb.incompatFlags, f.incompatFlags)],
    ['cache_generation', String(sb.cacheGeneration)],
    ['uuid_tree_generation', String(sb.uuidTreeGeneration)],
    ['nr_global_roots', String(sb.nrGlobalRoots)],
    ['dev_item.uuid', sb.devItem.uuid],
    ['dev_item.fsid', sb.devItem.fsid],
    ['dev_item.type', String(sb.devItem.type)],
    ['dev_item.total_bytes', String(sb.devItem.totalBytes)],
    ['dev_item.bytes_used', String(sb.devItem.bytesUsed)],
    ['dev_item.io_align', String(sb.devItem.ioAlign)],
    ['dev_item.io_width', String(sb.devItem.ioWidth)],
    ['dev_item.sector_size', String(sb.devItem.sectorSize)],
    ['dev_item.devid', String(sb.devItem.devid)],
    ['dev_item.dev_group', String(sb.devItem.devGroup)],
    ['dev_item.seek_speed', String(sb.devItem.seekSpeed)],
    ['dev_item.bandwidth', String(sb.devItem.bandwidth)],
    ['dev_item.generation', String(sb.devItem.generation)],
  ];
  return rows;
}

/** The four backup roots as table rows: which trees each older commit pointed at. */
export const BACKUP_ROOT_HEAD = ['backup', 'tree root (gen, level)', 'chunk root', 'extent root', 'fs root', 'dev root', 'csum root', 'total bytes', 'bytes used', 'devices'];
export function backupRootRows(sb: Superblock): string[][] {
  const t = (r: bigint, g: bigint, l: number) => `${r} (${g}, ${l})`;
  return sb.backupRoots.map((b, i) => [
    String(i),
    t(b.treeRoot, b.treeRootGen, b.treeRootLevel),
    t(b.chunkRoot, b.chunkRootGen, b.chunkRootLevel),
    t(b.extentRoot, b.extentRootGen, b.extentRootLevel),
    t(b.fsRoot, b.fsRootGen, b.fsRootLevel),
    t(b.devRoot, b.devRootGen, b.devRootLevel),
    t(b.csumRoot, b.csumRootGen, b.csumRootLevel),
    String(b.totalBytes),
    String(b.bytesUsed),
    String(b.numDevices),
  ]);
}

/** The chunks the superblock's sys_chunk_array carries (to bootstrap the chunk tree). */
export function sysChunkArrayEntriesDecoded(sb: Superblock) {
  const out: (({ offset: number; logical: bigint; keyType: number } & ChunkItem) | { offset: number; error: string })[] = [];
  for (const e of sysChunkArrayEntries(sb.sysChunkArray)) {
    if ('error' in e) out.push(e);
    else out.push({ offset: e.offset, logical: e.logical, keyType: e.keyType, ...decodeChunkItem(e.item, 0, e.item.length) });
  }
  return out;
}

export const SYS_CHUNK_HEAD = ['logical', 'length', 'type', 'stripe len', 'stripes (devid:physical)'];
export function sysChunkArrayRows(sb: Superblock): string[][] {
  return sysChunkArrayEntriesDecoded(sb).map((e) =>
    'error' in e
      ? [`byte ${e.offset}`, 'error', e.error, '', '']
      : [String(e.logical), String(e.length), `${chunkTypeName(e.type)}|${profileOf(e.type)}`, String(e.stripeLen), e.stripes.map((x) => `${x.devid}:${x.offset}`).join(' ')],
  );
}

/** The superblock as a JSON-ready object with flag names. */
export function superblockJson(sb: Superblock) {
  const { csum, sysChunkArray: _raw, ...rest } = sb;
  return {
    ...rest,
    csum: toHex(csum, 0, sb.csumSize || 32),
    csumName: CSUM_NAMES[sb.csumType] ?? 'unknown',
    flagNames: superFlagNames(sb),
    sysChunkArray: sysChunkArrayEntriesDecoded(sb),
  };
}
