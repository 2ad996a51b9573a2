import { FindingLog, formatLocation } from '../../findings.js';
import { BlockGroupFlag } from '../../format/constants.js';
import { FsView } from '../../fs/FsView.js';
import { readBlockGroups } from '../../tree/blockGroups.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import { checkCsumCoverage, checkDataCsums, compareUnsummedMirrors, type DataJob, type DataJobResult, type DataStats, dataJobs, reportDataJob } from './data.js';
import { checkDeadRoots, checkDevExtents, checkExtentRefs, checkFreeSpaceTotals, checkFreeSpaceTree, checkRootRefs } from './extents.js';
import { attachHurt } from './hurt.js';
import { checkLogCsums } from './logTree.js';
import { type MetaFacts, walkMetadata } from './metadata.js';
import { checkQgroups } from './qgroups.js';
import { checkRaidStripes } from './raidStripes.js';
import { foldSanitizedNames } from './sanitizedNames.js';
import { checkSpaceCache } from './spaceCache.js';
import { checkSuperblocks } from './superblocks.js';
import { checkSuperTotals } from './totals.js';
import type { CheckFinding, CheckOptions, CheckReport } from './types.js';

export { type DataJob, type DataJobResult, verifyDataJob } from './data.js';
export type { CheckFinding, CheckOptions, CheckReport, CheckSummary, Hurt } from './types.js';

/** Verifies data jobs elsewhere (worker threads in the CLI): same answers as verifyDataJob. */
export interface DataVerifier {
  verify(job: DataJob): Promise<DataJobResult>;
}

interface Run {
  t0: number;
  /** What the check's own reads met on the way (tree walks, file views). */
  reads: FindingLog;
  log: FindingLog;
  add: (f: CheckFinding) => void;
  sup: { copies: number; used: number };
  facts: MetaFacts;
  view: FsView;
  /** Why data is not checked though asked; undefined when it is (or was not asked). */
  dataSkipped?: string;
  dataTotal: bigint;
}

/**
 * Checks a whole filesystem, read-only: superblocks, every copy of every
 * tree block, every item, the cross references between trees, and with
 * `data` every copy of every checksummed data sector. Damage never stops
 * it; every finding has its place and, when nothing repairs it, what it hurts.
 */
export function runCheck(viewed: Filesystem, opts: CheckOptions = {}): CheckReport {
  const reads = new FindingLog(viewed.findings.limit);
  const fs = viewed.withFindings(reads);
  const run = checkMetadata(fs, reads, opts);
  let data = emptyStats();
  if (opts.data && run.dataSkipped === undefined) {
    data = checkDataCsums(fs, run.add, opts.progress && ((n) => opts.progress!('data', Number(n), Number(run.dataTotal))));
    compareUnsummedMirrors(fs, run.facts, run.add);
  }
  return finish(fs, opts, run, data);
}

/** Checksum bytes of data jobs handed out before the metadata walk: bounds what waits in the verifiers' queues. */
const EARLY_CSUM_BYTES = 32 << 20;

/**
 * runCheck with the data sectors verified by `verifier` (several jobs in
 * flight), findings in the same order. The data jobs come from the csum
 * tree alone, so the first ones (up to EARLY_CSUM_BYTES of checksums) are
 * handed out before the metadata walk: the verifiers read and checksum data
 * while this thread walks the trees.
 */
export async function runCheckParallel(viewed: Filesystem, opts: CheckOptions, verifier: DataVerifier, inFlight = 8): Promise<CheckReport> {
  const reads = new FindingLog(viewed.findings.limit);
  const fs = viewed.withFindings(reads);
  const queue: { job: DataJob; result: Promise<DataJobResult> }[] = [];
  const jobFindings: CheckFinding[] = [];
  let jobs: Iterator<DataJob> | undefined;
  if (opts.data && dataSkipReason(fs, new FsView(fs)) === undefined) {
    jobs = dataJobs(fs, (f) => jobFindings.push(f));
    let early = 0;
    while (early < EARLY_CSUM_BYTES) {
      const n = jobs.next();
      if (n.done) {
        jobs = undefined;
        break;
      }
      queue.push({ job: n.value, result: verifier.verify(n.value) });
      early += n.value.csums.length;
    }
  }
  const run = checkMetadata(fs, reads, opts);
  const data = emptyStats();
  if (opts.data && run.dataSkipped === undefined) {
    const settle = async () => {
      const q = queue.shift()!;
      reportDataJob(fs, q.job, await q.result, run.add, data);
      opts.progress?.('data', Number(data.bytes), Number(run.dataTotal));
    };
    // What making the jobs found (checksums outside every chunk) comes where the single-thread check puts it: after the metadata.
    const flush = () => {
      for (const f of jobFindings.splice(0)) run.add(f);
    };
    flush();
    if (jobs) {
      for (let n = jobs.next(); !n.done; n = jobs.next()) {
        flush();
        queue.push({ job: n.value, result: verifier.verify(n.value) });
        while (queue.length >= inFlight) await settle();
      }
      flush();
    }
    while (queue.length) await settle();
    compareUnsummedMirrors(fs, run.facts, run.add);
  }
  return finish(fs, opts, run, data);
}

/** Block cache bound during the metadata walk. */
const CHECK_CACHE_BYTES = 8 << 20;

const emptyStats = (): DataStats => ({ bytes: 0n, sectors: 0, sectorCopies: 0, unavailable: 0 });

function checkMetadata(fs: Filesystem, reads: FindingLog, opts: CheckOptions): Run {
  const t0 = Date.now();
  const log = new FindingLog();
  const add = (f: CheckFinding) => log.add(f);
  const sup = checkSuperblocks(fs, add);
  // Metadata block groups' used bytes over nodesize: how many tree blocks there are (for the progress bar).
  let metaBytes = 0n;
  if (opts.progress) for (const bg of readBlockGroups(fs)) if (bg.flags & (BlockGroupFlag.METADATA | BlockGroupFlag.SYSTEM)) metaBytes += bg.used;
  const metaTotal = Number(metaBytes / BigInt(fs.superblock.nodesize));
  // The walk reads each block once (shared subtrees are not read again): a large cache would only hold memory.
  const cacheLimit = fs.reader.cache.setLimit(CHECK_CACHE_BYTES);
  const facts = walkMetadata(fs, add, opts.progress && ((n) => opts.progress!('metadata', n, Math.max(n, metaTotal))));
  fs.reader.cache.setLimit(cacheLimit);
  checkExtentRefs(fs, facts, add);
  checkDevExtents(fs, facts, add);
  checkSuperTotals(fs, facts, add);
  checkRootRefs(facts, add);
  checkDeadRoots(facts, add);
  checkFreeSpaceTree(fs, facts, add);
  checkFreeSpaceTotals(fs, facts, add);
  checkCsumCoverage(facts, add);
  checkRaidStripes(fs, facts, add);
  checkLogCsums(fs, add);
  checkQgroups(fs, facts, add);
  const view = new FsView(fs);
  checkSpaceCache(fs, view, facts, add);
  const dataSkipped = opts.data ? dataSkipReason(fs, view) : undefined;
  const dataTotal = facts.csumRanges.reduce((s, r) => s + (r.end - r.start), 0n);
  return { t0, reads, log, add, sup, facts, view, dataTotal, ...(dataSkipped !== undefined ? { dataSkipped } : {}) };
}

/** Why file data cannot be checked though asked (undefined when it can). */
function dataSkipReason(fs: Filesystem, view: FsView): string | undefined {
  if (view.metadumpHasData) return 'image made by btrfs-image -d: it holds the data, but its csum items are zeroed';
  if (view.isMetadump) return 'image made by btrfs-image: no file data';
  if (fs.superblock.csumSize === 0 || !fs.treeRoot(7n)) return 'the filesystem has no csum tree';
  return undefined;
}

function finish(fs: Filesystem, opts: CheckOptions, run: Run, data: DataStats): CheckReport {
  const { reads, log, facts, view, sup, dataSkipped } = run;
  // Damage met while opening is in fs.findings, what the check's reads met on the way in `reads`;
  // the same problem reported twice counts once.
  let findings: CheckFinding[] = [];
  const keys = new Set<string>();
  for (const f of [...fs.findings.items, ...reads.items, ...log.items]) {
    const k = `${f.code}|${formatLocation(f.location)}|${f.message}`;
    if (keys.has(k)) continue;
    keys.add(k);
    // A problem of one copy of a mirrored block or sector: say whether another copy is good, also when none is.
    findings.push(f.location.copy !== undefined && f.repairable === undefined && f.severity === 'error' && f.location.logical !== undefined ? { ...f, repairable: false } : f);
  }
  if (view.isMetadump) findings = foldSanitizedNames(findings);
  attachHurt(view, facts, findings, opts.hurtLimit ?? 200);
  const byCode: Record<string, number> = {};
  let errors = 0,
    warnings = 0,
    infos = 0;
  for (const f of findings) {
    byCode[f.code] = (byCode[f.code] ?? 0) + 1;
    if (f.severity === 'error') errors++;
    else if (f.severity === 'warning') warnings++;
    else infos++;
  }
  return {
    findings,
    dropped: log.dropped + reads.dropped + fs.findings.dropped,
    summary: {
      trees: facts.trees,
      treeBlocks: facts.treeBlocks,
      treeBlockCopies: facts.treeBlockCopies,
      items: facts.items,
      dataChecked: Boolean(opts.data) && dataSkipped === undefined,
      dataBytes: data.bytes,
      dataSectors: data.sectors,
      dataSectorCopies: data.sectorCopies,
      dataCopiesUnavailable: data.unavailable,
      ...(dataSkipped ? { dataSkipped } : {}),
      superblockCopies: sup.copies,
      superblockUsed: sup.used,
      byCode,
      errors,
      warnings,
      infos,
      elapsedMs: Date.now() - run.t0,
    },
  };
}
