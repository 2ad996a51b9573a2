// The forensics view's reads without the browser: the core as the web worker runs it (its portable
// crc32c, no native one), over the app's chunk cache (web/src/chunked.ts), each range and /ranges
// batch answered in-process and counted as one request. CPU seconds of the metadata scan and of the
// old roots' survey, and how many round trips each would cost through `serve`.
//
//   node --import tsx bench/web-scan.ts [IMAGE]   (default: bench/.cache/large-300000-12.img)
import { join } from 'node:path';
import { scanOf, surveyRoots } from '../src/analysis/forensics/roots.js';
import { FileSource } from '../src/io/node/FileSource.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { ChunkedSource } from '../web/src/chunked.js';

const image = process.argv[2] ?? join(import.meta.dirname, '.cache', 'large-300000-12.img');
const inner = FileSource.open(image);
let requests = 0;
const src = new ChunkedSource(
  inner.name,
  inner.size,
  (o, l) => {
    requests++;
    return inner.read(BigInt(o), l);
  },
  (ranges) => {
    requests++;
    return ranges.map((x) => inner.read(BigInt(x.offset), x.length));
  },
);
const fs = Filesystem.open([src]);
const step = <T>(what: string, run: () => T): T => {
  const r0 = requests;
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  const out = run();
  const u = process.cpuUsage(u0);
  console.log(`${what}: ${((u.user + u.system) / 1e6).toFixed(1)} s CPU, ${((performance.now() - t0) / 1000).toFixed(1)} s wall, ${requests - r0} requests`);
  return out;
};
const scan = step('metadata scan', () => scanOf(fs));
const roots = step('roots survey', () => surveyRoots(fs, scan));
console.log(JSON.stringify({ image, scan: { chunks: scan.chunks, copiesRead: scan.copiesRead, validBlocks: scan.validBlocks }, roots: roots.length }));
