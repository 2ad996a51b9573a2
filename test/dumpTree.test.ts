import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dumpAllText } from '../src/report/dumpTree.js';
import { SAMPLES, openSample, sampleNames } from './helpers/samples.js';

/**
 * The whole `tree` text output against `btrfs inspect-internal dump-tree`
 * of the same image, line for line. The one normalisation: dump-tree writes
 * names as raw bytes, we write text, so the truth is read as UTF-8 (invalid
 * bytes become U+FFFD on both sides).
 */
describe.each(sampleNames())('tree dump of sample %s', (name) => {
  it('equals btrfs-progs dump-tree', () => {
    const truthBytes = gunzipSync(readFileSync(join(SAMPLES, name, 'truth', 'dump-tree.txt.gz')));
    const truth = new TextDecoder().decode(truthBytes).split('\n');
    expect(truth[0]).toMatch(/^btrfs-progs v/);
    const fs = openSample(name);
    const out: string[] = [];
    dumpAllText(fs, (t) => out.push(t));
    const ours = out.join('\n').split('\n');
    const want = truth.slice(1, truth[truth.length - 1] === '' ? -1 : undefined);
    // Compare in slices so a failure shows where, not a 20,000-line diff.
    for (let i = 0; i < Math.max(ours.length, want.length); i += 200) {
      expect(ours.slice(i, i + 200), `lines ${i + 2}..${i + 201} of dump-tree`).toEqual(want.slice(i, i + 200));
    }
  });
});
