import { groupExclusive, type SharingResult, sharedMatrix } from '../analysis/sharing.js';
import { DuCalculator, subvolumesBelow } from '../analysis/sharingDu.js';

/**
 * The body of `sharing --json`: per subvolume referenced, exclusive and
 * shared bytes (data at on-disk size plus nodesize per tree block, as
 * qgroups count), the `fi du` totals, waste, inline, prealloc, compression;
 * with `matrix`, the bytes each pair shares; with `free`, what deleting that
 * set of subvolumes frees. One builder for the CLI and the web app.
 */
export function sharingJson(r: SharingResult, o: { matrix?: boolean; free?: bigint[] } = {}): Record<string, unknown> {
  const du = new DuCalculator(r);
  const ns = BigInt(r.nodesize);
  const matrix = o.matrix ? sharedMatrix(r) : null;
  const freed = o.free ? groupExclusive(r, o.free) : null;
  return {
    nodesize: r.nodesize,
    treeBlocks: r.treeBlocks,
    extents: r.extents.size,
    subvolumes: r.perSubvol.map((p) => ({
      subvol: p.id,
      path: p.path,
      referenced: p.referenced,
      exclusive: p.exclusive,
      shared: p.shared,
      data: { referenced: p.referencedData, exclusive: p.exclusiveData },
      metadata: {
        referencedBlocks: p.referencedMetaBlocks,
        exclusiveBlocks: p.exclusiveMetaBlocks,
        referenced: ns * BigInt(p.referencedMetaBlocks),
        exclusive: ns * BigInt(p.exclusiveMetaBlocks),
      },
      files: p.files,
      apparentBytes: p.apparentBytes,
      mappedBytes: p.mappedBytes,
      inlineBytes: p.inlineBytes,
      inlineStored: p.inlineStored,
      preallocBytes: p.preallocBytes,
      wasteBytes: p.wasteBytes,
      wasteEstimated: p.wasteEstimated,
      compressed: { disk: p.compressedDisk, ram: p.compressedRam },
      du: du.du(subvolumesBelow(r, p.id)),
    })),
    ...(matrix ? { matrix: { subvols: r.subvols.map((s) => s.id), bytes: matrix } } : {}),
    ...(freed && o.free ? { free: { subvols: o.free, ...freed } } : {}),
  };
}
