/**
 * Writes the raid-stripe-tree images the tests build in memory (test/helpers/rstImage.ts: a
 * kernel-made sample with every data extent's copies moved and RAID_STRIPE items placing them)
 * as sparse device files, to try the commands on:
 *
 *   node --import tsx scripts/make-rst-image.ts raid1|dup-data OUTDIR
 *
 * Writes OUTDIR/devN.img, one per device.
 */
import { closeSync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { buildRstImage } from '../test/helpers/rstImage.js';

const [sample, out] = process.argv.slice(2);
if ((sample !== 'raid1' && sample !== 'dup-data') || !out) {
  process.stderr.write('usage: make-rst-image.ts raid1|dup-data OUTDIR\n');
  process.exit(2);
}
mkdirSync(out, { recursive: true });
const STEP = 1 << 20;
buildRstImage(sample).sources.forEach((src, i) => {
  const path = join(out, `dev${i + 1}.img`);
  const fd = openSync(path, 'w');
  ftruncateSync(fd, Number(src.size));
  for (let at = 0n; at < src.size; at += BigInt(STEP)) {
    const n = src.size - at < BigInt(STEP) ? Number(src.size - at) : STEP;
    const b = src.read(at, n);
    // Sparse: runs of zeros stay holes.
    if (b.some((x) => x !== 0)) writeSync(fd, b, 0, b.length, Number(at));
  }
  closeSync(fd);
  process.stdout.write(`${path}\n`);
});
