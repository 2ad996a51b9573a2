import { BlockGroupFlag, ItemType, ObjectId } from '../../../src/format/constants.js';
import { resolveLogical } from '../../../src/fs/backrefs.js';
import type { FsView } from '../../../src/fs/FsView.js';
import { chunkReports, fsChunkReports } from '../../../src/report/chunks.js';
import { resolutionJson } from '../../../src/report/fs.js';
import { blockGroupScene, deviceMapInput, kindOfFlags, PALETTE, type RGB, renderSvg, shade } from '../../../src/report/heatmap.js';
import { toJson } from '../../../src/report/json.js';
import { readBlockGroupsAt, readDevExtents } from '../../../src/tree/blockGroups.js';
import type { Filesystem } from '../../../src/tree/Filesystem.js';

const hex = (c: RGB) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;

/**
 * The chunk map as `heatmap` draws it, as data the page draws at any zoom:
 * each device's size, each device extent with its chunk, type and how full
 * its block group is (the heatmap's colours: band = type, body = fill), and
 * the chunks as `chunks --json` lists them.
 */
export function layout(fs: Filesystem): string {
  const m = deviceMapInput(fs);
  const chunks = fsChunkReports(fs);
  return toJson({
    devices: m.devices,
    extents: m.extents.map((x) => {
      const kind = kindOfFlags(x.flags);
      const fill = x.chunkLength > 0n ? Number((x.used * 10000n) / x.chunkLength) / 10000 : 0;
      return {
        devid: x.devid,
        physical: x.physical,
        length: x.length,
        chunk: x.chunk,
        kind,
        used: x.used,
        chunkLength: x.chunkLength,
        fill,
        band: hex(PALETTE[kind].full),
        body: hex(shade(kind, fill)),
      };
    }),
    chunks,
  });
}

/** Most extent items listed for one block group: a data block group may hold hundreds of thousands. */
const MAX_EXTENTS = 500;

/**
 * One chunk: its `chunks --json` record, the heatmap of its block group
 * (`heatmap --block-group`, as SVG), and the extents that live in it (data
 * extents and tree blocks, from the extent tree), the first MAX_EXTENTS.
 */
export function chunk(fs: Filesystem, logical: bigint): string {
  const c = fs.volume.chunks.all.find((x) => logical >= x.logical && logical < x.logical + x.length);
  if (!c) throw new Error(`logical ${logical} is not in any chunk`);
  const bg = [...readBlockGroupsAt(fs, [c.logical]).values()];
  const report = chunkReports([c], bg, readDevExtents(fs))[0]!;
  const scene = blockGroupScene(fs, c.logical);
  const extents: { bytenr: bigint; length: bigint; kind: 'data' | 'tree block' }[] = [];
  let total = 0;
  const nodesize = BigInt(fs.superblock.nodesize);
  // Every extent tree, merged in key order: with extent-tree-v2 the chunk's extents are in the global root it names.
  for (const { block, slot } of fs.globalItems(ObjectId.EXTENT_TREE, { objectid: c.logical, type: 0, offset: 0n }, { objectid: c.logical + c.length - 1n, type: 255, offset: 0xffffffffffffffffn })) {
    const t = block.keyType(slot);
    if (t !== ItemType.EXTENT_ITEM && t !== ItemType.METADATA_ITEM) continue;
    total++;
    if (extents.length >= MAX_EXTENTS) continue;
    // A METADATA_ITEM's key offset is the tree level (skinny metadata); its length is the nodesize.
    const isTree = t === ItemType.METADATA_ITEM || (c.type & BlockGroupFlag.DATA) === 0n;
    extents.push({ bytenr: block.keyObjectid(slot), length: t === ItemType.METADATA_ITEM ? nodesize : block.keyOffsetField(slot), kind: isTree ? 'tree block' : 'data' });
  }
  return toJson({ chunk: report, heatmap: 'error' in scene ? null : renderSvg(scene), extentCount: total, extents });
}

/** Who uses a logical address, as `resolve --logical --json` says. */
export function resolve(view: FsView, logical: bigint): string {
  return toJson(resolutionJson(resolveLogical(view, logical)));
}
