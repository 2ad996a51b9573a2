import { ObjectId } from '../../format/constants.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import type { TreeRoot } from '../../tree/walk.js';
import { LogOverlay } from './logReplay.js';
import { rootTreeCandidates } from './roots.js';

export interface ViewpointOptions {
  generation?: string;
  root?: string;
  replayLog?: boolean;
}

/**
 * The filesystem a reading command should see: at an older root tree
 * (--generation N, --root LOGICAL), or with the log replayed in memory
 * (--replay-log). Returns an error text for a request that cannot be served.
 */
export function viewpoint(fs: Filesystem, o: ViewpointOptions): { fs: Filesystem; note?: string } | { error: string; unserved?: true } {
  if (o.generation === undefined && o.root === undefined && !o.replayLog) return { fs };
  if (o.generation !== undefined && o.root !== undefined) return { error: 'give --generation or --root, not both' };
  if (o.replayLog && (o.generation !== undefined || o.root !== undefined)) return { error: '--replay-log applies to the current generation (the log continues it); not with --generation or --root' };
  if (o.replayLog) {
    const log = LogOverlay.build(fs);
    if (!log) return { fs, note: 'note: the superblock has no log root (log_root 0): nothing to replay' };
    const inodes = log.logged.reduce((s, t) => s + t.inodes.length, 0);
    return { fs: fs.withOverlay(log), note: `note: log tree at ${fs.superblock.logRoot} replayed in memory (${log.logged.length} subvolume log tree(s), ${inodes} logged inode(s))` };
  }
  if (o.root !== undefined) {
    if (!/^(0x[0-9a-f]+|\d+)$/i.test(o.root)) return { error: `--root must be a logical address, got "${o.root}"` };
    const logical = BigInt(o.root);
    const r = fs.reader.read({ logical });
    // A well-formed address the image does not hold a root tree block at: the request is not served (not a usage error).
    if (!r.block) return { error: `--root ${logical}: not a valid tree block of this filesystem (${r.findings[0]?.message ?? 'unreadable'}); see "roots" for root tree blocks`, unserved: true };
    if (r.block.owner !== ObjectId.ROOT_TREE)
      return { error: `--root ${logical}: the block belongs to tree ${r.block.owner}, not the root tree (1); see "roots" for root tree blocks`, unserved: true };
    const root: TreeRoot = { tree: ObjectId.ROOT_TREE, bytenr: logical, level: r.block.level, generation: r.block.generation };
    return { fs: fs.atRoot(root), note: `note: reading from root tree block ${logical} (generation ${r.block.generation}); blocks reused since are reported as missing` };
  }
  if (!/^\d+$/.test(o.generation!)) return { error: `--generation must be a number, got "${o.generation}"` };
  const gen = BigInt(o.generation!);
  if (gen === fs.superblock.generation) return { fs };
  const cands = rootTreeCandidates(fs, { generation: gen });
  const best = cands[0];
  if (!best) {
    const all = rootTreeCandidates(fs, {}).map((c) => c.generation);
    const gens = [...new Set(all.map(String))].join(', ');
    return { error: `--generation ${gen}: no root tree of generation ${gen} survives (surviving root tree generations: ${gens || 'none'}; current ${fs.superblock.generation})`, unserved: true };
  }
  return {
    fs: fs.atRoot(best.root),
    note: `note: reading generation ${gen} from root tree block ${best.root.bytenr} (${best.sources.join(', ')}; ${best.intact} of ${best.intact + best.missing} blocks of the root tree intact); blocks reused since are reported as missing`,
  };
}
