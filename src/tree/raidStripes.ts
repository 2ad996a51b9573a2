import { rule } from '../findingRules.js';
import type { Finding } from '../findings.js';
import { asDevId, asLogical, asPhysical } from '../format/addresses.js';
import { ItemType, ObjectId } from '../format/constants.js';
import { decodeRaidStripe, raidStride } from '../format/items/misc.js';
import { MAX_KEY } from '../format/key.js';
import { type ChunkMap, dataStripes, stripeSize } from '../volume/ChunkMap.js';
import { RaidStripeIndex, type StripeExtent, stripeTreeApplies } from '../volume/raidStripes.js';
import type { TreeReader } from './readTreeBlock.js';
import { iterateItems, type TreeRoot } from './walk.js';

/**
 * Reads the raid stripe tree into a RaidStripeIndex for the data reads, and
 * reports what makes an item unusable or wrong on the way: the kernel's
 * tree-checker rules for RAID_STRIPE (aligned key), a size that is not whole
 * strides, overlapping items (the later one is left out: the kernel's lookup
 * takes the first item holding an address), and items that do not fit their
 * chunk (profile, stride count, devices, physical range in the device extent).
 */
export function loadRaidStripes(reader: TreeReader, root: TreeRoot, chunks: ChunkMap, sectorsize: number, report: (f: Finding) => void): RaidStripeIndex {
  const out: StripeExtent[] = [];
  const ss = BigInt(sectorsize);
  const stride = raidStride.size;
  for (const { block, slot } of iterateItems(reader, root, { objectid: 0n, type: 0, offset: 0n }, MAX_KEY, { findings: { add: report } })) {
    if (block.keyType(slot) !== ItemType.RAID_STRIPE) continue;
    const key = block.key(slot);
    const data = block.itemData(slot);
    const loc = { tree: ObjectId.RAID_STRIPE_TREE, block: block.logical, slot, key, logical: key.objectid };
    const where = `raid stripe item (${key.objectid} RAID_STRIPE ${key.offset})`;
    if (data.length === 0 || data.length % stride !== 0) {
      report({ ...rule('rst-item-size'), message: `${where} is ${data.length} bytes, not a whole number of ${stride}-byte strides`, location: loc });
      if (data.length < stride) continue;
    }
    if (key.objectid % ss !== 0n || key.offset % ss !== 0n || key.offset === 0n) {
      report({ ...rule('rst-key'), message: `${where}: logical start and length must be non-zero multiples of the sector size ${sectorsize}; not used`, location: loc });
      continue;
    }
    const prev = out[out.length - 1];
    if (prev && key.objectid < prev.logical + prev.length) {
      report({
        ...rule('rst-overlap'),
        message: `${where} overlaps the item at logical ${prev.logical} +${prev.length} (leaf ${prev.at.block} slot ${prev.at.slot}); not used`,
        location: loc,
      });
      continue;
    }
    const d = decodeRaidStripe(key, data);
    const e: StripeExtent = {
      logical: asLogical(key.objectid),
      length: key.offset,
      strides: d.strides.map((s) => ({ devid: asDevId(s.devid), physical: asPhysical(s.physical) })),
      at: { block: block.logical, slot },
    };
    const misfit = strideProblem(chunks, e);
    if (misfit) report({ ...rule('rst-stride'), message: `${where}: ${misfit}`, location: loc });
    out.push(e);
  }
  return new RaidStripeIndex(out);
}

/** Why a stripe item does not fit the chunk holding its range (null when it does). */
function strideProblem(chunks: ChunkMap, e: StripeExtent): string | null {
  const c = chunks.find(e.logical);
  if (!c || !stripeTreeApplies(c)) return `logical ${e.logical} is not in a data chunk of a profile the raid stripe tree covers (DUP, RAID1*, RAID0, RAID10)`;
  if (e.logical + e.length > c.logical + c.length) return `its range ends past its chunk [${c.logical}, +${c.length})`;
  // Copies of each stripe unit: every stripe for the mirrored profiles, sub_stripes for RAID10, one for RAID0.
  const want = c.profile === 'RAID0' ? 1 : c.profile === 'RAID10' ? c.subStripes : c.numStripes;
  if (e.strides.length !== want) return `${e.strides.length} strides; a ${c.profile} chunk writes ${want} (${dataStripes(c)} data stripes)`;
  const span = stripeSize(c);
  for (const [i, s] of e.strides.entries()) {
    const homes = c.stripes.filter((x) => x.devid === s.devid);
    if (!homes.length) return `stride ${i} names devid ${s.devid}, which chunk ${c.logical} does not use`;
    if (!homes.some((x) => s.physical >= x.offset && s.physical + e.length <= x.offset + span))
      return `stride ${i} (devid ${s.devid} physical ${s.physical} +${e.length}) is outside the chunk's device extent${homes.length > 1 ? 's' : ''} on that device (${homes.map((x) => `${x.offset} +${span}`).join(', ')})`;
  }
  return null;
}
