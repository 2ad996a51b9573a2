import { FindingLog, formatLocation } from '../../findings.js';
import { FsView } from '../../fs/FsView.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import { checkCsumCoverage, checkDataCsums, type DataStats } from './data.js';
import { checkDeadRoots, checkDevExtents, checkExtentRefs, checkFreeSpaceTree, checkRootRefs } from './extents.js';
import { attachHurt } from './hurt.js';
import { walkMetadata } from './metadata.js';
import { checkSuperblocks } from './superblocks.js';
import type { CheckFinding, CheckOptions, CheckReport } from './types.js';

export type { CheckFinding, CheckOptions, CheckReport, CheckSummary, Hurt } from './types.js';

/**
 * Checks a whole filesystem, read-only: superblocks, every copy of every
 * tree block, every item, the cross references between trees, and with
 * `data` every copy of every checksummed data sector. Damage never stops
 * it; every finding has its place and, when nothing repairs it, what it hurts.
 */
export function runCheck(fs: Filesystem, opts: CheckOptions = {}): CheckReport {
  const t0 = Date.now();
  const log = new FindingLog();
  const add = (f: CheckFinding) => log.add(f);
  const sup = checkSuperblocks(fs, add);
  const facts = walkMetadata(fs, add, opts.progress && ((n) => opts.progress!('metadata', n, 0)));
  checkExtentRefs(fs, facts, add);
  checkDevExtents(fs, facts, add);
  checkRootRefs(facts, add);
  checkDeadRoots(facts, add);
  checkFreeSpaceTree(fs, facts, add);
  checkCsumCoverage(fs, facts, add);
  const view = new FsView(fs);
  let data: DataStats = { bytes: 0n, sectors: 0, sectorCopies: 0, unavailable: 0 };
  let dataSkipped: string | undefined;
  if (opts.data) {
    if (view.isMetadump) dataSkipped = 'image made by btrfs-image: no file data';
    else if (fs.superblock.csumSize === 0 || !fs.treeRoot(7n)) dataSkipped = 'the filesystem has no csum tree';
    else {
      const total = facts.csumRanges.reduce((s, r) => s + (r.end - r.start), 0n);
      data = checkDataCsums(fs, add, opts.progress && ((n) => opts.progress!('data', Number(n), Number(total))));
    }
  }
  // Damage met while opening (and any read on the way) is in fs.findings; the same problem reported twice counts once.
  const findings: CheckFinding[] = [];
  const keys = new Set<string>();
  for (const f of [...fs.findings.items, ...log.items]) {
    const k = `${f.code}|${formatLocation(f.location)}|${f.message}`;
    if (keys.has(k)) continue;
    keys.add(k);
    // A problem of one copy of a mirrored block or sector: say whether another copy is good, also when none is.
    findings.push(f.location.copy !== undefined && f.repairable === undefined && f.severity === 'error' && f.location.logical !== undefined ? { ...f, repairable: false } : f);
  }
  attachHurt(view, facts, findings, opts.hurtLimit ?? 200);
  const byCode: Record<string, number> = {};
  let errors = 0, warnings = 0, infos = 0;
  for (const f of findings) {
    byCode[f.code] = (byCode[f.code] ?? 0) + 1;
    if (f.severity === 'error') errors++; else if (f.severity === 'warning') warnings++; else infos++;
  }
  return {
    findings, dropped: log.dropped + fs.findings.dropped,
    summary: {
      trees: facts.trees, treeBlocks: facts.treeBlocks, treeBlockCopies: facts.treeBlockCopies, items: facts.items,
      dataChecked: Boolean(opts.data) && dataSkipped === undefined, dataBytes: data.bytes, dataSectors: data.sectors,
      dataSectorCopies: data.sectorCopies, dataCopiesUnavailable: data.unavailable, ...(dataSkipped ? { dataSkipped } : {}),
      superblockCopies: sup.copies, superblockUsed: sup.used, byCode, errors, warnings, infos, elapsedMs: Date.now() - t0,
    },
  };
}
